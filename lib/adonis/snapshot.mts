// The leader's response, taken right after next() returns (AdonisJS writes nothing until the
// whole pipeline has returned) and replayed to the followers. A snapshot is plain data (numbers,
// strings, arrays, a Uint8Array), so it crosses worker_threads and processes as it is.
import { serialize } from 'node:v8';
import type { HttpContext } from '@adonisjs/core/http';
import { replayedHeaders, unshareable, type Headers } from '../../lib/http-policy.cjs';

export interface Snapshot {
  status: number;
  headers: Record<string, string | string[]>;
  /** The lazy body as AdonisJS would write it ([body, generateEtag, jsonpCallback]); absent when none was set. */
  content?: [body: string | Uint8Array | null | undefined, generateEtag: boolean, jsonpCallback?: string];
}

/** What followers get: the snapshot, or word that the response is not theirs to share. */
export type Outcome = { shared: true; snapshot: Snapshot } | { shared: false; reason: string };

/** Why this response must not go to other clients, or undefined if it may (the same rules as
 * every integration's: lib/http-policy.cjs). `keyed`: the request headers the key covers. */
function refusal(response: HttpContext['response'], keyed: ReadonlySet<string> | undefined): string | undefined {
  if (response.hasStream || response.hasFileToStream) return 'a stream or file body';
  return unshareable(response.getStatus(), response.getHeaders(), keyed);
}

/**
 * The body as the bytes AdonisJS would write, so that leader and followers send the same ones:
 * an object becomes its JSON (and says so in content-type), a date its ISO string, a number,
 * boolean or bigint its text. Undefined when it cannot be (JSON.stringify throws): the leader then
 * keeps its own body and nothing is shared.
 */
function bodyBytes(response: HttpContext['response']): Snapshot['content'] | undefined {
  const content = response.content;
  if (content === undefined) return undefined;
  const [body, generateEtag, jsonpCallback] = content as [unknown, boolean, string | undefined];
  let bytes: string | Uint8Array | null | undefined;
  if (body === null || body === undefined || typeof body === 'string' || body instanceof Uint8Array) bytes = body;
  else if (body instanceof Date) bytes = body.toISOString();
  else if (body instanceof RegExp) bytes = body.toString();
  else if (typeof body === 'number' || typeof body === 'boolean' || typeof body === 'bigint') bytes = String(body);
  else if (typeof body === 'object') {
    bytes = JSON.stringify(body);
    // A jsonp body gets its own content-type from AdonisJS.
    if (!jsonpCallback) response.safeHeader('content-type', 'application/json; charset=utf-8');
  } else return undefined;
  return jsonpCallback === undefined ? [bytes, generateEtag] : [bytes, generateEtag, jsonpCallback];
}

function sharedHeaders(response: HttpContext['response']): Record<string, string | string[]> {
  return Object.fromEntries(replayedHeaders(response.getHeaders() as Headers));
}

/**
 * Takes the leader's response (after next()) as a snapshot for its followers, or says why not.
 * A shared body is also set back on the leader's response as the bytes the followers get.
 */
export function takeSnapshot(
  response: HttpContext['response'],
  maxBytes: number,
  keyed: ReadonlySet<string> | undefined,
): Outcome {
  const refused = refusal(response, keyed);
  if (refused !== undefined) return { shared: false, reason: refused };
  let content: Snapshot['content'];
  if (response.hasContent) {
    try {
      content = bodyBytes(response);
    } catch {
      content = undefined;
    }
    if (content === undefined) return { shared: false, reason: 'a body that is not JSON' };
  }
  const snapshot: Snapshot = { status: response.getStatus(), headers: sharedHeaders(response) };
  if (content !== undefined) snapshot.content = content;
  if (serialize(snapshot).byteLength > maxBytes) return { shared: false, reason: 'larger than maxBytes' };
  if (content !== undefined) setBody(response, content);
  return { shared: true, snapshot };
}

/** Replays a snapshot on a follower's response; AdonisJS writes it when the pipeline returns. */
export function replay(response: HttpContext['response'], snapshot: Snapshot): void {
  response.status(snapshot.status);
  for (const [name, value] of Object.entries(snapshot.headers)) response.header(name, value);
  if (snapshot.content !== undefined) setBody(response, snapshot.content);
}

function setBody(
  response: HttpContext['response'],
  [body, generateEtag, jsonpCallback]: NonNullable<Snapshot['content']>,
): void {
  if (jsonpCallback !== undefined) response.jsonp(body, jsonpCallback, generateEtag);
  else response.send(body, generateEtag);
}
