// The Lua scripts of the flight protocol. Each runs atomically on the server, so "look, then
// lead or wait" and "publish only if the lease is still mine" cannot interleave with another
// process. All keys of a flight share one hash tag, so the scripts also run on Redis Cluster.
//
// Keys of one flight (see keys.ts): `lease` holds "<token> <start ms>" with a PX expiry (the
// lease); `done:<token>` holds a settled flight's record for late readers; `waiters` is a
// sorted set of waiting processes scored by when their registration lapses.
import { createHash } from 'node:crypto';

export interface Script {
  readonly name: string;
  readonly source: string;
  readonly sha1: string;
}

function script(name: string, source: string): Script {
  return { name, source, sha1: createHash('sha1').update(source).digest('hex') };
}

/** The server's clock, in ms: every deadline of a flight is read from it, never from a host's. */
const NOW = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`;

/** The token of a lease value "<token> <start>". */
const TOKEN_OF = `
local function token_of(lease)
  return string.sub(lease, 1, string.find(lease, ' ', 1, true) - 1)
end
`;

/**
 * KEYS: lease, waiters, done:<awaited token> (done: when none is awaited)
 * ARGV: new token, lease ms, maxDuration ms (0: none), waiter id, start to carry over ('' for a
 *       new flight), waiter registration ms
 * Returns {'done', record, now} | {'lead', start, now} | {'wait', lease, pttl, now} | {'expired', start, now}
 */
export const LOOK = script(
  'look',
  `${NOW}
local done = redis.call('GET', KEYS[3])
if done then return {'done', done, string.format('%d', now)} end
local lease = redis.call('GET', KEYS[1])
if not lease then
  local start = now
  if ARGV[5] ~= '' then start = tonumber(ARGV[5]) end
  local ttl = tonumber(ARGV[2])
  local max_duration = tonumber(ARGV[3])
  if max_duration > 0 then
    local left = start + max_duration - now
    if left <= 0 then return {'expired', string.format('%d', start), string.format('%d', now)} end
    if left < ttl then ttl = left end
  end
  redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. string.format('%d', start), 'PX', ttl)
  redis.call('ZREM', KEYS[2], ARGV[4])
  return {'lead', string.format('%d', start), string.format('%d', now)}
end
local registration = tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZADD', KEYS[2], now + registration, ARGV[4])
redis.call('PEXPIRE', KEYS[2], registration)
return {'wait', lease, tostring(redis.call('PTTL', KEYS[1])), string.format('%d', now)}
`,
);

/**
 * KEYS: lease, waiters
 * ARGV: token, lease ms, deadline (server ms, 0: none)
 * Returns -1 if the lease is no longer this token's, -2 if the flight is past its deadline, else
 * how many other processes still wait for the flight.
 */
export const RENEW = script(
  'renew',
  `${NOW}${TOKEN_OF}
local lease = redis.call('GET', KEYS[1])
if not lease or token_of(lease) ~= ARGV[1] then return -1 end
local ttl = tonumber(ARGV[2])
local deadline = tonumber(ARGV[3])
if deadline > 0 and deadline - now < ttl then ttl = deadline - now end
if ttl <= 0 then return -2 end
redis.call('PEXPIRE', KEYS[1], ttl)
return redis.call('ZCOUNT', KEYS[2], '(' .. string.format('%d', now), '+inf')
`,
);

/**
 * KEYS: lease, done:<token>, waiters
 * ARGV: token, record, ms the record stays readable, channel, notice ('' to publish the record)
 * Stores and publishes the record unless a newer flight holds the lease (then returns 0): a
 * leader that lost its lease never publishes over the flight that replaced it. A large record
 * is only stored: the channel carries a notice, and waiters read the record (a subscriber's
 * output buffer could not hold it). When no other process waits, nothing is stored (returns 2).
 */
export const SETTLE = script(
  'settle',
  `${NOW}${TOKEN_OF}
local lease = redis.call('GET', KEYS[1])
if lease and token_of(lease) ~= ARGV[1] then return 0 end
local waiting = redis.call('ZCOUNT', KEYS[3], '(' .. string.format('%d', now), '+inf')
redis.call('DEL', KEYS[1], KEYS[3])
if waiting == 0 then return 2 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
if ARGV[5] == '' then redis.call('PUBLISH', ARGV[4], ARGV[2]) else redis.call('PUBLISH', ARGV[4], ARGV[5]) end
return 1
`,
);

/**
 * KEYS: lease, waiters
 * ARGV: token
 * Every caller of the leading process left: gives the lease up unless another process still
 * waits. Returns how many wait (0: given up), or -1 if the lease is no longer this token's.
 */
export const ABANDON = script(
  'abandon',
  `${NOW}${TOKEN_OF}
local lease = redis.call('GET', KEYS[1])
if not lease or token_of(lease) ~= ARGV[1] then return -1 end
local waiting = redis.call('ZCOUNT', KEYS[2], '(' .. string.format('%d', now), '+inf')
if waiting == 0 then redis.call('DEL', KEYS[1]) end
return waiting
`,
);

/**
 * KEYS: lease
 * ARGV: token
 * Gives the lease up if it is still this token's (the run settled before LOOK's reply came).
 */
export const RELEASE = script(
  'release',
  `${TOKEN_OF}
local lease = redis.call('GET', KEYS[1])
if lease and token_of(lease) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
`,
);

/**
 * KEYS: waiters
 * ARGV: waiter id
 */
export const UNWAIT = script('unwait', `return redis.call('ZREM', KEYS[1], ARGV[1])`);

/**
 * KEYS: done:<token>
 * The record of a settled flight, or nil.
 */
export const FETCH = script('fetch', `return redis.call('GET', KEYS[1])`);

// --- The cache tier (FlightCache's entries in Redis) -------------------------------------------
//
// Keys of one cache share the hash tag of its name: `entry:<digest>` holds "V:<since>:<record>"
// with a PX expiry (ttl + grace), where <since> is when the fill that stored it started (server
// ms), or a tombstone "T:<deleted at>" that outlives every fill that could have raced the
// deletion; `epoch` holds when the cache was last cleared.

/**
 * KEYS: entry, epoch
 * Returns {entry value or '', now, pttl of the entry, epoch}.
 */
export const TIER_GET = script(
  'tier-get',
  `${NOW}
local entry = redis.call('GET', KEYS[1]) or ''
local epoch = redis.call('GET', KEYS[2]) or '0'
return {entry, string.format('%d', now), tostring(redis.call('PTTL', KEYS[1])), epoch}
`,
);

/**
 * KEYS: entry, epoch
 * ARGV: record, px, since (when the fill started, server ms)
 * Stores the entry unless the cache was cleared or the key deleted since the fill started, or a
 * fill that started later has stored it already (returns 0 then, else 1).
 */
export const TIER_SET = script(
  'tier-set',
  `
local since = tonumber(ARGV[3])
if tonumber(redis.call('GET', KEYS[2]) or '0') >= since then return 0 end
local current = redis.call('GET', KEYS[1])
if current then
  local kind = string.sub(current, 1, 2)
  local stamp = tonumber(string.match(current, '^.:(%d+)'))
  if kind == 'T:' and stamp >= since then return 0 end
  if kind == 'V:' and stamp > since then return 0 end
end
redis.call('SET', KEYS[1], 'V:' .. ARGV[3] .. ':' .. ARGV[1], 'PX', ARGV[2])
return 1
`,
);

/**
 * KEYS: entry
 * ARGV: record ('' to delete), px (of the record, or of the tombstone), channel, message
 * Replaces the entry (set) or deletes it, leaving a tombstone; then tells every process.
 */
export const TIER_REPLACE = script(
  'tier-replace',
  `${NOW}
if ARGV[1] == '' then
  redis.call('SET', KEYS[1], 'T:' .. string.format('%d', now), 'PX', ARGV[2])
else
  redis.call('SET', KEYS[1], 'V:' .. string.format('%d', now) .. ':' .. ARGV[1], 'PX', ARGV[2])
end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`,
);

/**
 * KEYS: epoch
 * ARGV: channel, message
 * Clears the cache: entries stored by fills that started before now are no longer read.
 */
export const TIER_CLEAR = script(
  'tier-clear',
  `${NOW}
redis.call('SET', KEYS[1], string.format('%d', now))
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
`,
);
