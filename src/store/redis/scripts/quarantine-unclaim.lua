-- Gives back a release claim, only if it is still the caller's (it may have expired and been taken by another).
-- KEYS[1]: claim key; ARGV[1]: the holder. Returns 1 if deleted, else 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
