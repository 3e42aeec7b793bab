// A settled flight as it travels through Redis: which flight (name, key, token), what kind of
// outcome, and its bytes; with a shared secret, an HMAC over all of it. A waiting process
// delivers a record only if it is for the flight it waits for, readable and, with a secret,
// genuine; anything else makes it run its own work.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { packError, packValue, unpackError, unpackValue, UNREADABLE } from '../wire';

/** How values are turned into bytes and back. Errors always travel as their class, message,
 * stack, code and own properties (see wire.ts). */
export interface Codec {
  encode(value: unknown): Buffer | Uint8Array | string;
  decode(bytes: Buffer): unknown;
}

/** Structured clone (v8.serialize): what crosses threads crosses processes the same way. */
export const STRUCTURED: Codec = {
  encode(value) {
    const bytes = packValue(value);
    if (bytes === undefined) throw new TypeError('the value cannot be cloned');
    return bytes;
  },
  decode(bytes) {
    const value = unpackValue(bytes);
    if (value === UNREADABLE) throw new TypeError('the bytes are not a value this Node.js can read');
    return value;
  },
};

/** JSON: readable by anything, losing what JSON loses (undefined, Map, Date, ...). */
export const JSON_CODEC: Codec = {
  encode(value) {
    return JSON.stringify({ v: value }) ?? '{}';
  },
  decode(bytes) {
    return (JSON.parse(bytes.toString('utf8')) as { v: unknown }).v;
  },
};

export const enum Kind {
  Value = 0,
  Error = 1,
  /** The leader's outcome could not be encoded: each waiting process runs its own work. */
  Unsendable = 2,
}

const MAGIC = Buffer.from('TFR1'); // bumped when the layout changes: an older reader falls back
const HEADER = MAGIC.length + 1 + 4;
const MAC_BYTES = 32;

export interface FlightId {
  name: string;
  key: string;
  token: string;
}

export type Outcome = { kind: Kind.Value; value: unknown } | { kind: Kind.Error; error: unknown };

export class Records {
  constructor(
    private readonly codec: Codec,
    private readonly secret: Buffer | undefined,
    private readonly maxBytes: number,
  ) {}

  /** The record of an outcome, or of Kind.Unsendable with why (codec failure, too large). */
  encode(id: FlightId, outcome: Outcome): { record: Buffer; problem?: string } {
    let payload: Buffer | undefined;
    let problem: string | undefined;
    try {
      payload = outcome.kind === Kind.Value ? toBuffer(this.codec.encode(outcome.value)) : packError(outcome.error);
      if (payload === undefined) problem = 'the error cannot be read';
    } catch (error) {
      problem = `the codec failed: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (payload !== undefined && payload.length > this.maxBytes) {
      problem = `${payload.length} bytes is more than maxRecordBytes (${this.maxBytes})`;
      payload = undefined;
    }
    if (payload === undefined) return { record: this.seal(id, Kind.Unsendable, Buffer.alloc(0)), problem };
    return { record: this.seal(id, outcome.kind, payload) };
  }

  /** What a record says for flight `id`, or why it cannot be delivered. */
  decode(
    id: FlightId,
    record: Buffer,
  ): { kind: Kind.Value | Kind.Error; outcome: unknown } | { kind: Kind.Unsendable } | { refused: string } {
    if (record.length < HEADER || !record.subarray(0, MAGIC.length).equals(MAGIC)) {
      return { refused: 'the record has another format (another version of threadflight?)' };
    }
    let body = record;
    if (this.secret !== undefined) {
      if (record.length < HEADER + MAC_BYTES) return { refused: 'the record is not signed' };
      body = record.subarray(0, record.length - MAC_BYTES);
      const mac = record.subarray(record.length - MAC_BYTES);
      if (!timingSafeEqual(mac, this.mac(body))) return { refused: 'the record is not signed with the secret' };
    }
    const kind = body[MAGIC.length] as Kind;
    const idLength = body.readUInt32BE(MAGIC.length + 1);
    let recordId: FlightId;
    try {
      recordId = JSON.parse(body.toString('utf8', HEADER, HEADER + idLength)) as FlightId;
    } catch {
      return { refused: 'the record is damaged' };
    }
    if (recordId.name !== id.name || recordId.key !== id.key || recordId.token !== id.token) {
      return { refused: 'the record is for another flight' };
    }
    if (kind === Kind.Unsendable) return { kind };
    const payload = body.subarray(HEADER + idLength);
    if (kind === Kind.Error) {
      const error = unpackError(payload);
      return error === UNREADABLE ? { refused: 'the error cannot be read here' } : { kind, outcome: error };
    }
    if (kind !== Kind.Value) return { refused: 'the record is damaged' };
    try {
      return { kind, outcome: this.codec.decode(payload) };
    } catch (error) {
      return { refused: `the codec cannot decode it: ${error instanceof Error ? error.message : String(error)}` };
    }
  }

  private seal(id: FlightId, kind: Kind, payload: Buffer): Buffer {
    const idBytes = Buffer.from(JSON.stringify({ name: id.name, key: id.key, token: id.token }));
    const header = Buffer.alloc(HEADER);
    MAGIC.copy(header);
    header[MAGIC.length] = kind;
    header.writeUInt32BE(idBytes.length, MAGIC.length + 1);
    const body = Buffer.concat([header, idBytes, payload]);
    return this.secret === undefined ? body : Buffer.concat([body, this.mac(body)]);
  }

  private mac(body: Buffer): Buffer {
    return createHmac('sha256', this.secret as Buffer)
      .update(body)
      .digest();
  }
}

function toBuffer(bytes: Buffer | Uint8Array | string): Buffer {
  if (typeof bytes === 'string') return Buffer.from(bytes, 'utf8');
  if (Buffer.isBuffer(bytes)) return bytes;
  if (bytes instanceof Uint8Array) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  throw new TypeError(`the codec's encode must return a Buffer, Uint8Array or string, returned ${typeof bytes}`);
}
