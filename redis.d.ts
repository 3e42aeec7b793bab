// Public types of threadflight/redis: flights shared by processes and hosts through Redis.
import type { CacheTier, CacheTierOptions, Coordinator, DistributedFlight } from './index';

/** How values are turned into bytes and back (errors always travel as their class, message,
 * stack, code and own properties). */
export interface Codec {
  encode(value: unknown): Buffer | Uint8Array | string;
  decode(bytes: Buffer): unknown;
}

/**
 * What the coordinator needs of a Redis client. ioredis clients are adapted by passing them as
 * `client`; for another client (node-redis), implement these four functions and pass `adapter`.
 */
export interface RedisAdapter {
  /** Runs a Lua script: EVALSHA `script.sha1`, or EVAL `script.source` when the server answers
   * NOSCRIPT. Bulk-string replies must come back as Buffers. */
  runScript(
    script: { readonly name: string; readonly source: string; readonly sha1: string },
    keys: string[],
    args: Array<string | Buffer>,
  ): Promise<unknown>;
  /** SUBSCRIBE on a connection kept for subscriptions; resolves once the server acknowledged it. */
  subscribe(channel: string): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  /** Registers the one function that receives every message of the subscribed channels; may
   * return a function that removes it again (close() calls it). */
  onMessage(listener: (channel: string, message: Buffer) => void): (() => void) | void;
}

export interface RedisCoordinatorOptions {
  /**
   * An ioredis client (`Redis` or `Cluster`), used for commands. The coordinator never closes it.
   */
  client?: unknown;
  /**
   * An ioredis connection for subscriptions (a connection in subscriber mode runs no other
   * command). Default: `client.duplicate()`, made here and closed by `close()`.
   */
  subscriber?: unknown;
  /** Instead of client and subscriber: any client, through the four functions of RedisAdapter. */
  adapter?: RedisAdapter;
  /**
   * Starts every key and channel name: instances share flights only with the same name and
   * prefix. Key names carry a SHA-256 of the instance's name and the key, never the key itself.
   * 1 to 256 characters without `{` or `}` (Redis Cluster's hash tags). Default 'threadflight'.
   */
  prefix?: string;
  /**
   * How long the leading process's claim lasts without renewal, in ms; it renews a third of the
   * way through while the work runs, never past maxDuration. A leader that dies is replaced by
   * one waiting process within this time. 10 to 2^30; default 3000.
   */
  leaseMs?: number;
  /** How long a settled flight's record stays readable for processes that missed its message;
   * at least twice leaseMs, which is the default. */
  resultTtlMs?: number;
  /** A Redis command that has not answered in this many ms counts as failed; less than
   * leaseMs. Default 1000. */
  commandTimeoutMs?: number;
  /** After a failed command, Redis is left alone (each process runs its own work) for this
   * many ms. Default 5000. */
  retryAfterMs?: number;
  /** 'structured' (v8 structured clone, as between threads; the default), 'json', or your own. */
  codec?: 'structured' | 'json' | Codec;
  /** Largest record (the encoded outcome with its flight's name, key and signature) sent through
   * Redis; a larger one makes each waiting process run its own work. Records over 64 KiB are
   * stored and announced, not published, so no subscriber's output buffer must hold them.
   * Default 64 MiB, at most 512 MiB (keep it under the server's proto-max-bulk-len). */
  maxRecordBytes?: number;
  /**
   * Signs every published outcome (HMAC-SHA256). With a secret, a record that is unsigned or
   * signed otherwise is never delivered: the process runs its own work. Without one, whoever can
   * write to this Redis can hand your callers any value.
   */
  secret?: string | Buffer;
}

/** What this process's coordinator did since it was made. */
export interface CoordinatorStats {
  /** Flights whose work ran here under the lease (takeovers included). */
  led: number;
  /** Flights whose outcome came from another process. */
  received: number;
  /** Flights taken over from a leader whose lease lapsed. */
  tookOver: number;
  /** Flights that ran here without coordination because Redis could not be used. */
  ranLocally: number;
  /** Outcomes that could not be sent (codec failure, larger than maxRecordBytes). */
  unsendable: number;
  /** Records refused here (not signed with the secret, unreadable, another format). */
  refused: number;
  /** Leases found taken over while the work still ran here. */
  lostLeases: number;
  /** Redis commands that failed or timed out. */
  redisErrors: number;
}

export declare class RedisCoordinator implements Coordinator {
  run<T>(flight: DistributedFlight<T>): Promise<T>;
  /**
   * Gives back the leases of this process's flights of `name` (of `key`, if given): the next
   * caller in any process starts a new flight, while the work still answers the callers that
   * joined it here. Flights led by other processes are not affected. Singleflight's forget()
   * and clear() call it.
   */
  forget(name: string, key?: string): void;
  /**
   * The Redis tier of a named FlightCache (used by a FlightCache given this coordinator as
   * `distributed`): entries stored with their ttl and grace, read by any process whose memory
   * misses; delete(), set() and clear() reach every process through pub/sub. A cache's keys
   * share one Cluster slot (a hash tag of its name) and carry a SHA-256 of each key; with
   * `secret`, entries are signed like flight records.
   */
  cacheTier(options: CacheTierOptions): CacheTier;
  stats(): CoordinatorStats;
  /**
   * Stops using Redis (flights run locally from then on): flights led here get up to leaseMs to
   * publish, then their leases are given back; commands already sent finish; the subscriber
   * connection it made is closed. Call it before closing your client.
   */
  close(): Promise<void>;
}

/**
 * A coordinator for Singleflight's `distributed` option.
 * @throws TypeError or RangeError naming the offending option.
 */
export declare function redisCoordinator(options: RedisCoordinatorOptions): RedisCoordinator;
