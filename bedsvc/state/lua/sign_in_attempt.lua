-- One sign-in attempt, counted as a failure before its password is checked, so that parallel
-- guesses cannot all pass a limit that was read before any of them was written.
-- KEYS: (login, address) failures, address failures, login failures
-- ARGV: limit of the pair, limit of the address, window in milliseconds
-- Returns {1, failures of the login before this attempt} when the attempt may go on, or
-- {0, milliseconds until the refusing count expires} when it is refused (nothing counted).
local limits = {tonumber(ARGV[1]), tonumber(ARGV[2])}
for i = 1, 2 do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  if count >= limits[i] then
    local left = redis.call('PTTL', KEYS[i])
    if left < 0 then
      left = tonumber(ARGV[3])
    end
    return {0, left}
  end
end
local before = 0
for i = 1, 3 do
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then
    redis.call('PEXPIRE', KEYS[i], ARGV[3])
  end
  before = count - 1
end
return {1, before}
