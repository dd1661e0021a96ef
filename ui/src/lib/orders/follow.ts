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
  /** Not near its old index: where the growth of the result puts it (rows that arrived
   * above it: a first backfill's pages of newer orders land at the top of the newest-first
   * list), whose rows are not loaded for the current result yet. */
  | { kind: "moved"; index: number }
  /** Not found where it can be looked for: it left the result, or its rows are not
   * refreshed yet. */
  | { kind: "missing" };

/** How the result is read for [`relocate`]. */
export type RelocateRows = {
  keyAt: (index: number) => string | undefined;
  /** The row is loaded for the current result (not a stale one shown meanwhile). */
  isFresh: (index: number) => boolean;
  /** The result's size now. */
  total: number;
  /** New rows land above the older ones (newest first, the default sort): a result grown
   * by n rows moved every older order n rows down. */
  growsAbove: boolean;
};

/**
 * Finds `key`, last seen at `index` when the result held `total` rows: near its old index
 * first (a few rows arrived or left), then, in a result that grows above, near the old
 * index moved by the growth (more rows arrived above it than `span`).
 */
export function relocate(rows: RelocateRows, anchor: { index: number; key: string; total: number }, span: number): Relocation {
  const near = findNearby(rows.keyAt, anchor.index, anchor.key, span);
  if (near !== null) return { kind: "found", index: near };
  const growth = rows.total - anchor.total;
  if (!rows.growsAbove || growth <= 0) return { kind: "missing" };
  const moved = Math.min(anchor.index + growth, rows.total - 1);
  const there = findNearby(rows.keyAt, moved, anchor.key, span);
  if (there !== null) return { kind: "found", index: there };
  // Loaded for this result and not there: it left (a filter), not moved.
  return rows.isFresh(moved) ? { kind: "missing" } : { kind: "moved", index: moved };
}
