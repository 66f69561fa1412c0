/**
 * Give the event loop a turn. Parsing, hop enumeration, percolation analyses and SQLite (better-sqlite3 is
 * synchronous) never yield by themselves: long loops call this per item so a server running them keeps
 * answering its other requests.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
