-- Write-through of one hospital's state after its commit, then its announcement on the
-- change channel. Atomic, so readers never see a half-applied write.
-- KEYS: docs hash, per-hospital versions hash, global version key, versions-seen sorted set
-- ARGV: hospital code, version, encoded state ('' removes the hospital), channel, message
local version = tonumber(ARGV[2])
local current = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
-- Two commits may arrive in either order; only the newer state of a hospital is kept.
if version > current then
  if ARGV[3] == '' then
    redis.call('HDEL', KEYS[1], ARGV[1])
  else
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  end
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
end
-- The global version advances only over versions seen without a gap, so a lost write leaves
-- it behind PostgreSQL's: the reconciler notices that and rebuilds. Versions that arrived
-- early wait in the sorted set. With no global version (an emptied Redis) nothing advances
-- until the rebuild sets one.
local global = tonumber(redis.call('GET', KEYS[3]) or '-1')
if global >= 0 and version > global then
  redis.call('ZADD', KEYS[4], version, ARGV[2])
  while redis.call('ZSCORE', KEYS[4], tostring(global + 1)) do
    global = global + 1
    redis.call('ZREM', KEYS[4], tostring(global))
  end
  redis.call('SET', KEYS[3], global)
end
-- Announced even when not newer: subscribers count on every version to see there is no gap.
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
