// What request coalescing over HTTP may share, and under which key — one policy for every
// framework integration (Express, AdonisJS). A response is shared only when it is the same for
// every client that asked the same thing; when in doubt, it is not shared and each request
// runs its own handler.

/** Request headers a response commonly varies on: part of the default key. */
export const DEFAULT_VARY: readonly string[] = ['accept', 'accept-encoding', 'accept-language'];

/** Conditional request headers: a 304 answers only the client that asked conditionally, so
 * they are always part of the key. */
const CONDITIONAL = ['if-none-match', 'if-modified-since'];

/** Hop-by-hop headers (RFC 9110 §7.6.1) and per-request ones: never replayed. */
const NOT_REPLAYED = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'set-cookie',
  'date',
  'x-request-id',
]);

export type HeaderValue = string | number | readonly string[];
export type Headers = Record<string, HeaderValue | undefined>;

/** A response as followers get it: status, the headers that may be replayed, and the body. */
export interface SharedResponse {
  status: number;
  headers: Array<[string, string | string[]]>;
  body: Buffer;
}

/**
 * Whether a request may share a flight without a key from the application: not when it says
 * who asks (credentials, a session) or asks for part of a representation.
 */
export function coalescibleByDefault(headers: Headers): boolean {
  return headers.authorization === undefined && headers.cookie === undefined && headers.range === undefined;
}

/**
 * The default key: method, path, the query's parameters in sorted order, and the values of the
 * `vary` headers and the conditional headers (each a line, so no value can fake another).
 */
export function defaultKey(
  method: string,
  path: string,
  query: string,
  headers: Headers,
  vary: readonly string[],
): string {
  const params = new URLSearchParams(query);
  params.sort();
  const lines = [method, path, params.toString()];
  for (const name of vary) lines.push(`${name}:${headerText(headers[name])}`);
  for (const name of CONDITIONAL) lines.push(`${name}:${headerText(headers[name])}`);
  return lines.join('\n');
}

function headerText(value: HeaderValue | undefined): string {
  if (value === undefined) return '';
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/** Why a response cannot be shared, or undefined if it can. */
export function unshareable(status: number, headers: Headers): string | undefined {
  if (status < 200) return `its status is ${status}`;
  const cookies = headers['set-cookie'];
  if (cookies !== undefined && !(Array.isArray(cookies) && cookies.length === 0)) return 'it sets a cookie';
  const cacheControl = headerText(headers['cache-control']).toLowerCase();
  if (/(^|[\s,])(private|no-store)([\s,=]|$)/.test(cacheControl)) return `it is Cache-Control: ${cacheControl}`;
  if (headerText(headers.vary).includes('*')) return 'it varies on everything (Vary: *)';
  return undefined;
}

/** The headers followers get: all but hop-by-hop, per-request and cookie headers. */
export function replayedHeaders(headers: Headers): Array<[string, string | string[]]> {
  const kept: Array<[string, string | string[]]> = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || NOT_REPLAYED.has(name.toLowerCase())) continue;
    kept.push([name, Array.isArray(value) ? [...(value as string[])] : String(value)]);
  }
  return kept;
}
