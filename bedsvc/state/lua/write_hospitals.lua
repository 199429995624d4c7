-- Write-through of hospitals' states after their commit, each with its entry in the change
-- stream, in the order given. Atomic, so a reader never sees the cache and the stream disagree.
-- KEYS: docs hash, per-hospital versions hash, global version, change stream
-- ARGV: stream length, then per hospital: code, its version, encoded state ('' = no longer
-- listed)
-- Returns per hospital the global version after its write, 0 when the cache held this version
-- or a newer one already (two commits of a hospital may arrive in either order); -1 for every
-- hospital when the cache is empty (only a rebuild from PostgreSQL may fill it: a few
-- hospitals alone would pass for all).
local written = {}
if not redis.call('GET', KEYS[3]) then
  for i = 2, #ARGV, 3 do
    written[#written + 1] = -1
  end
  return written
end
for i = 2, #ARGV, 3 do
  local code, state = ARGV[i], ARGV[i + 2]
  local current = tonumber(redis.call('HGET', KEYS[2], code) or '0')
  local version = tonumber(ARGV[i + 1])
  if version <= current then
    written[#written + 1] = 0
  else
    if state == '' then
      redis.call('HDEL', KEYS[1], code)
    else
      redis.call('HSET', KEYS[1], code, state)
    end
    redis.call('HSET', KEYS[2], code, ARGV[i + 1])
    local position = redis.call('INCRBY', KEYS[3], version - current)
    redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[1], '*',
      'p', position, 'c', code, 'v', ARGV[i + 1], 's', state)
    written[#written + 1] = position
  end
end
return written
