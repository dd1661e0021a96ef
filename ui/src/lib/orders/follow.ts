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
