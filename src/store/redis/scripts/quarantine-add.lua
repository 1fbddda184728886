-- Adds (or replaces) one quarantine entry and its place in the time index.
-- KEYS[1]: time index (sorted set); KEYS[2]: entry key. ARGV[1]: id; ARGV[2]: time (ms); ARGV[3]: entry JSON.
redis.call('SET', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
