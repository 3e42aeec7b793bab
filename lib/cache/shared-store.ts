// The store of a named cache: one native store per name (src/core/value_store.h), shared by
// every thread, seen from this thread. The native store holds each value as bytes; this thread
// keeps the copy it decoded (or the very object, if it stored it) and serves hits from that
// copy, checking it against the entry's slot — same version, still fresh — with plain reads.
import { binding, type StoreHandle } from '../binding';
import { CacheValueError, OptionsMismatchError } from '../errors';
import { protocol } from '../protocol';
import { Freshness, TICK_MS, WriteResult, type Entry, type Store, type StoreStats } from './store';
import { deserialize, serialize } from './values';

const SLOT = protocol.slot;
const INT32_PER_SLOT = SLOT.bytes / Int32Array.BYTES_PER_ELEMENT;
const FLOAT64_PER_SLOT = SLOT.bytes / Float64Array.BYTES_PER_ELEMENT;
const SLOT_SHIFT = Math.log2(SLOT.perPage);
const SLOT_MASK = SLOT.perPage - 1;
const result = new Float64Array(binding.storeResult);
const RESULT = protocol.storeResult;
/** The first buffer offered for an entry's bytes: most rows fit (Buffer.allocUnsafe takes it
 * from Node's pool); a larger entry costs a second call. */
const FETCH_GUESS = 1024;

/** The slot arena's pages, as this thread maps them (each once). */
const int32Pages: Int32Array[] = [];
const float64Pages: Float64Array[] = [];
function mapPage(page: number): void {
  const buffer = binding.slotPage(page);
  int32Pages[page] = new Int32Array(buffer);
  float64Pages[page] = new Float64Array(buffer);
}

/** This thread's copy of an entry, and where to check that it still is the entry. */
class Copy implements Entry {
  readonly version: number;
  readonly ints: Int32Array;
  readonly base: number;
  readonly floats: Float64Array;
  readonly floatBase: number;

  constructor(
    readonly value: unknown,
    slot: number,
    version: number,
  ) {
    const page = slot >>> SLOT_SHIFT;
    if (int32Pages[page] === undefined) mapPage(page);
    this.version = version;
    this.ints = int32Pages[page];
    this.base = (slot & SLOT_MASK) * INT32_PER_SLOT;
    this.floats = float64Pages[page];
    this.floatBase = (slot & SLOT_MASK) * FLOAT64_PER_SLOT;
  }

  current(): boolean {
    return this.ints[this.base + SLOT.version] === this.version;
  }
}

function openStore(name: string, maxEntries: number, maxBytes: number, maxFillMs: number): StoreHandle {
  try {
    return binding.openStore(name, maxEntries, maxBytes, maxFillMs);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_OPTIONS_MISMATCH') {
      throw new OptionsMismatchError(name, (error as Error).message);
    }
    throw error;
  }
}

export class SharedStore implements Store {
  readonly counters: Float64Array;
  freshness = Freshness.Fresh;
  private readonly handle: StoreHandle;
  /** This thread's copies, by key; a copy whose entry changed is dropped when next read, or by
   * the sweep, so the map never holds many more than the store. */
  private readonly copies = new Map<string, Copy>();
  private sweepAt = 1024;
  private readonly statsOut = new Float64Array(4 + protocol.counter.length);

  constructor(
    readonly name: string,
    limits: { maxEntries: number; maxBytes: number; maxFillMs: number },
  ) {
    this.handle = openStore(name, limits.maxEntries, limits.maxBytes, limits.maxFillMs);
    this.counters = new Float64Array(this.handle.lane);
  }

  read(key: string, now: number): Entry | undefined {
    let copy = this.copies.get(key);
    if (copy === undefined || !copy.current()) {
      copy = this.load(key);
      if (copy === undefined) return undefined;
    }
    const at = copy.floatBase;
    if (now < copy.floats[at + SLOT.freshUntilMs]) {
      this.freshness = copy.ints[copy.base + SLOT.flags] === 0 ? Freshness.Fresh : Freshness.BackedOff;
    } else if (now < copy.floats[at + SLOT.staleUntilMs]) {
      this.freshness = Freshness.Stale;
    } else {
      return undefined; // the store drops it on its next pass
    }
    copy.ints[copy.base + SLOT.touched] = (now / TICK_MS) | 0;
    return copy;
  }

  generation(): number {
    return this.handle.generation();
  }

  write(
    key: string,
    value: unknown,
    freshMs: number,
    graceMs: number,
    sinceGeneration: number,
    sinceMs: number,
  ): number {
    const bytes = serialize(value);
    if (!Buffer.isBuffer(bytes)) throw new CacheValueError(key, this.name, bytes.error);
    const written = this.handle.store(key, bytes, freshMs, graceMs, sinceGeneration, sinceMs);
    if (written === WriteResult.stored) {
      // This thread serves the very object it stored.
      this.keep(key, new Copy(value, result[RESULT.slot], result[RESULT.version]));
    } else {
      this.copies.delete(key);
    }
    return written;
  }

  backOff(key: string, entry: Entry, untilMs: number): void {
    this.handle.backOff(key, (entry as Copy).version, untilMs);
  }

  delete(key: string): boolean {
    this.copies.delete(key);
    return this.handle.erase(key);
  }

  clear(): void {
    this.copies.clear();
    this.handle.clear();
  }

  stats(): StoreStats {
    this.handle.stats(this.statsOut);
    const out = this.statsOut;
    return { entries: out[0], bytes: out[1], evictions: out[2], expirations: out[3] };
  }

  totals(): Float64Array {
    this.handle.stats(this.statsOut);
    return this.statsOut.slice(4);
  }

  /** The store's entry for the key, decoded into this thread's copy; undefined if none. */
  private load(key: string): Copy | undefined {
    const bytes = this.fetch(key);
    if (bytes === undefined) {
      this.copies.delete(key);
      return undefined;
    }
    const slot = result[RESULT.slot];
    const version = result[RESULT.version];
    const decoded = deserialize(bytes);
    if (!decoded.ok) {
      this.copies.delete(key);
      return undefined;
    }
    const copy = new Copy(decoded.value, slot, version);
    this.keep(key, copy);
    return copy;
  }

  /** The entry's bytes, in a buffer of their own: decoded values may be views into it (a
   * Buffer inside a value is), so it is never reused. */
  private fetch(key: string): Buffer | undefined {
    let into = Buffer.allocUnsafe(FETCH_GUESS);
    let size = this.handle.get(key, into);
    if (size < 0 && size !== RESULT.missing) {
      into = Buffer.allocUnsafe(-size);
      size = this.handle.get(key, into); // replaced meanwhile: it may have grown again
      while (size < 0 && size !== RESULT.missing) {
        into = Buffer.allocUnsafe(-size);
        size = this.handle.get(key, into);
      }
    }
    return size === RESULT.missing ? undefined : into.subarray(0, size);
  }

  private keep(key: string, copy: Copy): void {
    this.copies.set(key, copy);
    if (this.copies.size >= this.sweepAt) this.sweep();
  }

  /** Drops the copies of entries that changed or went (amortized: the next sweep waits for
   * the map to double). */
  private sweep(): void {
    for (const [key, copy] of this.copies) if (!copy.current()) this.copies.delete(key);
    this.sweepAt = Math.max(1024, 2 * this.copies.size);
  }
}
