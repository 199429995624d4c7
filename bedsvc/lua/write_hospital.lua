-- Write-through of one hospital's state, applied only if newer than what the cache holds,
-- then announced on the change channel. Atomic, so readers never see a half-applied write.
-- KEYS: docs hash, per-hospital versions hash, global version key
-- ARGV: hospital code, version, encoded state ('' removes the hospital), channel, message
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
-- The global version only advances without gaps: a write that arrives after a lost one
-- leaves it behind PostgreSQL's, which is how the reconciler notices and rebuilds.
local global = tonumber(redis.call('GET', KEYS[3]) or '-1')
if version == global + 1 then
  redis.call('SET', KEYS[3], ARGV[2])
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
