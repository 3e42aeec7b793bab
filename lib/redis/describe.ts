// Saying what was thrown, for a warning, without running anything that could throw again.

/** A thrown value's message; never throws (Proxies, throwing getters and toString included). */
export function describe(thrown: unknown): string {
  try {
    if (thrown instanceof Error) return String(thrown.message);
  } catch {
    // a Proxy or a throwing getter: try it as a plain value
  }
  try {
    return String(thrown);
  } catch {
    return 'an unreadable value';
  }
}
