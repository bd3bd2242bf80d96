-- roomkey's shared rate limits: GCRA, the arithmetic of the governor crate that counts them in
-- memory, run by Redis as one atomic step for all the keys of a request.
--
-- Each key holds its theoretical arrival time (TAT), in microseconds. A request conforms to a
-- key's limit when now >= TAT - tau; it then moves the TAT to max(TAT, now) + T. T is the
-- emission interval (one minute / the limit) and tau = T * (burst - 1) the tolerance, so that
-- `burst` requests pass at once and one more every T after. A missing key is a TAT of now.
-- The key expires at its TAT, when it would mean the same as a missing one.
--
-- KEYS:     the keys, in the order they are checked (the client address's, then the caller's).
-- ARGV[1]:  the time in microseconds, or "" for this server's clock (TIME), which every replica
--           then shares.
-- ARGV[2i], ARGV[2i+1]: T and tau of KEYS[i], in microseconds.
--
-- Returns {0, 0} when the request conforms to every key (each key counts it), or {i, wait}
-- for the first key it does not conform to: the keys before i count it, key i and those after
-- do not, and `wait` is the microseconds until it would conform to key i.
local now
if ARGV[1] == '' then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000000 + tonumber(time[2])
else
  now = tonumber(ARGV[1])
end
for i, key in ipairs(KEYS) do
  local t = tonumber(ARGV[2 * i])
  local tau = tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', key)) or now
  local earliest = tat - tau
  if now < earliest then
    return {i, earliest - now}
  end
  local next = math.max(tat, now) + t
  -- '%.0f': the microseconds in full (tostring would round them to 14 digits).
  redis.call('SET', key, string.format('%.0f', next), 'PX', math.ceil((next - now) / 1000))
end
return {0, 0}
