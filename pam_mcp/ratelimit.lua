-- Sliding-log rate limiter: one atomic call decides, records and reports.
--
-- KEYS[1]  the log: a sorted set whose members are one token per admitted call, scored by
--          the call's time in milliseconds.
-- ARGV[1]  limit      calls admitted per window (>= 1)
-- ARGV[2]  window_ms  window length in milliseconds (>= 1)
-- ARGV[3]  member     a token unique to this call (two calls in the same millisecond must not
--                     collapse into one sorted-set member); '' to only look (a peek)
-- ARGV[4]  now_ms     absent to use the Redis server's clock (production: one clock for every
--                     replica of the server); tests pass a time so nothing has to sleep
--
-- Returns, for a call admitted and recorded (the common case), just `remaining` as an integer:
-- one short reply to read. Otherwise {allowed (0/1), remaining, retry_after_ms, reset_ms}:
--   remaining       calls still admissible in the window after this one
--   retry_after_ms  when refused, the exact wait until a call would be admitted; else 0
--   reset_ms        the wait until the window holds no calls (the whole budget is back); for
--                   an admitted call it is always the window
--
-- Why this is exact: the whole read-decide-write runs inside Redis, so concurrent callers
-- cannot all read "below the limit" and all write (the seed's GET/INCR/EXPIRE admitted 1,000
-- of 1,000). Every entry carries its own time, so the key's expiry (= window, renewed on each
-- admitted write) only garbage-collects: it can never lock anyone out or slide the window.
--
-- Replication: TIME is non-deterministic. Since Redis 5 scripts replicate by their effects
-- (the ZADD with a concrete score) by default, which makes TIME before a write legal; Redis 7
-- always does so. So this needs Redis 5 or newer (on an older one every call fails loudly
-- with LimiterUnavailable; it never admits silently).

local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])

local now
if ARGV[4] == nil then
  local t = redis.call('TIME')
  now = t[1] * 1000 + math.floor(t[2] / 1000)
else
  now = tonumber(ARGV[4])
end

-- An entry made at t counts while now < t + window: drop everything at or before now - window.
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)

-- The common case first, with nothing more to read: admitted, and the key lives one more
-- window (so an idle log disappears on its own).
if count < limit and ARGV[3] ~= '' then
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, window)
  return limit - count - 1
end

-- The window is empty again once its newest entry ages out.
local reset_after = 0
if count > 0 then
  reset_after = tonumber(redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2]) + window - now
end

if count < limit then
  return {1, limit - count, 0, reset_after}
end

-- Refused (or, for a peek, would be). To admit one more call, count - limit + 1 entries must
-- age out: the last of them is the one at index count - limit, oldest first.
local blocker = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
return {0, 0, tonumber(blocker[2]) + window - now, reset_after}
