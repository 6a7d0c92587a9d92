-- Sliding-log rate limiter: one atomic call decides, records and reports.
--
-- KEYS[1]  the log: a sorted set whose members are one token per admitted call, scored by
--          the call's time in milliseconds.
-- ARGV[1]  limit      calls admitted per window (>= 1)
-- ARGV[2]  window_ms  window length in milliseconds (>= 1)
-- ARGV[3]  member     a token unique to this call (two calls in the same millisecond must not
--                     collapse into one sorted-set member)
-- ARGV[4]  cost       1 to spend one call, 0 to only look
-- ARGV[5]  now_ms     '' to use the Redis server's clock (production: one clock for every
--                     replica of the server); tests pass a time so nothing has to sleep
--
-- Returns {allowed (0/1), remaining, retry_after_ms, reset_ms}:
--   remaining       calls still admissible in the window after this one
--   retry_after_ms  when refused, the exact wait until a call would be admitted; else 0
--   reset_ms        the wait until the window holds no calls (the whole budget is back)
--
-- Why this is exact: the whole read-decide-write runs inside Redis, so concurrent callers
-- cannot all read "below the limit" and all write (the seed's GET/INCR/EXPIRE admitted 1,000
-- of 1,000). Every entry carries its own time, so the key's expiry (= window, renewed on each
-- admitted write) only garbage-collects: it can never lock anyone out or slide the window.
--
-- Replication: TIME is non-deterministic. Since Redis 5 scripts replicate by their effects
-- (the ZADD with a concrete score), which makes TIME before a write legal; Redis 7 always
-- does so. The guarded call below opts in on older servers and is a no-op on newer ones.
if redis.replicate_commands then
  redis.replicate_commands()
end

local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local member = ARGV[3]
local cost = tonumber(ARGV[4])

local now
if ARGV[5] == nil or ARGV[5] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[5])
end

-- An entry made at t counts while now < t + window: drop everything at or before now - window.
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)

-- The window is empty again once its newest entry ages out.
local function reset_after(newest_score)
  if newest_score == nil then
    return 0
  end
  return newest_score + window - now
end

local function newest()
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if #last == 0 then
    return nil
  end
  return tonumber(last[2])
end

if count < limit then
  if cost > 0 then
    redis.call('ZADD', key, now, member)
    redis.call('PEXPIRE', key, window)
    return {1, limit - count - 1, 0, window}
  end
  return {1, limit - count, 0, reset_after(newest())}
end

-- Refused (or, for a peek, would be). To admit one more call, count - limit + 1 entries must
-- age out: the last of them is the one at index count - limit, oldest first.
local blocker = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
local retry_after = tonumber(blocker[2]) + window - now
return {0, 0, retry_after, reset_after(newest())}
