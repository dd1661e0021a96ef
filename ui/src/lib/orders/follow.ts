// Finding a highlighted order again after a live refresh moved it.

/**
 * The index nearest to `from` (within `span` rows either way) whose order is `key`, or null
 * when it is not there (it left the result, or its rows are not loaded).
 */
export function findNearby(keyAt: (index: number) => string | undefined, from: number, key: string, span: number): number | null {
  if (keyAt(from) === key) return from;
  for (let d = 1; d <= span; d++) {
    for (const j of [from + d, from - d]) {
      if (j >= 0 && keyAt(j) === key) return j;
    }
  }
  return null;
}

/** Where an order kept at the top of the view is after a refresh. */
export type Relocation =
  /** Loaded, at this index. */
  | { kind: "found"; index: number }
  /** Not near its old index: where the change in the result's size puts it (rows that
   * arrived above it: a first backfill's pages of newer orders land at the top of the
   * newest-first list). Its rows may not be loaded yet. */
  | { kind: "moved"; index: number }
  /** Not found, and the result's size gives no hint: it left the result, or its rows are not
   * refreshed yet. */
  | { kind: "missing" };

/**
 * Finds `key`, last seen at `index` when the result held `totalThen` rows, in the result as it
 * is now (`totalNow` rows): near its old index first (a few rows arrived or left), then near
 * the old index moved by the change in size (more rows arrived above it than `span`).
 */
export function relocate(
  keyAt: (index: number) => string | undefined,
  anchor: { index: number; key: string; total: number },
  totalNow: number,
  span: number,
): Relocation {
  const near = findNearby(keyAt, anchor.index, anchor.key, span);
  if (near !== null) return { kind: "found", index: near };
  const shift = totalNow - anchor.total;
  if (shift === 0 || totalNow <= 0) return { kind: "missing" };
  const moved = Math.min(Math.max(anchor.index + shift, 0), totalNow - 1);
  const there = findNearby(keyAt, moved, anchor.key, span);
  return there !== null ? { kind: "found", index: there } : { kind: "moved", index: moved };
}
