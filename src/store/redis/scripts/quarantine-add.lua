-- Adds (or replaces) one quarantine entry and its place in every index, atomically.
-- KEYS[1]: entry key; KEYS[2]: time index; KEYS[3]: score index;
-- KEYS[4 .. 3+ARGV[6]]: the sender/recipient/symbol indexes of the entry being replaced;
-- the remaining KEYS: those of the new entry.
-- ARGV[1]: id; ARGV[2]: time (ms); ARGV[3]: score; ARGV[4]: entry JSON;
-- ARGV[5]: the JSON the caller read for this id ('' for none); ARGV[6]: how many old index keys.
-- Returns 1, or -1 when the stored entry is not the one the caller read (it must read again and
-- retry), so an index entry of a replaced version is never left behind.
local current = redis.call('GET', KEYS[1])
if (current or '') ~= ARGV[5] then return -1 end
local old = tonumber(ARGV[6])
for i = 4, 3 + old do redis.call('ZREM', KEYS[i], ARGV[1]) end
redis.call('SET', KEYS[1], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
for i = 4 + old, #KEYS do redis.call('ZADD', KEYS[i], ARGV[2], ARGV[1]) end
return 1
