// threadflight/redis: a coordinator that shares flights across processes and hosts through the
// user's Redis client. See redis.d.ts for the contract of each option.
import { MAX_DURATION_LIMIT } from '../options';
import { ioredisAdapter, type IoredisCommands, type IoredisSubscriber, type RedisAdapter } from './adapter';
import { RedisCoordinator } from './coordinator';
import { JSON_CODEC, Records, STRUCTURED, type Codec } from './record';

export type { RedisAdapter } from './adapter';
export type { CoordinatorStats } from './coordinator';
export type { Codec } from './record';
export { RedisCoordinator } from './coordinator';

export interface RedisCoordinatorOptions {
  /** An ioredis Redis or Cluster (checked when the coordinator is made). */
  client?: unknown;
  subscriber?: unknown;
  adapter?: RedisAdapter;
  prefix?: string;
  leaseMs?: number;
  resultTtlMs?: number;
  commandTimeoutMs?: number;
  retryAfterMs?: number;
  codec?: 'structured' | 'json' | Codec;
  maxRecordBytes?: number;
  secret?: string | Buffer;
}

const KNOWN = [
  'client',
  'subscriber',
  'adapter',
  'prefix',
  'leaseMs',
  'resultTtlMs',
  'commandTimeoutMs',
  'retryAfterMs',
  'codec',
  'maxRecordBytes',
  'secret',
];

const DEFAULTS = {
  prefix: 'threadflight',
  leaseMs: 3000,
  commandTimeoutMs: 1000,
  retryAfterMs: 5000,
  maxRecordBytes: 64 * 1024 * 1024,
};

function fail(option: string, expected: string, value: unknown): never {
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value;
  throw new TypeError(`redisCoordinator option "${option}" must be ${expected}, received ${shown}`);
}

/** Redis refuses bulk strings above 512 MiB (proto-max-bulk-len). */
const MAX_RECORD_BYTES_LIMIT = 512 * 1024 * 1024;

function integer(
  options: Record<string, unknown>,
  option: string,
  fallback: number,
  { min = 1, max = MAX_DURATION_LIMIT, unit = 'milliseconds' } = {},
): number {
  const value = options[option];
  if (value === undefined) return fallback;
  if (typeof value !== 'number') fail(option, `a number of ${unit}`, value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `redisCoordinator option "${option}" must be an integer from ${min} to ${max}, received ${value}`,
    );
  }
  return value;
}

/** Whether `value` is an object with these functions (a getter or Proxy that throws while they
 * are read counts as a missing function). */
function hasMethods(value: unknown, methods: string[]): boolean {
  if (typeof value !== 'object' || value === null) return false;
  try {
    return methods.every((method) => typeof (value as Record<string, unknown>)[method] === 'function');
  } catch {
    return false;
  }
}

const isIoredis = (value: unknown): value is IoredisCommands =>
  hasMethods(value, ['evalshaBuffer', 'evalBuffer', 'duplicate']);
const isSubscriber = (value: unknown): value is IoredisSubscriber =>
  hasMethods(value, ['subscribe', 'unsubscribe', 'on', 'off']);
const isAdapter = (value: unknown): value is RedisAdapter =>
  hasMethods(value, ['runScript', 'subscribe', 'unsubscribe', 'onMessage']);
const isCodec = (value: unknown): value is Codec => hasMethods(value, ['encode', 'decode']);

/** The subscriber connection made by duplicate(): the coordinator's to close. */
type OwnedSubscriber = IoredisSubscriber & {
  on(event: 'error', listener: () => void): unknown;
  quit?: () => Promise<unknown>;
  disconnect?: () => void;
};

function resolveCodec(codec: unknown): Codec {
  if (codec === undefined || codec === 'structured') return STRUCTURED;
  if (codec === 'json') return JSON_CODEC;
  if (isCodec(codec)) return codec;
  return fail('codec', "'structured', 'json' or an object with encode and decode", codec);
}

/**
 * A coordinator for Singleflight's `distributed` option: flights of instances with the same
 * name (and prefix) are shared by every process that uses this Redis.
 */
export function redisCoordinator(options: RedisCoordinatorOptions): RedisCoordinator {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `redisCoordinator options must be an object, received ${options === null ? 'null' : typeof options}`,
    );
  }
  const given = options as Record<string, unknown>;
  for (const option of Object.keys(given)) {
    if (!KNOWN.includes(option)) {
      throw new TypeError(`Unknown redisCoordinator option "${option}" (known options: ${KNOWN.join(', ')})`);
    }
  }

  let prefix = DEFAULTS.prefix;
  if (given.prefix !== undefined) {
    if (typeof given.prefix !== 'string' || given.prefix.length === 0 || given.prefix.length > 256) {
      fail('prefix', 'a string of 1 to 256 characters', given.prefix);
    }
    if (/[{}]/.test(given.prefix)) {
      // Redis Cluster hashes the first {...} of a key name: the prefix must not make one.
      throw new TypeError(
        `redisCoordinator option "prefix" must not contain "{" or "}", received ${JSON.stringify(given.prefix)}`,
      );
    }
    prefix = given.prefix;
  }
  // At most 2^30: the result stays readable for twice as long, and timers stop at 2^31-1.
  const leaseMs = integer(given, 'leaseMs', DEFAULTS.leaseMs, { min: 10, max: 2 ** 30 });
  const resultTtlMs = integer(given, 'resultTtlMs', leaseMs * 2, { min: 10 });
  if (resultTtlMs < leaseMs * 2) {
    throw new RangeError(
      `redisCoordinator option "resultTtlMs" (${resultTtlMs}) must be at least twice leaseMs (${leaseMs}): ` +
        'a waiter that missed the publication looks for the result after the lease would have lapsed',
    );
  }
  const commandTimeoutMs = integer(given, 'commandTimeoutMs', DEFAULTS.commandTimeoutMs);
  if (commandTimeoutMs >= leaseMs) {
    throw new RangeError(
      `redisCoordinator option "commandTimeoutMs" (${commandTimeoutMs}) must be less than leaseMs (${leaseMs}): ` +
        'a renewal that may take longer than the lease cannot keep it',
    );
  }
  const retryAfterMs = integer(given, 'retryAfterMs', DEFAULTS.retryAfterMs, { min: 0 });
  const maxRecordBytes = integer(given, 'maxRecordBytes', DEFAULTS.maxRecordBytes, {
    max: MAX_RECORD_BYTES_LIMIT,
    unit: 'bytes',
  });

  let secret: Buffer | undefined;
  if (given.secret !== undefined) {
    if (typeof given.secret === 'string' && given.secret.length > 0) secret = Buffer.from(given.secret, 'utf8');
    else if (Buffer.isBuffer(given.secret) && given.secret.length > 0) secret = Buffer.from(given.secret);
    else fail('secret', 'a non-empty string or Buffer', given.secret);
  }

  let adapter: RedisAdapter;
  let onClose = async (): Promise<void> => {};
  if (given.adapter !== undefined) {
    if (!isAdapter(given.adapter))
      fail('adapter', 'an object with runScript, subscribe, unsubscribe and onMessage', given.adapter);
    if (given.client !== undefined || given.subscriber !== undefined) {
      throw new TypeError('redisCoordinator takes either "adapter" or "client" (and "subscriber"), not both');
    }
    adapter = given.adapter;
  } else {
    if (!isIoredis(given.client)) {
      fail('client', 'an ioredis client (Redis or Cluster), or pass "adapter"', given.client);
    }
    let subscriber: IoredisSubscriber;
    if (given.subscriber === undefined) {
      // A connection in subscriber mode cannot run other commands: a second one, made from the
      // user's client (its options), opened here and closed by close().
      const duplicate = given.client.duplicate() as OwnedSubscriber;
      // Its connection errors surface as failed subscriptions; unheard, ioredis would print each.
      duplicate.on('error', () => {});
      subscriber = duplicate;
      onClose = async () => {
        // QUIT needs the server: when it cannot answer, the connection is dropped instead.
        const quit = duplicate.quit?.().catch(() => {});
        const timer = setTimeout(() => duplicate.disconnect?.(), commandTimeoutMs);
        await quit;
        clearTimeout(timer);
        duplicate.disconnect?.();
      };
    } else {
      if (!isSubscriber(given.subscriber)) fail('subscriber', 'an ioredis connection', given.subscriber);
      if ((given.subscriber as unknown) === given.client) {
        throw new TypeError(
          'redisCoordinator option "subscriber" must be another connection than "client": a connection ' +
            'that subscribes runs no other command (client.duplicate() makes one)',
        );
      }
      subscriber = given.subscriber;
    }
    adapter = ioredisAdapter(given.client, subscriber);
  }

  return new RedisCoordinator({
    adapter,
    records: new Records(resolveCodec(given.codec), secret, maxRecordBytes),
    prefix,
    leaseMs,
    resultTtlMs,
    commandTimeoutMs,
    retryAfterMs,
    onClose,
  });
}
