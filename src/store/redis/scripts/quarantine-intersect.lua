-- Counts and pages the entries in every given time index (and scoring at least a minimum), newest
-- first, by intersecting the sorted sets in Redis instead of checking ids one by one in the client.
-- The result goes to a scratch key that is deleted before the script returns.
-- KEYS[1]: scratch key; KEYS[2]: score index; KEYS[3..]: sorted sets of ids by time (at least one).
-- ARGV[1]: minimum score ('' for none); ARGV[2], ARGV[3]: time bounds as ZRANGE BYSCORE takes them
-- (min, max); ARGV[4]: offset; ARGV[5]: limit. Returns {total, ids}.
local function fail_if(reply)
  if type(reply) == 'table' and reply.err then
    -- Never leave the scratch key behind, even on an error.
    redis.call('DEL', KEYS[1])
    error(reply.err)
  end
  return reply
end

local sources, weights = {}, {}
if ARGV[1] ~= '' then
  fail_if(redis.pcall('ZRANGESTORE', KEYS[1], KEYS[2], ARGV[1], '+inf', 'BYSCORE'))
  sources[1], weights[1] = KEYS[1], 0
end
for i = 3, #KEYS do
  sources[#sources + 1] = KEYS[i]
  -- Only the first time index counts, so each member's score in the result is its time.
  weights[#weights + 1] = (i == 3) and 1 or 0
end
local args = { 'ZINTERSTORE', KEYS[1], #sources }
for _, key in ipairs(sources) do args[#args + 1] = key end
args[#args + 1] = 'WEIGHTS'
for _, w in ipairs(weights) do args[#args + 1] = w end
fail_if(redis.pcall(unpack(args)))
local total = fail_if(redis.pcall('ZCOUNT', KEYS[1], ARGV[2], ARGV[3]))
local ids = {}
if tonumber(ARGV[5]) > 0 then
  ids = fail_if(redis.pcall('ZRANGE', KEYS[1], ARGV[3], ARGV[2], 'BYSCORE', 'REV', 'LIMIT', ARGV[4], ARGV[5]))
end
redis.call('DEL', KEYS[1])
return { total, ids }
