// The leader's response, recorded as it is sent: the handler writes to its own client as
// usual, and followers get a copy of exactly what it sent — status, replayable headers and the
// body's bytes — unless it cannot be shared.
import type { ServerResponse } from 'node:http';
import { replayedHeaders, unshareable, type Headers, type SharedResponse } from '../http/policy';

/** What a leader's response gives its followers: the response, or why they run their own handler. */
export type Outcome = { response: SharedResponse } | { notShared: string };

type Chunk = string | Buffer | Uint8Array;

function toBuffer(chunk: Chunk, encoding: unknown): Buffer {
  if (typeof chunk === 'string')
    return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * Records `res` until it ends, then calls `done` once with the outcome. A response streamed in
 * parts (write() before end(), flushHeaders(): server-sent events, files) is not shared: it
 * may never end, and its parts were meant for one client as they came.
 */
export function capture(res: ServerResponse, maxBytes: number, done: (outcome: Outcome) => void): void {
  const wrapped = ['write', 'end', 'writeHead', 'flushHeaders'] as const;
  // Called with the response as `this`; own properties (another wrapper's) are put back as found.
  const own = new Map(wrapped.map((name) => [name, Object.getOwnPropertyDescriptor(res, name)]));
  /* eslint-disable @typescript-eslint/unbound-method -- each is called with the response as `this` */
  const original = { write: res.write, end: res.end, writeHead: res.writeHead, flushHeaders: res.flushHeaders };
  /* eslint-enable @typescript-eslint/unbound-method */
  let notShared: string | undefined;
  let headHeaders: Headers | undefined;
  let finished = false;

  const restore = (): void => {
    for (const [name, descriptor] of own) {
      if (descriptor === undefined) Reflect.deleteProperty(res, name);
      else Object.defineProperty(res, name, descriptor);
    }
  };
  const finish = (outcome: Outcome): void => {
    if (finished) return;
    finished = true;
    restore();
    done(outcome);
  };

  res.writeHead = function writeHead(this: ServerResponse, ...args: unknown[]) {
    const headers = args.find((arg) => typeof arg === 'object' && arg !== null && !Array.isArray(arg));
    if (headers !== undefined) headHeaders = lowerCased(headers as Headers);
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
    const [chunk, encoding] = args;
    let body = Buffer.alloc(0);
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') {
      body = toBuffer(chunk as Chunk, typeof encoding === 'function' ? undefined : encoding);
    }
    const result = original.end.apply(this, args as Parameters<ServerResponse['end']>);
    // Read after ending: headers are final, and a throwing getter cannot stop the response.
    try {
      finish(outcomeOf(res, headHeaders, body, maxBytes, notShared));
    } catch (error) {
      finish({ notShared: `it could not be read (${String(error)})` });
    }
    return result;
  } as ServerResponse['end'];
  // A response that closes without end() (the connection dropped mid-stream) shares nothing.
  res.once('close', () => finish({ notShared: notShared ?? 'the connection closed before it ended' }));
}

function lowerCased(headers: Headers): Headers {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

function outcomeOf(
  res: ServerResponse,
  headHeaders: Headers | undefined,
  body: Buffer,
  maxBytes: number,
  notShared: string | undefined,
): Outcome {
  if (notShared !== undefined) return { notShared };
  const headers: Headers = { ...(res.getHeaders() as Headers), ...headHeaders };
  const why = unshareable(res.statusCode, headers);
  if (why !== undefined) return { notShared: why };
  if (body.length > maxBytes) return { notShared: `its body of ${body.length} bytes is over maxBytes (${maxBytes})` };
  // A copy: the handler may reuse its buffer after end().
  return { response: { status: res.statusCode, headers: replayedHeaders(headers), body: Buffer.from(body) } };
}

/** Sends a shared response to a follower's client. */
export function replay(res: ServerResponse, response: SharedResponse): void {
  res.statusCode = response.status;
  for (const [name, value] of response.headers) res.setHeader(name, value);
  res.end(response.body);
}
