-- Removes one quarantine entry and its place in the time index; returns 1 if it existed.
-- KEYS[1]: time index (sorted set); KEYS[2]: entry key. ARGV[1]: id.
local removed = redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], ARGV[1])
return removed
