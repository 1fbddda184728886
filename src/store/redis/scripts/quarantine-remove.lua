-- Removes one quarantine entry and its place in every index, atomically.
-- KEYS[1]: entry key; KEYS[2]: time index; KEYS[3]: score index; the remaining KEYS: the
-- sender/recipient/symbol indexes of the entry as the caller read it.
-- ARGV[1]: id; ARGV[2]: the JSON the caller read ('' for none).
-- Returns 1 if it existed, 0 if not, -1 when the stored entry is not the one the caller read
-- (it must read again and retry).
local current = redis.call('GET', KEYS[1])
if (current or '') ~= ARGV[2] then return -1 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if not current then return 0 end
for i = 4, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
redis.call('DEL', KEYS[1])
return 1
