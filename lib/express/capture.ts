// The leader's response, recorded as its handler sends it: the handler writes to its own client
// as usual, and followers get a copy of what the handler produced — status, the headers it set,
// the body's bytes — which then goes through their own middleware (compression, say) as theirs.
import type { ServerResponse } from 'node:http';
import { replayedHeaders, unshareable, type Headers, type SharedResponse } from '../../lib/http-policy.cjs';

/** What a leader's response gives its followers: the response, or why they run their own handler. */
export type Outcome = { response: SharedResponse } | { notShared: string };

type Chunk = string | Buffer | Uint8Array;

function toBuffer(chunk: Chunk, encoding: unknown): Buffer {
  if (typeof chunk === 'string') {
    return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  }
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** Headers given to writeHead: an object, [[name, value], …] or the flat [name, value, …]. */
function headersOf(given: unknown): Headers | undefined {
  if (typeof given !== 'object' || given === null) return undefined;
  const headers: Headers = {};
  const add = (name: unknown, value: unknown): void => {
    const key = String(name).toLowerCase();
    const previous = headers[key];
    const text = Array.isArray(value) ? value.map(String) : String(value);
    headers[key] = previous === undefined ? text : [...[previous].flat().map(String), ...[text].flat()];
  };
  if (!Array.isArray(given)) {
    for (const [name, value] of Object.entries(given)) if (value !== undefined) add(name, value);
  } else if (given.every((entry) => Array.isArray(entry))) {
    for (const [name, value] of given as unknown[][]) add(name, value);
  } else {
    for (let i = 0; i + 1 < given.length; i += 2) add(given[i], given[i + 1]);
  }
  return headers;
}

export interface CaptureOptions {
  maxBytes: number;
  /** The request headers the key covers (undefined: the application's key). */
  keyed: ReadonlySet<string> | undefined;
}

/**
 * Records `res` until its handler ends it, then calls `done` once with the outcome. What
 * middleware that ran before (for this request only) set on the response is not part of it:
 * followers have their own. A response streamed in parts (write() before end(),
 * flushHeaders(): server-sent events, files) is not shared: its parts were meant for one
 * client as they came. A response whose client is gone is still recorded when it ends.
 */
export function capture(res: ServerResponse, options: CaptureOptions, done: (outcome: Outcome) => void): void {
  const wrapped = ['write', 'end', 'writeHead', 'flushHeaders'] as const;
  // Put back as found: own properties (another library's wrappers) as they were.
  const own = new Map(wrapped.map((name) => [name, Object.getOwnPropertyDescriptor(res, name)]));
  /* eslint-disable @typescript-eslint/unbound-method -- each is called with the response as `this` */
  const original = { write: res.write, end: res.end, writeHead: res.writeHead, flushHeaders: res.flushHeaders };
  /* eslint-enable @typescript-eslint/unbound-method */
  const before = { ...(res.getHeaders() as Headers) };
  let notShared: string | undefined;
  let head: { status: number; message: string | undefined; headers: Headers | undefined } | undefined;
  let finished = false;

  const finish = (outcome: Outcome): void => {
    if (finished) return;
    finished = true;
    for (const [name, descriptor] of own) {
      if (descriptor === undefined) Reflect.deleteProperty(res, name);
      else Object.defineProperty(res, name, descriptor);
    }
    done(outcome);
  };

  res.writeHead = function writeHead(this: ServerResponse, ...args: unknown[]) {
    // writeHead(status, [message], [headers]): Node calls it too, when end() writes the head.
    if (head === undefined) {
      const message = typeof args[1] === 'string' ? args[1] : undefined;
      head = { status: Number(args[0]), message, headers: headersOf(message === undefined ? args[1] : args[2]) };
    }
    return original.writeHead.apply(this, args as Parameters<ServerResponse['writeHead']>);
  };
  res.flushHeaders = function flushHeaders(this: ServerResponse) {
    notShared ??= 'it was flushed early (streamed)';
    original.flushHeaders.call(this);
  };
  res.write = function write(this: ServerResponse, ...args: unknown[]) {
    notShared ??= 'it was streamed in parts';
    return original.write.apply(this, args as Parameters<ServerResponse['write']>);
  } as ServerResponse['write'];
  res.end = function end(this: ServerResponse, ...args: unknown[]) {
    // Read before ending: what the handler produced, not what middleware wrapping end() (a
    // compressor) turns it into on the way out — followers' own middleware does that for them.
    let outcome: Outcome;
    try {
      outcome = notShared !== undefined ? { notShared } : outcomeOf(this, args, head, before, options);
    } catch (error) {
      outcome = { notShared: `it could not be read (${String(error)})` };
    }
    const result = original.end.apply(this, args as Parameters<ServerResponse['end']>);
    finish(outcome);
    return result;
  } as ServerResponse['end'];
}

function outcomeOf(
  res: ServerResponse,
  args: unknown[],
  head: { status: number; message: string | undefined; headers: Headers | undefined } | undefined,
  before: Headers,
  options: CaptureOptions,
): Outcome {
  const [chunk, encoding] = args;
  let body = Buffer.alloc(0);
  if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') {
    body = toBuffer(chunk as Chunk, typeof encoding === 'function' ? undefined : encoding);
  }
  const status = head?.status ?? res.statusCode;
  const headers: Headers = { ...(res.getHeaders() as Headers), ...head?.headers };
  const why = unshareable(status, headers, options.keyed);
  if (why !== undefined) return { notShared: why };
  if (body.length > options.maxBytes) {
    return { notShared: `its body of ${body.length} bytes is over maxBytes (${options.maxBytes})` };
  }
  // A copy: the handler may reuse its buffer after end().
  const response: SharedResponse = { status, headers: replayedHeaders(headers, before), body: Buffer.from(body) };
  const message = head?.message ?? res.statusMessage;
  if (message !== undefined && message !== '') response.statusMessage = message;
  return { response };
}

/** Sends a shared response to a follower's client (through whatever wraps its response). */
export function replay(res: ServerResponse, response: SharedResponse): void {
  res.statusCode = response.status;
  if (response.statusMessage !== undefined) res.statusMessage = response.statusMessage;
  for (const [name, value] of response.headers) res.setHeader(name, value);
  res.end(response.body);
}
