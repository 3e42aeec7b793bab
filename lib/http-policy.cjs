// What request coalescing over HTTP may share, and under which key — one policy for every
// framework integration (threadflight/express in CommonJS, threadflight/adonis in ES modules,
// hence plain JavaScript, shipped in lib/ as it is; types in http-policy.d.cts). A response is
// shared only when it is the same for every client that asked the same thing; when in doubt,
// it is not shared and each request runs its own handler.
'use strict';

/** Request headers a response commonly varies on: part of the default key. `origin`: CORS
 * answers each origin with its own Access-Control-Allow-Origin. */
const DEFAULT_VARY = Object.freeze(['accept', 'accept-encoding', 'accept-language', 'origin']);

/** Always part of the default key: conditional headers (a 304 answers only the client that
 * asked conditionally) and the headers naming the host asked for (a page may be built from
 * it: tenants, absolute links). */
const ALWAYS_KEYED = [
  'if-none-match',
  'if-modified-since',
  'host',
  'forwarded',
  'x-forwarded-host',
  'x-forwarded-proto',
];

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

function headerText(value) {
  if (value === undefined) return '';
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/**
 * Whether a request may share a flight without a key from the application: not when it says
 * who asks (credentials, a session) or asks for part of a representation.
 */
function coalescibleByDefault(headers) {
  return headers.authorization === undefined && headers.cookie === undefined && headers.range === undefined;
}

/**
 * The default key of a request for `url` (its raw path and query, as sent: no decoding, no
 * dot-segment resolution, so requests differ here at least wherever a router could tell them
 * apart): method, path, the query's raw parameters in sorted order, and the values of the
 * `vary` headers and of the always-keyed ones — each on a line of its own. JSON-quoted values
 * keep a header's value from faking another line.
 */
function defaultKey(method, url, headers, vary) {
  const at = url.indexOf('?');
  const path = at < 0 ? url : url.slice(0, at);
  const query = at < 0 ? '' : url.slice(at + 1);
  const params = query === '' ? [] : query.split('&').sort();
  const lines = [method, path, params.join('&')];
  for (const name of vary) lines.push(`${name}:${JSON.stringify(headerText(headers[name]))}`);
  for (const name of ALWAYS_KEYED) lines.push(`${name}:${JSON.stringify(headerText(headers[name]))}`);
  return lines.join('\n');
}

/** The request headers the default key covers: a response that varies on any other is not shared. */
function keyedHeaders(vary) {
  return new Set([...vary, ...ALWAYS_KEYED]);
}

/** Why a response cannot be shared, or undefined if it can. `keyed`: the request headers the
 * key covers (undefined: the application's own key, trusted to cover what the response varies on). */
function unshareable(status, headers, keyed) {
  if (status < 200) return `its status is ${status}`;
  const cookies = headers['set-cookie'];
  if (cookies !== undefined && !(Array.isArray(cookies) && cookies.length === 0)) return 'it sets a cookie';
  const cacheControl = headerText(headers['cache-control']).toLowerCase();
  if (/(^|[\s,])(private|no-store)([\s,=]|$)/.test(cacheControl)) return `it is Cache-Control: ${cacheControl}`;
  const vary = headerText(headers.vary)
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  if (vary.includes('*')) return 'it varies on everything (Vary: *)';
  const unkeyed = keyed === undefined ? undefined : vary.find((name) => !keyed.has(name));
  if (unkeyed !== undefined) return `it varies on ${unkeyed}, which the key does not include`;
  return undefined;
}

/** The headers followers get: all but hop-by-hop, per-request and cookie headers, and those
 * `before` shows were already there, with that value, when the handler started (set by
 * middleware that runs for each request, followers' included). */
function replayedHeaders(headers, before = {}) {
  const kept = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || NOT_REPLAYED.has(name.toLowerCase())) continue;
    if (before[name] !== undefined && headerText(before[name]) === headerText(value)) continue;
    kept.push([name, Array.isArray(value) ? [...value].map(String) : String(value)]);
  }
  return kept;
}

module.exports = { DEFAULT_VARY, coalescibleByDefault, defaultKey, keyedHeaders, unshareable, replayedHeaders };
