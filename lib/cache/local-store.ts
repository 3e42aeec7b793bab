// The store of an unnamed cache: this thread's alone, holding the values themselves. Bounded
// like the native store: least recently used first, where a hit only stamps its entry and the
// eviction gives stamped entries a second chance (a hit must not reorder a Map).
import { CacheValueError } from '../errors';
import { protocol } from '../protocol';
import { Freshness, WriteResult, type Entry, type Store, type StoreStats } from './store';
import { measure } from './values';

class LocalEntry implements Entry {
  touched = 0;
  listed = 0;
  backedOff = false;
  constructor(
    readonly value: unknown,
    public freshUntil: number,
    readonly staleUntil: number,
    readonly bytes: number,
  ) {}
}

interface Limits {
  maxEntries: number;
  maxBytes: number;
  /** A fill older than this stores nothing (see Store.write). */
  maxFillMs: number;
}

export class LocalStore implements Store {
  readonly counters = new Float64Array(protocol.counter.length);
  freshness = Freshness.Fresh;
  private readonly entries = new Map<string, LocalEntry>();
  private uses = 0;
  private bytes = 0;
  private evictions = 0;
  private expirations = 0;
  private generationNow = 0;
  private clearedAt = 0;
  /** Deletions a running fill may have raced: key → generation, and in order, for pruning. */
  private readonly deletedAt = new Map<string, number>();
  private readonly deletions: Array<{ key: string; generation: number; atMs: number }> = [];
  private sweepAt = 1024;

  constructor(
    private readonly limits: Limits,
    private readonly now: () => number,
  ) {}

  read(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (now >= entry.staleUntil) {
      this.remove(key, entry);
      this.expirations++;
      return undefined;
    }
    entry.touched = ++this.uses;
    this.freshness =
      now < entry.freshUntil ? (entry.backedOff ? Freshness.BackedOff : Freshness.Fresh) : Freshness.Stale;
    return entry;
  }

  generation(): number {
    return this.generationNow;
  }

  write(
    key: string,
    value: unknown,
    freshMs: number,
    graceMs: number,
    sinceGeneration: number,
    sinceMs: number,
  ): number {
    const now = this.now();
    this.pruneDeletions(now);
    if (now - sinceMs > this.limits.maxFillMs || this.deletedSince(key, sinceGeneration))
      return WriteResult.invalidated;
    const bytes = this.limits.maxBytes === Infinity ? 0 : measureOrThrow(key, value);
    const previous = this.entries.get(key);
    if (previous !== undefined) this.remove(key, previous);
    if (bytes > this.limits.maxBytes) return WriteResult.tooLarge;
    const entry = new LocalEntry(value, now + freshMs, now + freshMs + graceMs, bytes);
    entry.touched = entry.listed = ++this.uses;
    this.entries.set(key, entry);
    this.bytes += bytes;
    this.evict(entry, now);
    return WriteResult.stored;
  }

  backOff(key: string, entry: Entry, untilMs: number): void {
    if (this.entries.get(key) !== entry) return;
    const local = entry as LocalEntry;
    local.freshUntil = Math.min(untilMs, local.staleUntil);
    local.backedOff = true;
  }

  delete(key: string): boolean {
    const now = this.now();
    this.pruneDeletions(now);
    const generation = ++this.generationNow;
    this.deletedAt.set(key, generation);
    this.deletions.push({ key, generation, atMs: now });
    const entry = this.entries.get(key);
    if (entry === undefined) return false;
    this.remove(key, entry);
    return true;
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
    this.clearedAt = ++this.generationNow;
    this.deletedAt.clear();
    this.deletions.length = 0;
  }

  stats(): StoreStats {
    this.dropExpired(this.now());
    return { entries: this.entries.size, bytes: this.bytes, evictions: this.evictions, expirations: this.expirations };
  }

  totals(): Float64Array {
    return this.counters.slice();
  }

  private remove(key: string, entry: LocalEntry): void {
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }

  private deletedSince(key: string, sinceGeneration: number): boolean {
    if (this.clearedAt > sinceGeneration) return true;
    const deleted = this.deletedAt.get(key);
    return deleted !== undefined && deleted > sinceGeneration;
  }

  private pruneDeletions(now: number): void {
    let drop = 0;
    while (drop < this.deletions.length && now - this.deletions[drop].atMs > this.limits.maxFillMs) {
      const { key, generation } = this.deletions[drop];
      if (this.deletedAt.get(key) === generation) this.deletedAt.delete(key);
      drop++;
    }
    if (drop > 0) this.deletions.splice(0, drop);
  }

  /** Least recently used first; an entry used since it was listed goes to the back once. */
  private evict(keep: LocalEntry, now: number): void {
    if (this.entries.size >= this.sweepAt) this.dropExpired(now);
    let chances = this.entries.size;
    while (this.entries.size > 1 && (this.entries.size > this.limits.maxEntries || this.bytes > this.limits.maxBytes)) {
      const [key, oldest] = this.entries.entries().next().value as [string, LocalEntry];
      if (oldest === keep || (chances > 0 && oldest.touched !== oldest.listed)) {
        if (oldest !== keep) chances--;
        oldest.listed = oldest.touched;
        this.entries.delete(key);
        this.entries.set(key, oldest);
        continue;
      }
      this.remove(key, oldest);
      this.evictions++;
    }
  }

  /** Entries past their grace period, which nothing may read again. */
  private dropExpired(now: number): void {
    for (const [key, entry] of this.entries) {
      if (now >= entry.staleUntil) {
        this.remove(key, entry);
        this.expirations++;
      }
    }
    this.sweepAt = Math.max(1024, 2 * this.entries.size);
  }
}

function measureOrThrow(key: string, value: unknown): number {
  const bytes = measure(value);
  if (typeof bytes === 'number') return bytes;
  throw new CacheValueError(key, undefined, bytes);
}
