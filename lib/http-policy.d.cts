// Types of http-policy.cjs, for lib/express and lib/adonis.
export type HeaderValue = string | number | readonly string[];
export type Headers = Record<string, HeaderValue | undefined>;

/** A response as followers get it: status, the headers that may be replayed, and the body. */
export interface SharedResponse {
  status: number;
  statusMessage?: string;
  headers: Array<[string, string | string[]]>;
  body: Buffer;
}

export const DEFAULT_VARY: readonly string[];
export function coalescibleByDefault(headers: Headers): boolean;
export function defaultKey(method: string, url: string, headers: Headers, vary: readonly string[]): string;
export function keyedHeaders(vary: readonly string[]): ReadonlySet<string>;
export function unshareable(status: number, headers: Headers, keyed?: ReadonlySet<string>): string | undefined;
export function replayedHeaders(headers: Headers, before?: Headers): Array<[string, string | string[]]>;
