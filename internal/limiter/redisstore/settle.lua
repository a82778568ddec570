-- settle.lua: charge a lease's cost and drop the lease, or (release) drop
-- it and give its window tokens back if it was the fleet's latest
-- admission. An unknown lease charges nothing: an expired one was
-- charged its reservation when it expired. Returns {dropped (1 or 0),
-- spent, reserved}: the fleet's figures after the call (spent as of the
-- latest admission, which rolls charges off, plus the charges since: never
-- less than the truth), for the fail-over guards' last seen state.
-- KEYS: state, spend, leases, amounts
-- ARGV: now (-1: TIME), lease, cost (micro-USD; -1: release), channel
local st, spend, leases, amounts = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local lease, cost = ARGV[2], tonumber(ARGV[3])
local a = redis.call('HGET', amounts, lease)
local function figures(dropped)
  local s = redis.call('HMGET', st, 'spent', 'reserved')
  return {dropped, tonumber(s[1] or '0'), tonumber(s[2] or '0')}
end
if not a then return figures(0) end
redis.call('HDEL', amounts, lease)
redis.call('ZREM', leases, lease)
local reserved = tonumber(redis.call('HGET', st, 'reserved') or '0') - tonumber(a)
if redis.call('HLEN', amounts) == 0 then reserved = 0 end
redis.call('HSET', st, 'reserved', reserved)
if cost > 0 then
  local seq = redis.call('HINCRBY', st, 'seq', 1)
  redis.call('ZADD', spend, now, seq .. ':' .. cost)
  redis.call('HINCRBY', st, 'spent', cost)
elseif cost < 0 and redis.call('HGET', st, 'last') == lease then
  -- the intervals are those of the admission, which admit.lua kept
  local s = redis.call('HMGET', st, 'm', 'h', 'mi', 'hi')
  if s[1] and s[3] then redis.call('HSET', st, 'm', tonumber(s[1]) - tonumber(s[3])) end
  if s[2] and s[4] then redis.call('HSET', st, 'h', tonumber(s[2]) - tonumber(s[4])) end
  redis.call('HDEL', st, 'last')
end
redis.call('PUBLISH', ARGV[4], 'freed')
return figures(1)
