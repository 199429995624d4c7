-- Takes back the failure an attempt counted in advance: its password was right, or it was
-- never checked (the database was down, for one). A right password also forgives the pair's
-- earlier failures; the address's and the login's stay counted.
-- KEYS: (login, address) failures, address failures, login failures
-- ARGV: '1' to forgive the pair
if ARGV[1] == '1' then
  redis.call('DEL', KEYS[1])
end
for i = 1, 3 do
  -- a count whose window ended meanwhile is gone; DECR would start one without an expiry
  if redis.call('EXISTS', KEYS[i]) == 1 and tonumber(redis.call('GET', KEYS[i])) > 0 then
    redis.call('DECR', KEYS[i])
  end
end
return 0
