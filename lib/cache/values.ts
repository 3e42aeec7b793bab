// Values as a named cache stores them: v8.serialize bytes (structured clone), which every
// thread decodes into its own copy. What cannot be cloned is reported, never thrown past here.
import * as v8 from 'node:v8';

/** The value's bytes, or what serializing it threw (functions, symbols, hostile Proxies…). */
export function serialize(value: unknown): Buffer | { error: unknown } {
  try {
    return v8.serialize(value);
  } catch (error) {
    return { error };
  }
}

/** The value's size in bytes, as serialized, or what serializing it threw. */
export function measure(value: unknown): number | { error: unknown } {
  const bytes = serialize(value);
  return Buffer.isBuffer(bytes) ? bytes.length : bytes;
}

/** The value, or `undefined` with ok false if the bytes cannot be decoded here. */
export function deserialize(bytes: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: v8.deserialize(bytes) };
  } catch {
    return { ok: false };
  }
}
