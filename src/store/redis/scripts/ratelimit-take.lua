-- One message against a rate-limit bucket, atomically: GCRA as in src/store/ratelimit.ts.
-- KEYS[1]: the bucket (the time its allowance is used up to, ms). ARGV: now, interval (ms), burst.
-- Returns {allowed (0/1), remaining, retryAfterMs}. The key expires when the bucket is full again.
local now, interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local used = tonumber(redis.call('GET', KEYS[1]) or now)
local nextUsed = math.max(used, now) + interval
local allowedFrom = nextUsed - burst * interval
if now < allowedFrom then return {0, 0, allowedFrom - now} end
redis.call('SET', KEYS[1], nextUsed, 'PX', math.ceil(nextUsed - now))
return {1, math.floor((now - allowedFrom) / interval), 0}
