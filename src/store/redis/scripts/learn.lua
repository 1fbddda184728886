-- Learns one message atomically.
-- KEYS[1]: hash of learned digests; KEYS[2], KEYS[3]: messages learned as spam, as ham (integers);
-- KEYS[4..n]: one integer per token, spam * 2^26 + ham (one MGET reads a message's counts).
-- ARGV[1]: message digest; ARGV[2]: 'spam' or 'ham'; ARGV[3]: seconds a token seen once is kept.
-- A message already learned as this class changes nothing; learned as the other class, its counts move.
-- Tokens seen once expire unless learned again; from their second sighting they are kept.
local SPLIT = 67108864
local digest, class, ttl = ARGV[1], ARGV[2], ARGV[3]
local previous = redis.call('HGET', KEYS[1], digest)
if previous == class then
  return 'unchanged'
end
local addSpam = (class == 'spam') and 1 or 0
local addHam = 1 - addSpam
for i = 4, #KEYS do
  local key = KEYS[i]
  if previous then
    -- Moving from the other class: never below zero, even if the tokens changed since.
    local packed = tonumber(redis.call('GET', key)) or 0
    local spam = math.floor(packed / SPLIT) + addSpam
    local ham = packed % SPLIT + addHam
    if class == 'spam' then ham = math.max(0, ham - 1) else spam = math.max(0, spam - 1) end
    -- A plain SET drops any expiry: tokens seen more than once are kept.
    if spam + ham <= 1 then
      redis.call('SET', key, spam * SPLIT + ham, 'EX', ttl)
    else
      redis.call('SET', key, spam * SPLIT + ham)
    end
  else
    local packed = redis.call('INCRBY', key, addSpam * SPLIT + addHam)
    local seen = math.floor(packed / SPLIT) + packed % SPLIT
    if seen == 1 then
      redis.call('EXPIRE', key, ttl)
    elseif seen == 2 then
      redis.call('PERSIST', key)
    end
  end
end
if previous then
  redis.call('DECR', (previous == 'spam') and KEYS[2] or KEYS[3])
end
redis.call('INCR', (class == 'spam') and KEYS[2] or KEYS[3])
redis.call('HSET', KEYS[1], digest, class)
if previous then
  return 'relearned'
end
return 'learned'
