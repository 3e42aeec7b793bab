// How outcomes cross threads: values with structured-clone semantics (v8.serialize), thrown
// values as their class, name, message, stack, code, cause and other own properties.
//
// Whatever the work returned or threw may fight back: getters that throw, Proxies (revoked or
// not), cycles, values v8 cannot clone. Nothing here lets an exception escape: a value that
// cannot be packed is `undefined` (waiting threads run their own work), and bytes that cannot
// be unpacked are UNREADABLE (this thread runs its own work).
import * as v8 from 'node:v8';
import { types } from 'node:util';
import {
  CacheValueError,
  FlightCapacityError,
  FlightTimeoutError,
  OptionsMismatchError,
  TooManySubscribersError,
} from './errors';

/** What unpacking returns when the bytes cannot be turned back into a value. */
export const UNREADABLE: unique symbol = Symbol('unreadable');

interface PackedError {
  kind: 'error';
  constructorName: string;
  name: string | undefined;
  message: string;
  stack: string | undefined;
  props: Record<string, unknown>;
  cause?: Packed;
  errors?: Packed[];
}

interface PackedThrown {
  kind: 'thrown';
  value: unknown;
}

type Packed = PackedError | PackedThrown;

/** By constructor name (a Map: a class may be named "toString" or "__proto__"). */
const BUILTIN_ERRORS = new Map<string, ErrorConstructor>([
  ['Error', Error],
  ['TypeError', TypeError],
  ['RangeError', RangeError],
  ['SyntaxError', SyntaxError],
  ['ReferenceError', ReferenceError],
  ['EvalError', EvalError],
  ['URIError', URIError],
]);

/** threadflight's own error classes, by name, with the code that confirms one. */
const LIBRARY_ERRORS = new Map<string, { error: abstract new (...args: never[]) => Error; code: string }>([
  ['TooManySubscribersError', { error: TooManySubscribersError, code: 'ERR_TOO_MANY_SUBSCRIBERS' }],
  ['FlightTimeoutError', { error: FlightTimeoutError, code: 'ERR_FLIGHT_TIMEOUT' }],
  ['FlightCapacityError', { error: FlightCapacityError, code: 'ERR_FLIGHT_CAPACITY' }],
  ['OptionsMismatchError', { error: OptionsMismatchError, code: 'ERR_OPTIONS_MISMATCH' }],
  ['CacheValueError', { error: CacheValueError, code: 'ERR_CACHE_VALUE' }],
]);

/** How deep a chain of causes (or aggregated errors) is followed. */
const MAX_DEPTH = 8;

/** Serializes a value for other threads; undefined if it cannot be cloned. */
export function packValue(value: unknown): Buffer | undefined {
  try {
    return v8.serialize(value);
  } catch {
    return undefined;
  }
}

export function unpackValue(bytes: Buffer): unknown {
  try {
    return v8.deserialize(bytes);
  } catch {
    return UNREADABLE;
  }
}

/** Serializes a thrown value for other threads; undefined if not even its text can be read. */
export function packError(thrown: unknown): Buffer | undefined {
  let packed: Packed | undefined;
  try {
    packed = pack(thrown, 0, new Set());
  } catch {
    return undefined;
  }
  return packed === undefined ? undefined : packValue(packed);
}

/** Rebuilds a thrown value: an Error of the same built-in class, with its name, message,
 * stack, cause and own properties; or UNREADABLE. */
export function unpackError(bytes: Buffer): unknown {
  const packed = unpackValue(bytes);
  if (packed === UNREADABLE) return UNREADABLE;
  try {
    return rebuild(packed as Packed);
  } catch {
    return UNREADABLE;
  }
}

/** A short description of a value for a warning, which never runs the value's own code. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (types.isProxy(value)) return 'a Proxy';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

function pack(thrown: unknown, depth: number, seen: Set<object>): Packed | undefined {
  // isNativeError runs no user code (instanceof would run a Proxy's getPrototypeOf trap).
  if (!types.isNativeError(thrown)) {
    const packed: PackedThrown = { kind: 'thrown', value: thrown };
    return packValue(packed) === undefined ? undefined : packed;
  }
  const error = thrown;
  seen.add(error);
  const packed: PackedError = {
    kind: 'error',
    constructorName: readString(() => error.constructor?.name) ?? 'Error',
    name: readString(() => error.name),
    message: readString(() => error.message) ?? '',
    stack: readString(() => error.stack),
    props: ownProps(error),
  };
  if (depth < MAX_DEPTH) {
    const cause = readOwn(error, 'cause');
    if (cause.present && !(typeof cause.value === 'object' && seen.has(cause.value as object))) {
      packed.cause = pack(cause.value, depth + 1, seen);
    }
    const errors = readOwn(error, 'errors');
    if (errors.present && Array.isArray(errors.value)) {
      packed.errors = errors.value.slice(0, 100).flatMap((each) => pack(each, depth + 1, seen) ?? []);
    }
  }
  if (packValue(packed) !== undefined) return packed;
  // Some own property cannot be cloned: keep the ones that can.
  for (const key of Object.keys(packed.props)) {
    if (packValue(packed.props[key]) === undefined) delete packed.props[key];
  }
  return packValue(packed) === undefined ? undefined : packed;
}

function rebuild(packed: Packed): unknown {
  if (packed.kind === 'thrown') return packed.value;
  const error = construct(packed);
  if (packed.name !== undefined && error.name !== packed.name) {
    Object.defineProperty(error, 'name', { value: packed.name, writable: true, configurable: true, enumerable: false });
  }
  if (packed.stack !== undefined) {
    Object.defineProperty(error, 'stack', {
      value: packed.stack,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
  if (packed.cause !== undefined) {
    Object.defineProperty(error, 'cause', {
      value: rebuild(packed.cause),
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
  // Own data properties, defined (not assigned): a key such as "__proto__" stays a property.
  for (const key of Object.keys(packed.props)) {
    Object.defineProperty(error, key, {
      value: packed.props[key],
      writable: true,
      configurable: true,
      enumerable: true,
    });
  }
  return error;
}

function construct(packed: PackedError): Error {
  if (packed.errors !== undefined) return new AggregateError(packed.errors.map(rebuild), packed.message);
  if (packed.constructorName === 'DOMException') return new DOMException(packed.message, packed.name);
  const own = LIBRARY_ERRORS.get(packed.constructorName);
  if (own !== undefined && packed.props.code === own.code) {
    // One of threadflight's own (a coordinator's timeout, a nested instance's refusal): its
    // class again, its fields restored below as the own properties they were.
    return Reflect.construct(Error, [packed.message], own.error) as Error;
  }
  return new (BUILTIN_ERRORS.get(packed.constructorName) ?? Error)(packed.message);
}

/** Reads a property that should be a string; undefined if it cannot be read as one. A
 * primitive is converted; an object is not (its toString is the value's own code). */
function readString(read: () => unknown): string | undefined {
  try {
    const value = read();
    if (value === undefined || typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
    return undefined;
  } catch {
    return undefined;
  }
}

function readOwn(object: object, key: string): { present: boolean; value?: unknown } {
  try {
    if (!Object.prototype.hasOwnProperty.call(object, key)) return { present: false };
    return { present: true, value: (object as Record<string, unknown>)[key] };
  } catch {
    return { present: false };
  }
}

/** The enumerable own properties that can be read, in a prototype-less record. */
function ownProps(error: Error): Record<string, unknown> {
  const props = Object.create(null) as Record<string, unknown>;
  let keys: string[];
  try {
    keys = Object.keys(error);
  } catch {
    return props;
  }
  for (const key of keys) {
    const read = readOwn(error, key);
    if (read.present) props[key] = read.value;
  }
  return props;
}
