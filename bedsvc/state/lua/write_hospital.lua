-- Write-through of one hospital's state after its commit, and its entry in the change stream.
-- Atomic, so a reader never sees the cache and the stream disagree.
-- KEYS: docs hash, per-hospital versions hash, global version, change stream
-- ARGV: hospital code, its version, encoded state ('' = no longer listed), stream length
-- Returns the global version after the write, 0 when the cache holds this version or a newer
-- one already (two commits of a hospital may arrive in either order), -1 when the cache is
-- empty (only a rebuild from PostgreSQL may fill it: one hospital alone would pass for all).
local total = redis.call('GET', KEYS[3])
if not total then
  return -1
end
local current = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local version = tonumber(ARGV[2])
if version <= current then
  return 0
end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local position = redis.call('INCRBY', KEYS[3], version - current)
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*',
  'p', position, 'c', ARGV[1], 'v', ARGV[2], 's', ARGV[3])
return position
