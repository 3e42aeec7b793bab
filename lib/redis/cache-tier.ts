// A FlightCache's second tier in Redis: entries every process can read (a new process, or one
// whose memory missed, gets the value without running the factory), deletions and clears that
// reach every process's memory through pub/sub, and the guards that keep a fill from writing
// back over a deletion, a clear or a newer fill (see the TIER_* scripts).
import { createHash } from 'node:crypto';
import { binding } from '../binding';
import type { CacheTier, CacheTierOptions, TierRead } from '../distributed';
import type { RedisCoordinator } from './coordinator';
import { Kind } from './record';
import { TIER_CLEAR, TIER_GET, TIER_REPLACE, TIER_SET } from './scripts';

/** Entries are records of this flight id: their name and key, and this token. */
const TOKEN = 'cache';
/** How far two processes' estimates of the server's clock may differ (ms). */
const CLOCK_SLACK_MS = 1000;

function digest(text: string): string {
  return createHash('sha256').update(Buffer.from(text, 'utf16le')).digest('base64url');
}

/** A message on a cache's channel: {o, k} (key k deleted) or {o, c: 1} (cache cleared), o
 * naming the process that sent it (binding.processToken). Signed with the coordinator's secret. */
type Invalidation = { o: string; k: string } | { o: string; c: 1 };

export class RedisCacheTier implements CacheTier {
  private readonly base: string;
  private readonly epoch: string;
  private readonly channel: string;
  /** The server's clock minus this host's, as last seen. */
  private clockOffset = 0;
  private readonly onMessage = (message: Buffer): void => this.heard(message);

  constructor(
    private readonly coordinator: RedisCoordinator,
    private readonly options: CacheTierOptions,
  ) {
    // One hash tag per cache: its entries and its epoch are in one Cluster slot.
    this.base = `${coordinator.settings.prefix}:tc:{${digest(options.name)}}`;
    this.epoch = `${this.base}:epoch`;
    this.channel = this.base;
    coordinator.listen(this.channel, this.onMessage).catch(() => {});
  }

  async read(key: string): Promise<TierRead | undefined> {
    if (!this.coordinator.usable()) return undefined;
    let reply: unknown;
    try {
      reply = await this.coordinator.command(TIER_GET, [this.entry(key), this.epoch], []);
    } catch {
      return undefined; // counted and warned of by the coordinator
    }
    const [raw, nowText, pttlText, epochText] = reply as [Buffer, Buffer, Buffer, Buffer];
    const now = Number(String(nowText));
    this.clockOffset = now - Date.now();
    const since = now;
    const epoch = Number(String(epochText));
    const stored = this.recordOf(raw);
    // Stored by a fill that started before the last clear: gone, as far as readers go.
    if (stored === undefined || stored.since <= epoch) return { since };
    // The record's own seal must agree (a genuine record from before the clear written back
    // is refused), within the slack of the sealing process's estimate of the server's clock.
    const decoded = this.coordinator.settings.records.decode(
      { name: this.options.name, key, token: TOKEN },
      stored.record,
      epoch + 1 - CLOCK_SLACK_MS,
    );
    if ('refused' in decoded) {
      this.coordinator.count('refused');
      this.coordinator.warnOnce(
        'THREADFLIGHT_REDIS_REFUSED',
        this.options.name,
        `threadflight/redis: an entry of FlightCache "${this.options.name}" in Redis was not used: ${decoded.refused}. ` +
          'The factory runs instead.',
      );
      return { since };
    }
    if (decoded.kind !== Kind.Value || typeof decoded.until !== 'number') return { since };
    const pttl = Number(String(pttlText));
    const freshMs = Math.max(0, decoded.until - now);
    return { since, entry: { value: decoded.outcome, freshMs, graceMs: Math.max(0, pttl - freshMs) } };
  }

  async write(
    key: string,
    value: unknown,
    freshMs: number,
    graceMs: number,
    since: number,
    elapsedMs: number,
  ): Promise<void> {
    if (!this.coordinator.usable()) return;
    const record = this.encode(key, value, since, since + elapsedMs + freshMs);
    if (record === undefined) return;
    await this.send(TIER_SET, [this.entry(key), this.epoch], [record, String(freshMs + graceMs), String(since)]);
  }

  replace(key: string, value: unknown, freshMs: number, graceMs: number): void {
    if (!this.coordinator.usable()) return;
    const now = Date.now() + this.clockOffset;
    const record = this.encode(key, value, now, now + freshMs);
    // A value that cannot go to Redis still replaces the old one there: as a deletion.
    const replacement = record ?? Buffer.alloc(0);
    const px = record === undefined ? this.tombstoneMs() : freshMs + graceMs;
    void this.send(TIER_REPLACE, [this.entry(key)], [replacement, String(px), this.channel, this.message(key)]);
  }

  delete(key: string): void {
    if (!this.coordinator.usable()) return;
    void this.send(TIER_REPLACE, [this.entry(key)], ['', String(this.tombstoneMs()), this.channel, this.message(key)]);
  }

  clear(): void {
    if (!this.coordinator.usable()) return;
    void this.send(TIER_CLEAR, [this.epoch], [this.channel, this.message(undefined)]);
  }

  close(): void {
    this.coordinator.unlisten(this.channel, this.onMessage);
  }

  private entry(key: string): string {
    return `${this.base}:e:${digest(key)}`;
  }

  /** A deletion is remembered as long as a fill that raced it could still store. */
  private tombstoneMs(): number {
    return this.options.maxFillMs + CLOCK_SLACK_MS;
  }

  private message(key: string | undefined): string {
    const invalidation: Invalidation =
      key === undefined ? { o: binding.processToken, c: 1 } : { o: binding.processToken, k: key };
    return this.coordinator.settings.records.signMessage(JSON.stringify(invalidation));
  }

  /** Runs a script; a failure is the coordinator's to count and warn of. Never rejects. */
  private send(
    script: Parameters<RedisCoordinator['command']>[0],
    keys: string[],
    args: Array<string | Buffer>,
  ): Promise<void> {
    return this.coordinator.command(script, keys, args).then(
      () => {},
      () => {},
    );
  }

  /** The record in an entry "V:<since>:<record>", and its stamp; undefined for a tombstone or nothing. */
  private recordOf(raw: Buffer): { since: number; record: Buffer } | undefined {
    if (!Buffer.isBuffer(raw) || raw.length < 3 || raw[0] !== 0x56 /* V */ || raw[1] !== 0x3a /* : */) return undefined;
    const end = raw.indexOf(0x3a, 2);
    if (end < 0) return undefined;
    const since = Number(raw.toString('latin1', 2, end));
    return Number.isFinite(since) ? { since, record: raw.subarray(end + 1) } : undefined;
  }

  private encode(key: string, value: unknown, at: number, until: number): Buffer | undefined {
    const { record, problem } = this.coordinator.settings.records.encode(
      { name: this.options.name, key, token: TOKEN, at, until },
      { kind: Kind.Value, value },
    );
    if (problem === undefined) return record;
    this.coordinator.count('unsendable');
    this.coordinator.warnOnce(
      'THREADFLIGHT_REDIS_UNSENDABLE',
      this.options.name,
      `threadflight/redis: a value of FlightCache "${this.options.name}" cannot be stored in Redis (${problem}); ` +
        'it stays in this process only.',
    );
    return undefined;
  }

  /** Another process deleted a key or cleared the cache (this process's own messages are
   * ignored: it has done so already, and may have filled the key again since). */
  private heard(message: Buffer): void {
    const text = this.coordinator.settings.records.openMessage(message);
    if (text === undefined) return; // not signed with the secret
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof parsed !== 'object' || parsed === null) return;
    const { o, k, c } = parsed as { o?: unknown; k?: unknown; c?: unknown };
    if (typeof o !== 'string' || o === binding.processToken) return;
    if (typeof k === 'string') this.options.onInvalidate(k);
    else if (c === 1 && k === undefined) this.options.onInvalidate(undefined);
  }
}
