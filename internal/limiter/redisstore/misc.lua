-- misc.lua: the pause, the renewal of leases, and the replay of what the
-- local guards admitted and charged while Redis was away.
-- KEYS: state, spend, leases, amounts
-- ARGV: now (-1: TIME), op, then by op:
--   pause: duration;  unpause: channel;  renew: ttl, lease...
--   replay: minute cap, minute interval, hour cap, hour interval,
--           admissions, charge...
local st, spend, leases = KEYS[1], KEYS[2], KEYS[3]
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local op = ARGV[2]
if op == 'pause' then
  local untl = now + tonumber(ARGV[3])
  if untl > tonumber(redis.call('HGET', st, 'pause') or '0') then
    redis.call('HSET', st, 'pause', untl)
  end
elseif op == 'unpause' then
  redis.call('HDEL', st, 'pause')
  redis.call('PUBLISH', ARGV[3], 'unpaused')
elseif op == 'renew' then
  local ttl = tonumber(ARGV[3])
  for i = 4, #ARGV do
    redis.call('ZADD', leases, 'XX', now + ttl, ARGV[i])
  end
elseif op == 'replay' then
  local n = tonumber(ARGV[7])
  local s = redis.call('HMGET', st, 'm', 'h')
  for i, f in ipairs({'m', 'h'}) do
    local c, int = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
    if c > 0 and n > 0 then
      local tat = tonumber(s[i] or '0')
      if tat < now then tat = now end
      redis.call('HSET', st, f, tat + n * int)
    end
  end
  for i = 8, #ARGV do
    local seq = redis.call('HINCRBY', st, 'seq', 1)
    redis.call('ZADD', spend, now, seq .. ':' .. ARGV[i])
    redis.call('HINCRBY', st, 'spent', tonumber(ARGV[i]))
  end
end
return {now, tonumber(redis.call('HGET', st, 'pause') or '0')}
