// A settled flight as it travels through Redis: which flight (name, key, token), what kind of
// outcome, and its bytes; with a shared secret, an HMAC over all of it. A waiting process
// delivers a record only if it is for the flight it waits for, readable and, with a secret,
// genuine; anything else makes it run its own work.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { packError, packValue, unpackError, unpackValue, UNREADABLE } from '../wire';
import { describe } from './describe';

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
    return JSON.stringify({ v: value });
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
  /** Published instead of a large record: the record is stored under the flight's token. */
  Notice = 3,
}

const MAGIC = Buffer.from('TFR1'); // bumped when the layout changes: an older reader falls back
const HEADER = MAGIC.length + 1 + 4;
const MAC_BYTES = 32;

export interface FlightId {
  name: string;
  key: string;
  token: string;
}

/** When a record was sealed, on the server's clock (ms, as estimated by the sealing process);
 * for a cache entry, also until when its value is fresh. */
export interface Sealed {
  at: number;
  until?: number;
}

export type Outcome = { kind: Kind.Value; value: unknown } | { kind: Kind.Error; error: unknown };

export type Decoded =
  | { kind: Kind.Value | Kind.Error; outcome: unknown; until?: number }
  | { kind: Kind.Unsendable | Kind.Notice }
  | { refused: string };

export class Records {
  constructor(
    private readonly codec: Codec,
    private readonly secret: Buffer | undefined,
    private readonly maxBytes: number,
  ) {}

  /** The record of an outcome, or of Kind.Unsendable with why (codec failure, too large).
   * Never throws. */
  encode(id: FlightId & Sealed, outcome: Outcome): { record: Buffer; problem?: string } {
    let record: Buffer | undefined;
    let problem: string | undefined;
    try {
      const payload =
        outcome.kind === Kind.Value ? toBuffer(this.codec.encode(outcome.value)) : packError(outcome.error);
      if (payload === undefined) problem = 'the error cannot be read';
      else record = this.seal(id, outcome.kind, payload);
    } catch (error) {
      problem = `the codec failed: ${describe(error)}`;
    }
    if (record !== undefined && record.length > this.maxBytes) {
      problem = `its record of ${record.length} bytes is more than maxRecordBytes (${this.maxBytes})`;
      record = undefined;
    }
    return record === undefined ? { record: this.seal(id, Kind.Unsendable, Buffer.alloc(0)), problem } : { record };
  }

  /** What the channel carries instead of a large record. */
  notice(id: FlightId & Sealed): Buffer {
    return this.seal(id, Kind.Notice, Buffer.alloc(0));
  }

  /**
   * What a record says for flight `id`, or why it cannot be delivered. A record sealed before
   * `notBefore` (server ms) is refused: with a secret, an old genuine record written back into
   * Redis cannot be passed off as a new flight's. Never throws.
   */
  decode(id: FlightId, record: Buffer, notBefore: number): Decoded {
    try {
      return this.read(id, record, notBefore);
    } catch {
      return { refused: 'the record is damaged' };
    }
  }

  private read(id: FlightId, record: Buffer, notBefore: number): Decoded {
    if (!Buffer.isBuffer(record) || record.length < HEADER || !record.subarray(0, MAGIC.length).equals(MAGIC)) {
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
    const recordId = JSON.parse(body.toString('utf8', HEADER, HEADER + idLength)) as Partial<FlightId & Sealed> | null;
    if (typeof recordId !== 'object' || recordId === null) return { refused: 'the record is damaged' };
    if (recordId.name !== id.name || recordId.key !== id.key || recordId.token !== id.token) {
      return { refused: 'the record is for another flight' };
    }
    if (typeof recordId.at !== 'number' || recordId.at < notBefore) {
      return { refused: 'the record is older than its flight (replayed?)' };
    }
    if (kind === Kind.Unsendable || kind === Kind.Notice) return { kind };
    const payload = body.subarray(HEADER + idLength);
    if (kind === Kind.Error) {
      const error = unpackError(payload);
      return error === UNREADABLE ? { refused: 'the error cannot be read here' } : { kind, outcome: error };
    }
    if (kind !== Kind.Value) return { refused: 'the record is damaged' };
    try {
      return { kind, outcome: this.codec.decode(payload), until: recordId.until };
    } catch (error) {
      return { refused: `the codec cannot decode it: ${describe(error)}` };
    }
  }

  /** A message for a channel: the text, and with a secret its HMAC ("<text>\n<hex mac>"). */
  signMessage(text: string): string {
    return this.secret === undefined ? text : `${text}\n${this.mac(Buffer.from(text, 'utf8')).toString('hex')}`;
  }

  /** The text of a message from signMessage(), or undefined if it is not signed with the secret. */
  openMessage(message: Buffer): string | undefined {
    const text = message.toString('utf8');
    if (this.secret === undefined) return text;
    const at = text.lastIndexOf('\n');
    if (at < 0) return undefined;
    const body = text.slice(0, at);
    const mac = Buffer.from(text.slice(at + 1), 'hex');
    const expected = this.mac(Buffer.from(body, 'utf8'));
    return mac.length === expected.length && timingSafeEqual(mac, expected) ? body : undefined;
  }

  private seal(id: FlightId & Sealed, kind: Kind, payload: Buffer): Buffer {
    const idBytes = Buffer.from(
      JSON.stringify({ name: id.name, key: id.key, token: id.token, at: id.at, until: id.until }),
    );
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

function toBuffer(bytes: unknown): Buffer {
  if (typeof bytes === 'string') return Buffer.from(bytes, 'utf8');
  if (Buffer.isBuffer(bytes)) return bytes;
  if (bytes instanceof Uint8Array) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  throw new TypeError(`encode must return a Buffer, Uint8Array or string, returned ${typeof bytes}`);
}
