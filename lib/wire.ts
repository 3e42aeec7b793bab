// How outcomes cross threads: values with structured-clone semantics (v8.serialize), errors
// as their name, message, stack, code and other own properties.
import * as v8 from 'node:v8';

interface WireError {
  kind: 'error';
  constructorName: string;
  name: string;
  message: string;
  stack: string | undefined;
  props: Record<string, unknown>;
}

interface WireThrown {
  kind: 'thrown';
  value: unknown;
}

const BUILTIN_ERRORS: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/** Serializes a value for other threads; undefined if it cannot be cloned. */
export function packValue(value: unknown): Buffer | undefined {
  try {
    return v8.serialize(value);
  } catch {
    return undefined;
  }
}

export function unpackValue(bytes: Buffer): unknown {
  return v8.deserialize(bytes);
}

function ownProps(error: object, cloneableOnly: boolean): Record<string, unknown> {
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(error)) {
    const value = (error as Record<string, unknown>)[key];
    if (cloneableOnly && packValue(value) === undefined) continue;
    props[key] = value;
  }
  return props;
}

/** Serializes a thrown value for other threads; undefined if not even its text can be sent. */
export function packError(thrown: unknown): Buffer | undefined {
  if (!(thrown instanceof Error)) return packValue({ kind: 'thrown', value: thrown } satisfies WireThrown);
  const wire: WireError = {
    kind: 'error',
    constructorName: thrown.constructor?.name ?? 'Error',
    name: thrown.name,
    message: thrown.message,
    stack: thrown.stack,
    props: ownProps(thrown, false),
  };
  return packValue(wire) ?? packValue({ ...wire, props: ownProps(thrown, true) });
}

/** Rebuilds a thrown value: an Error of the same built-in class, name, message, stack and props. */
export function unpackError(bytes: Buffer): unknown {
  const wire = v8.deserialize(bytes) as WireError | WireThrown;
  if (wire.kind === 'thrown') return wire.value;
  const Constructor = BUILTIN_ERRORS[wire.constructorName] ?? Error;
  const error = new Constructor(wire.message);
  if (error.name !== wire.name) {
    Object.defineProperty(error, 'name', { value: wire.name, writable: true, configurable: true, enumerable: false });
  }
  if (wire.stack !== undefined) error.stack = wire.stack;
  Object.assign(error, wire.props);
  return error;
}
