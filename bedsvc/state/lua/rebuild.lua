-- Fills the cache from a snapshot of PostgreSQL and announces it on the change stream.
-- A hospital the cache holds at a newer version than the snapshot keeps it (a write-through
-- that raced the snapshot); one the snapshot lacks is dropped.
-- KEYS: docs hash, per-hospital versions hash, global version, change stream
-- ARGV: stream length, then (code, version, encoded state or '') per hospital
-- Returns the global version: the sum of the cached versions.
local in_snapshot = {}
for i = 2, #ARGV, 3 do
  local code = ARGV[i]
  in_snapshot[code] = true
  local current = tonumber(redis.call('HGET', KEYS[2], code) or '-1')
  if tonumber(ARGV[i + 1]) >= current then
    if ARGV[i + 2] == '' then
      redis.call('HDEL', KEYS[1], code)
    else
      redis.call('HSET', KEYS[1], code, ARGV[i + 2])
    end
    redis.call('HSET', KEYS[2], code, ARGV[i + 1])
  end
end
local total = 0
local versions = redis.call('HGETALL', KEYS[2])
for i = 1, #versions, 2 do
  if in_snapshot[versions[i]] then
    total = total + tonumber(versions[i + 1])
  else
    redis.call('HDEL', KEYS[1], versions[i])
    redis.call('HDEL', KEYS[2], versions[i])
  end
end
redis.call('SET', KEYS[3], string.format('%d', total))
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[1], '*', 'p', string.format('%d', total), 'r', '1')
return total
