/**
 * The Lua scripts of the queue. Each target script touches only keys of one target (one
 * hash tag, one cluster slot) and runs atomically; the ready-set scripts touch only the
 * global keys of a prefix. Times come from the Redis server's clock (`TIME`).
 *
 * Target scripts take `KEYS` = stream, jobs, attempts, delayed, lease, fence, dead.
 * Ready scripts take `KEYS` = ready, ready-version, ready-seq.
 *
 * @since 0.1.0
 */

const now = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`

const nextDue = `
local function nextDue()
  local nxt = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
  if #nxt > 0 then return {1, tonumber(nxt[2])} end
  return {0}
end
`

/**
 * Inline ready-set updates for a standalone server, where a target script may also touch
 * the global keys (KEYS[8..10] = ready, ready-version, ready-seq). On a Cluster those keys
 * are absent and the adapter updates the ready set in a second step.
 */
const ready = `
local function readySet(target, at, lowerOnly)
  if not KEYS[8] then return end
  if lowerOnly then redis.call('ZADD', KEYS[8], 'LT', at, target) else redis.call('ZADD', KEYS[8], at, target) end
  redis.call('HSET', KEYS[9], target, redis.call('INCR', KEYS[10]))
end
local function readyClear(target)
  if not KEYS[8] then return end
  redis.call('ZREM', KEYS[8], target)
  redis.call('HDEL', KEYS[9], target)
end
`

/**
 * Queues jobs of one target unless queued already (and, inline, marks it ready now).
 * ARGV: target, group, then (job id, payload) pairs. Returns how many were added.
 */
export const publish = `${now}${ready}
local added = 0
for i = 3, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 1]) == 1 then
    if added == 0 then redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[2], '0', 'MKSTREAM') end
    redis.call('XADD', KEYS[1], '*', 'id', ARGV[i])
    added = added + 1
  end
end
readySet(ARGV[1], now, true)
return added
`

/**
 * Takes the target's lease and up to \`count\` entries in order: first entries of a dead
 * consumer (XAUTOCLAIM, once idle for \`claimIdleMs\`), else new ones (XREADGROUP).
 * Due retries are moved into the stream first.
 * Inline, the target's ready entry is set to what was found (removed when idle).
 * ARGV: target, group, consumer, leaseMs, claimIdleMs, count.
 * Returns {0} (no work), {1, wakeAt} (work later), or
 * {2, token, leaseUntil, n, [entryId, jobId, payload, hasPayload, attempt, reclaimed] * n}.
 */
export const take = `${now}${nextDue}${ready}
local function body()
local group, consumer = ARGV[2], ARGV[3]
local leaseMs, idle, count = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local ttl = redis.call('PTTL', KEYS[5])
if ttl > 0 then return {1, now + ttl} end
if ttl == -1 then redis.call('DEL', KEYS[5]) end
local due = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now)
if #due > 0 then
  redis.pcall('XGROUP', 'CREATE', KEYS[1], group, '0', 'MKSTREAM')
  for _, id in ipairs(due) do
    redis.call('XADD', KEYS[1], '*', 'id', id)
    redis.call('ZREM', KEYS[4], id)
  end
end
if redis.call('EXISTS', KEYS[1]) == 0 then return nextDue() end
redis.pcall('XGROUP', 'CREATE', KEYS[1], group, '0')
local picked = {}
local pending = redis.call('XPENDING', KEYS[1], group, '-', '+', count)
if #pending > 0 then
  local oldest = tonumber(pending[1][3])
  if oldest < idle then return {1, now + idle - oldest} end
  local counts = {}
  for _, p in ipairs(pending) do counts[p[1]] = tonumber(p[4]) end
  local claimed = redis.call('XAUTOCLAIM', KEYS[1], group, consumer, idle, '0-0', 'COUNT', count)
  for _, e in ipairs(claimed[2]) do
    if e and e[2] then table.insert(picked, {e[1], e[2], (counts[e[1]] or 0) + 1}) end
  end
  if #picked == 0 then return {1, now} end
end
-- New entries follow only when no older entry is still pending (order).
if #picked < count and tonumber(redis.call('XPENDING', KEYS[1], group)[1]) == #picked then
  local read = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count - #picked, 'STREAMS', KEYS[1], '>')
  if read then
    for _, e in ipairs(read[1][2]) do table.insert(picked, {e[1], e[2], 1}) end
  end
end
if #picked == 0 then
  if redis.call('XLEN', KEYS[1]) == 0 then redis.call('DEL', KEYS[1]) end
  return nextDue()
end
local token = redis.call('INCR', KEYS[6])
redis.call('SET', KEYS[5], token .. ' ' .. consumer, 'PX', leaseMs)
local out = {2, token, now + leaseMs, #picked}
for _, p in ipairs(picked) do
  local fields, jobId = p[2], ''
  for i = 1, #fields, 2 do
    if fields[i] == 'id' then jobId = fields[i + 1] end
  end
  local payload, base = false, 1
  if jobId ~= '' then
    payload = redis.call('HGET', KEYS[2], jobId)
    base = tonumber(redis.call('HGET', KEYS[3], jobId) or '1') or 1
  end
  table.insert(out, p[1])
  table.insert(out, jobId)
  table.insert(out, payload or '')
  if payload then table.insert(out, 1) else table.insert(out, 0) end
  table.insert(out, base + p[3] - 1)
  if p[3] > 1 then table.insert(out, 1) else table.insert(out, 0) end
end
return out
end
local result = body()
if result[1] == 0 then readyClear(ARGV[1])
elseif result[1] == 1 then readySet(ARGV[1], result[2], false)
else readySet(ARGV[1], result[3], false) end
return result
`

/**
 * Settles entries delivered under the lease \`token\`: ack, retry (into the delayed set) or
 * dead (into the dead-letter stream). Refuses ({-1}) unless the token is the lease's, or
 * the lease expired and no newer one was handed out, and every entry is still pending.
 * Acknowledged entries are deleted; an empty stream is deleted with its group.
 * The lease is released unless \`release\` is 0 (a pull batch settling part of its entries).
 * Inline, the target is marked ready at the returned time (removed when no work is left).
 * ARGV: target, group, token, deadMaxLen, release, then (mode, entryId, jobId, delayMs|reason, attempt) * n.
 * Returns {-1}, {0} (no work left) or {1, wakeAt}.
 */
export const settle = `${now}${nextDue}${ready}
local function body()
local group, token = ARGV[2], ARGV[3]
local lease = redis.call('GET', KEYS[5])
if lease then
  if string.match(lease, '^(%d+)') ~= token then return {-1} end
elseif redis.call('GET', KEYS[6]) ~= token then
  return {-1}
end
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1} end
for i = 6, #ARGV, 5 do
  local p = redis.pcall('XPENDING', KEYS[1], group, ARGV[i + 1], ARGV[i + 1], 1)
  if type(p) ~= 'table' or p.err or #p == 0 then return {-1} end
end
for i = 6, #ARGV, 5 do
  local mode, entry, jobId, arg, attempt = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  redis.call('XACK', KEYS[1], group, entry)
  redis.call('XDEL', KEYS[1], entry)
  if mode == 'retry' then
    redis.call('ZADD', KEYS[4], now + tonumber(arg), jobId)
    redis.call('HSET', KEYS[3], jobId, tonumber(attempt) + 1)
  else
    if mode == 'dead' then
      local payload = ''
      if jobId ~= '' then payload = redis.call('HGET', KEYS[2], jobId) or '' end
      redis.call('XADD', KEYS[7], 'MAXLEN', '~', ARGV[4], '*',
        'id', jobId, 'job', payload, 'reason', arg, 'attempts', attempt, 'at', now)
    end
    if jobId ~= '' then
      redis.call('HDEL', KEYS[2], jobId)
      redis.call('HDEL', KEYS[3], jobId)
    end
  end
end
if lease and ARGV[5] == '1' then redis.call('DEL', KEYS[5]) end
if redis.call('XLEN', KEYS[1]) > 0 then return {1, now} end
redis.call('DEL', KEYS[1])
return nextDue()
end
local result = body()
if result[1] == 1 then readySet(ARGV[1], result[2], true)
elseif result[1] == 0 then readyClear(ARGV[1]) end
return result
`

/**
 * Marks targets as possibly having work at a time (never later than an earlier mark) and
 * bumps their version. ARGV: (target, wakeAt) pairs; wakeAt 0 means now.
 */
export const nudge = `${now}
for i = 1, #ARGV, 2 do
  local at = tonumber(ARGV[i + 1])
  if at <= 0 then at = now end
  redis.call('ZADD', KEYS[1], 'LT', at, ARGV[i])
  redis.call('HSET', KEYS[2], ARGV[i], redis.call('INCR', KEYS[3]))
end
return 1
`

/**
 * Targets due now, oldest first, with their versions. ARGV: limit.
 * Returns {target, version, ...}.
 */
export const candidates = `${now}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local out = {}
for _, target in ipairs(due) do
  table.insert(out, target)
  table.insert(out, redis.call('HGET', KEYS[2], target) or '')
end
return out
`

/**
 * Records what polling found, unless a nudge came in meanwhile (the version changed).
 * ARGV: (target, version, wakeAt) triples; wakeAt -1 removes the target.
 */
export const resolve = `
for i = 1, #ARGV, 3 do
  local target, version, at = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  if (redis.call('HGET', KEYS[2], target) or '') == version then
    if at < 0 then
      redis.call('ZREM', KEYS[1], target)
      redis.call('HDEL', KEYS[2], target)
    else
      redis.call('ZADD', KEYS[1], at, target)
    end
  end
end
return 1
`
