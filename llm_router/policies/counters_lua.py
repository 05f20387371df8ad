"""The Lua scripts behind ``RedisCounters``: each operation is one ``EVALSHA`` (one round
trip), atomic on the server, and timed by the server's clock (``TIME``), so every replica
shares one clock. Every script touches only keys with the same hash tag (``{...}``), so they
run unchanged on Redis Cluster. Times are integer milliseconds.

WINDOW — a sliding-window log: ``KEYS[1]`` a sorted set of ``id:cost`` members scored by
their time, ``KEYS[2]`` the running sum of the costs in the window. ``take`` admits while
``sum + cost <= limit`` (exact over every window of ``period``: no burst on top), ``peek``
reads, ``adjust`` adds (positive) or takes back from the newest entries (negative).
Returns ``{allowed, remaining, reset_ms, retry_ms}``.

SLOTS — parallel-request leases: ``KEYS[1]`` a sorted set of lease ids scored by their
expiry. Expired leases (a replica that died) are dropped before counting.

BUDGET — reservations: ``KEYS[1]`` a hash ``spent``/``outstanding``, ``KEYS[2]`` a sorted
set of ``id:amount`` reservations scored by their expiry (a replica that died gives its
reservations back when they expire). ``reserve`` answers ``{'seed'}`` when the counter is new
and no seed was given: the caller reads the ledger and calls again with it."""

from __future__ import annotations

_PRELUDE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function cost_of(member) return tonumber(string.match(member, ':(%-?%d+)$')) end
"""

WINDOW = _PRELUDE + """
local log, total = KEYS[1], KEYS[2]
local limit, period, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local mode, id = ARGV[4], ARGV[5]
local sum = tonumber(redis.call('GET', total) or '0')
local old = redis.call('ZRANGEBYSCORE', log, '-inf', now - period)
for _, m in ipairs(old) do sum = sum - cost_of(m) end
if #old > 0 then redis.call('ZREMRANGEBYSCORE', log, '-inf', now - period) end
if sum < 0 then sum = 0 end
local function reset()
  local last = redis.call('ZRANGE', log, -1, -1, 'WITHSCORES')
  if #last == 0 then return 0 end
  return tonumber(last[2]) + period - now
end
local function save()
  if redis.call('ZCARD', log) == 0 then redis.call('DEL', total) return end
  redis.call('SET', total, sum, 'PX', period + 1000)
  redis.call('PEXPIRE', log, period + 1000)
end
if mode == 'take' then
  if cost > limit then cost = limit end
  if sum + cost > limit then
    local freed, retry = 0, period
    local entries = redis.call('ZRANGE', log, 0, -1, 'WITHSCORES')
    for i = 1, #entries, 2 do
      freed = freed + cost_of(entries[i])
      if sum - freed + cost <= limit then retry = tonumber(entries[i + 1]) + period - now break end
    end
    save()
    return {0, math.max(0, limit - sum), reset(), retry}
  end
  redis.call('ZADD', log, now, id .. ':' .. cost)
  sum = sum + cost
elseif mode == 'adjust' then
  if cost > 0 then
    redis.call('ZADD', log, now, id .. ':' .. cost)
    sum = sum + cost
  else
    local need = -cost
    while need > 0 do
      local last = redis.call('ZRANGE', log, -1, -1, 'WITHSCORES')
      if #last == 0 then break end
      local c = cost_of(last[1])
      redis.call('ZREM', log, last[1])
      if c <= need then
        sum, need = sum - c, need - c
      else
        redis.call('ZADD', log, tonumber(last[2]), id .. 'r:' .. (c - need))
        sum, need = sum - need, 0
      end
    end
    if sum < 0 then sum = 0 end
  end
end
save()
return {1, math.max(0, limit - sum), reset(), 0}
"""

SLOTS = _PRELUDE + """
local key, op, limit, lease, id = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
if op == 'release' then return redis.call('ZREM', key, id) end
if op == 'renew' then
  local n = redis.call('ZADD', key, 'XX', 'CH', now + lease, id)
  redis.call('PEXPIRE', key, lease * 2)
  return n
end
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if redis.call('ZCARD', key) >= limit then return 0 end
redis.call('ZADD', key, now + lease, id)
redis.call('PEXPIRE', key, lease * 2)
return 1
"""

BUDGET = _PRELUDE + """
local budget, held, op = KEYS[1], KEYS[2], ARGV[1]
if op == 'commit' then
  local id, reserved, actual = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
  if redis.call('ZREM', held, id .. ':' .. reserved) == 1 then
    redis.call('HINCRBY', budget, 'outstanding', -reserved)
  end
  if redis.call('EXISTS', budget) == 1 and actual > 0 then redis.call('HINCRBY', budget, 'spent', actual) end
  return 1
end
if op == 'renew' then
  local id, amount, lease = ARGV[2], ARGV[3], tonumber(ARGV[4])
  return redis.call('ZADD', held, 'XX', 'CH', now + lease, id .. ':' .. amount)
end
local id, amount, limit, ttl, lease, seed = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]),
  tonumber(ARGV[6]), ARGV[7]
if redis.call('EXISTS', budget) == 0 then
  if seed == '' then return {'seed'} end
  redis.call('HSET', budget, 'spent', tonumber(seed), 'outstanding', 0)
  redis.call('PEXPIRE', budget, ttl)
end
local stale = redis.call('ZRANGEBYSCORE', held, '-inf', now)
for _, m in ipairs(stale) do redis.call('HINCRBY', budget, 'outstanding', -cost_of(m)) end
if #stale > 0 then redis.call('ZREMRANGEBYSCORE', held, '-inf', now) end
local used = tonumber(redis.call('HGET', budget, 'spent') or '0') +
  math.max(0, tonumber(redis.call('HGET', budget, 'outstanding') or '0'))
if used >= limit then return {0, used} end
redis.call('ZADD', held, now + lease, id .. ':' .. amount)
redis.call('HINCRBY', budget, 'outstanding', amount)
redis.call('PEXPIRE', held, math.max(ttl, lease))
return {1, used}
"""
