// SteadyMap: a Map whose hash table is never emptied. V8 shrinks a Map's table when its last
// entry goes and grows it again on the next insertion, so a map whose entries come and go one
// at a time (a flight per request) kept reallocating its table: about 15% of the cost of an
// unnamed miss. One hidden entry, under a symbol no caller can use, keeps the table.
const KEEP = Symbol('keep the table');

export class SteadyMap<K, V> {
  private readonly map = new Map<K | typeof KEEP, V | undefined>([[KEEP, undefined]]);

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  set(key: K, value: V): void {
    this.map.set(key, value);
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  get size(): number {
    return this.map.size - 1;
  }

  /** The values, in insertion order; entries deleted meanwhile are skipped, as with a Map. */
  values(): IterableIterator<V> {
    const values = this.map.values() as IterableIterator<V>;
    values.next(); // the hidden entry: always the first, as it is inserted first and never deleted
    return values;
  }

  clear(): void {
    this.map.clear();
    this.map.set(KEEP, undefined);
  }
}
