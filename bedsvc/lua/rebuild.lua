-- Replaces the cache with a snapshot of PostgreSQL taken at one version, keeping any
-- hospital the cache already holds at a newer version (a write that raced the snapshot).
-- KEYS: docs hash, per-hospital versions hash, global version key, versions-seen sorted set
-- ARGV: snapshot version, channel, message, then code/state pairs
local version = tonumber(ARGV[1])
local in_snapshot = {}
for i = 4, #ARGV, 2 do
  local code = ARGV[i]
  in_snapshot[code] = true
  local current = tonumber(redis.call('HGET', KEYS[2], code) or '0')
  if version >= current then
    redis.call('HSET', KEYS[1], code, ARGV[i + 1])
    redis.call('HSET', KEYS[2], code, ARGV[1])
  end
end
for _, code in ipairs(redis.call('HKEYS', KEYS[1])) do
  if not in_snapshot[code] and tonumber(redis.call('HGET', KEYS[2], code) or '0') <= version then
    redis.call('HDEL', KEYS[1], code)
    redis.call('HDEL', KEYS[2], code)
  end
end
local global = math.max(version, tonumber(redis.call('GET', KEYS[3]) or '-1'))
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', global)
while redis.call('ZSCORE', KEYS[4], tostring(global + 1)) do
  global = global + 1
  redis.call('ZREM', KEYS[4], tostring(global))
end
redis.call('SET', KEYS[3], global)
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
