-- admit.lua: one atomic admission against both windows, the budget and
-- the pause, or the time it could be admitted. Times are whole
-- microseconds, money whole micro-USD: Lua numbers are doubles, exact for
-- integers below 2^53.
--
-- KEYS: state (hash), spend (zset "seq:amount" by time), leases (zset by
-- expiry), amounts (hash lease -> reservation)
-- ARGV: now (-1: Redis TIME), minute cap, minute interval, hour cap, hour
-- interval (cap <= 0: off), budget (< 0: off), cap, need, lease, lease ttl,
-- probe (1: take nothing), ahead, ahead need, channel
local st, spend, leases, amounts = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local mcap, mint = tonumber(ARGV[2]), tonumber(ARGV[3])
local hcap, hint = tonumber(ARGV[4]), tonumber(ARGV[5])
local budget = tonumber(ARGV[6])
local cap, need = tonumber(ARGV[7]), tonumber(ARGV[8])
local lease, ttl = ARGV[9], tonumber(ARGV[10])
local probe = ARGV[11] == '1'
local ahead, aheadNeed = tonumber(ARGV[12]), tonumber(ARGV[13])
local channel = ARGV[14]
local window = 3600000000
local keep = 2 * window / 1000 -- ms: idle state outlives every window

local s = redis.call('HMGET', st, 'm', 'h', 'spent', 'reserved', 'pause')
local tatm, tath = tonumber(s[1] or '0'), tonumber(s[2] or '0')
local spent, reserved = tonumber(s[3] or '0'), tonumber(s[4] or '0')
local pause = tonumber(s[5] or '0')

-- Leases of dead holders expire: their reservation is charged as spent
-- (the query may have spent it all), and the fleet is told.
local dead = redis.call('ZRANGEBYSCORE', leases, '-inf', now)
for _, m in ipairs(dead) do
  local a = tonumber(redis.call('HGET', amounts, m) or '0')
  reserved = reserved - a
  if a > 0 then
    local seq = redis.call('HINCRBY', st, 'seq', 1)
    redis.call('ZADD', spend, now, seq .. ':' .. a)
    spent = spent + a
  end
  redis.call('HDEL', amounts, m)
end
if #dead > 0 then
  redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
  redis.call('PUBLISH', channel, 'expired')
  if redis.call('HLEN', amounts) == 0 then reserved = 0 end
end

-- Charges leave the window an hour after they were made.
local old = redis.call('ZRANGEBYSCORE', spend, '-inf', now - window)
for _, m in ipairs(old) do
  spent = spent - tonumber(string.match(m, ':(%d+)$'))
end
if #old > 0 then
  redis.call('ZREMRANGEBYSCORE', spend, '-inf', now - window)
  if redis.call('ZCARD', spend) == 0 then spent = 0 end
end

local function fullAt(tat) if tat > now then return tat end return now end
local function allows(c, int, tat)
  return c <= 0 or fullAt(tat) - now <= (c - 1) * int
end
local function readyAt(c, int, tat, n)
  if c <= 0 then return now end
  local t = fullAt(tat) + (n - (c - 1)) * int
  if t > now then return t end
  return now
end

-- The keys' idle expiry is pushed back at most once a minute (keep is two
-- hours): four PEXPIREs per admission were a third of the script's work.
local function state(admitted, ...)
  local exp = tonumber(redis.call('HGET', st, 'exp') or '0')
  if now - exp >= 60000000 or now < exp then
    for _, k in ipairs(KEYS) do redis.call('PEXPIRE', k, keep) end
    redis.call('HSET', st, 'spent', spent, 'reserved', reserved, 'exp', now, ...)
  else
    redis.call('HSET', st, 'spent', spent, 'reserved', reserved, ...)
  end
  return {admitted, now, tatm, tath, spent, reserved, pause}
end

if not probe and now >= pause then
  local free = budget - reserved - spent
  if (budget < 0 or free >= need) and allows(mcap, mint, tatm) and allows(hcap, hint, tath) then
    if mcap > 0 then tatm = fullAt(tatm) + mint end
    if hcap > 0 then tath = fullAt(tath) + hint end
    local reserve = cap
    if budget >= 0 and free < cap then reserve = free end
    redis.call('ZADD', leases, now + ttl, lease)
    redis.call('HSET', amounts, lease, reserve)
    reserved = reserved + reserve
    -- the intervals of the latest admission (0: window off), for a release
    local mi, hi = 0, 0
    if mcap > 0 then mi = mint end
    if hcap > 0 then hi = hint end
    local r = state(1, 'm', tatm, 'h', tath, 'last', lease, 'mi', mi, 'hi', hi)
    table.insert(r, reserve)
    return r
  end
end

-- Refused (or a probe): when, with the reservations and without.
local function notBefore()
  local at, reason = now, 0
  local t = readyAt(mcap, mint, tatm, ahead)
  if t > at then at, reason = t, 1 end
  t = readyAt(hcap, hint, tath, ahead)
  if t > at then at, reason = t, 2 end
  if pause > at then at, reason = pause, 5 end
  return at, reason
end
local charges
local function budgetFree(at, reason, limit)
  if budget < 0 then return at, reason, 1 end
  if limit < 0 then return at, 3, 0 end
  local t
  if spent <= limit then
    t = now
  else
    charges = charges or redis.call('ZRANGE', spend, 0, -1, 'WITHSCORES')
    local left = spent
    for i = 1, #charges, 2 do
      left = left - tonumber(string.match(charges[i], ':(%d+)$'))
      if left <= limit or i + 1 == #charges then
        t = tonumber(charges[i + 1]) + window
        break
      end
    end
    if t == nil then return at, 3, 0 end
  end
  if t > at then at, reason = t, 3 end
  return at, reason, 1
end
local at, reason = notBefore()
local rat, rreason, rknown = budgetFree(at, reason, budget - reserved - aheadNeed - need)
local sat, sreason, sknown = budgetFree(at, reason, budget - aheadNeed - need)
local r = state(0)
for _, v in ipairs({rreason, rat - now, rknown, sreason, sat - now, sknown}) do table.insert(r, v) end
return r
