-- One greylisting sighting, atomically (the same steps as the embedded store's).
-- KEYS[1]: the triplet's hash (first, passed, expires, client, sender, recipient); KEYS[2]: the client's
-- hash (passes, whitelisted, expires). ARGV: now, delay, window, expiry (ms), passes to whitelist a client
-- (0: never), then the triplet's client, sender and recipient (kept in the hash for listing).
-- A record past its `expires` counts as absent; its TTL removes it. Returns {state, firstSeen, autoWhitelisted}.
local now = tonumber(ARGV[1])
local delay, window, expiry = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local after = tonumber(ARGV[5])
local client = redis.call('HMGET', KEYS[2], 'passes', 'whitelisted', 'expires')
local passes = 0
if tonumber(client[3] or 0) > now then passes = tonumber(client[1] or 0) else client[2] = '0' end
if client[2] == '1' then
  redis.call('HSET', KEYS[2], 'expires', now + expiry)
  redis.call('PEXPIRE', KEYS[2], expiry)
  return {'whitelisted', 0, 0}
end
local triplet = redis.call('HMGET', KEYS[1], 'first', 'passed', 'expires')
local first = tonumber(triplet[1])
if first and tonumber(triplet[3] or 0) <= now then first = nil end
if first and triplet[2] then
  redis.call('HSET', KEYS[1], 'expires', now + expiry)
  redis.call('PEXPIRE', KEYS[1], expiry)
  return {'known', first, 0}
end
if not first or now - first > window then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'first', now, 'expires', now + window, 'client', ARGV[6], 'sender', ARGV[7], 'recipient', ARGV[8])
  redis.call('PEXPIRE', KEYS[1], window)
  return {'new', now, 0}
end
if now - first < delay then return {'early', first, 0} end
redis.call('HSET', KEYS[1], 'passed', now, 'expires', now + expiry)
redis.call('PEXPIRE', KEYS[1], expiry)
passes = passes + 1
local whitelisted = (after > 0 and passes >= after) and 1 or 0
redis.call('HSET', KEYS[2], 'passes', passes, 'whitelisted', whitelisted, 'expires', now + expiry)
redis.call('PEXPIRE', KEYS[2], expiry)
return {'passed', first, whitelisted}
