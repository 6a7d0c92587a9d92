-- Sliding-log rate limiter over one or more windows: one atomic call decides, records and reports.
--
-- KEYS[1]  the log: a sorted set whose members are one token per admitted call, scored by
--          the call's time in milliseconds. One log serves every window of the bucket: a
--          window of w ms counts the entries newer than now - w.
-- ARGV[1]  member     a token unique to this call (two calls in the same millisecond must not
--                     collapse into one sorted-set member); '' to only look (a peek)
-- ARGV[2]  now_ms     '' to use the Redis server's clock (production: one clock for every
--                     replica of the server); tests pass a time so nothing has to sleep
-- ARGV[3], ARGV[4], ...  pairs of (limit, window_ms), shortest window first, longest last;
--                     1 <= limit <= 1e6 and 1 s <= window <= 1 day (checked by the caller), so
--                     every figure below is an exact integer in a double.
--
-- Returns, for a call admitted and recorded (the common case), {remaining, tightest}:
--   remaining  the fewest calls still admissible in any window after this one
--   tightest   the 1-based index of that window
-- Otherwise {allowed (0/1), remaining, retry_after_ms, reset_ms, tightest, left_1, ..., left_n}:
--   retry_after_ms  when refused, the exact wait until every window admits a call (the
--                   longest wait any full window needs); else 0
--   tightest        when refused, the window that needs that wait (the one to name)
--   reset_ms        the wait until the log is empty (every budget is back)
--   left_i          calls still admissible in window i
--
-- Why this is exact: the whole read-decide-write runs inside Redis, so concurrent callers
-- cannot all read "below the limit" and all write (the seed's GET/INCR/EXPIRE admitted 1,000
-- of 1,000), and a call is counted in every window at once or in none. Every entry carries its
-- own time, so the key's expiry (= the longest window, renewed on each admitted write) only
-- garbage-collects: it can never lock anyone out or slide a window.
--
-- Replication: TIME is non-deterministic. Since Redis 5 scripts replicate by their effects
-- (the ZADD with a concrete score) by default, which makes TIME before a write legal; Redis 7
-- always does so. So this needs Redis 5 or newer (on an older one every call fails loudly
-- with LimiterUnavailable; it never admits silently).

local key = KEYS[1]
local windows = (#ARGV - 2) / 2

local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = t[1] * 1000 + math.floor(t[2] / 1000)
else
  now = tonumber(ARGV[2])
end

-- An entry made at t counts in a window w while now < t + w. Nothing older than the longest
-- window counts anywhere: drop it.
local longest = tonumber(ARGV[2 + 2 * windows])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - longest)
local total = redis.call('ZCARD', key)

local left = {}
local remaining, tightest = nil, 1
local room = true
for i = 1, windows do
  local limit = tonumber(ARGV[1 + 2 * i])
  local count = total
  if i < windows then
    count = redis.call('ZCOUNT', key, '(' .. (now - tonumber(ARGV[2 + 2 * i])), '+inf')
  end
  left[i] = limit - count
  if left[i] <= 0 then
    room = false
  end
  if remaining == nil or left[i] < remaining then
    remaining, tightest = left[i], i
  end
end

-- The common case first: admitted, counted in every window by one entry, and the key lives
-- one more longest window (so an idle log disappears on its own).
if room and ARGV[1] ~= '' then
  redis.call('ZADD', key, now, ARGV[1])
  redis.call('PEXPIRE', key, longest)
  return {remaining - 1, tightest}
end

-- The log is empty again once its newest entry ages out of the longest window.
local reset_after = 0
if total > 0 then
  reset_after = tonumber(redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2]) + longest - now
end

-- Refused (or, for a peek, would be). A full window of `limit` admits one more call once its
-- limit-th newest entry ages out of it; the call waits for the slowest such window.
local retry_after = 0
if not room then
  for i = 1, windows do
    if left[i] <= 0 then
      local limit = tonumber(ARGV[1 + 2 * i])
      local blocker = redis.call('ZRANGE', key, -limit, -limit, 'WITHSCORES')
      local wait = tonumber(blocker[2]) + tonumber(ARGV[2 + 2 * i]) - now
      if wait > retry_after then
        retry_after, tightest = wait, i
      end
    end
  end
end

local reply = {room and 1 or 0, math.max(remaining, 0), retry_after, reset_after, tightest}
for i = 1, windows do
  reply[5 + i] = math.max(left[i], 0)
end
return reply
