// Pure windowing math for the virtualized orders table. No DOM, no Svelte: everything here is
// a function of numbers so it can be unit-tested.
//
// Coordinates: "real" pixels are what the scroll container reports (scrollTop). "Virtual"
// pixels are index × rowHeight over the whole result. They are equal until the result is taller
// than MAX_SCROLL_HEIGHT (browsers cap element heights, WebKit at about 33.5 M px, Firefox at
// about 17.9 M px); above that the real scroll range is compressed and mapped linearly onto the
// virtual one, so a million 30 px rows still scroll from first to last.

/** Tallest spacer we ever ask the browser to lay out, in px. */
export const MAX_SCROLL_HEIGHT = 15_000_000;

/** The scroll state of the row viewport (the part under the sticky header). */
export type ScrollState = {
  scrollTop: number;
  viewportHeight: number;
  rowHeight: number;
  total: number;
  maxScrollHeight?: number;
};

/** Half-open range of row indices [start, end). */
export type RowRange = { start: number; end: number };

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}

/** Height of the spacer element that gives the scroll container its scroll range. */
export function spacerHeight(total: number, rowHeight: number, maxScrollHeight = MAX_SCROLL_HEIGHT): number {
  return Math.min(Math.max(total, 0) * rowHeight, maxScrollHeight);
}

function ranges(s: ScrollState): { realMax: number; virtualMax: number } {
  const max = s.maxScrollHeight ?? MAX_SCROLL_HEIGHT;
  const realMax = Math.max(0, spacerHeight(s.total, s.rowHeight, max) - s.viewportHeight);
  const virtualMax = Math.max(0, Math.max(s.total, 0) * s.rowHeight - s.viewportHeight);
  return { realMax, virtualMax };
}

/** Virtual scroll offset (index space × rowHeight) for the real scrollTop. */
export function virtualScrollTop(s: ScrollState): number {
  const { realMax, virtualMax } = ranges(s);
  if (realMax <= 0) return 0;
  const top = clamp(s.scrollTop, 0, realMax);
  if (realMax === virtualMax) return top;
  return (top / realMax) * virtualMax;
}

/** Real scrollTop that shows the given virtual offset (inverse of virtualScrollTop). */
export function realScrollTop(virtualTop: number, s: Omit<ScrollState, "scrollTop">): number {
  const { realMax, virtualMax } = ranges({ ...s, scrollTop: 0 });
  if (realMax <= 0 || virtualMax <= 0) return 0;
  const top = clamp(virtualTop, 0, virtualMax);
  if (realMax === virtualMax) return top;
  return (top / virtualMax) * realMax;
}

/** Rows that intersect the viewport, widened by `overscan` rows on each side. */
export function visibleRange(s: ScrollState, overscan: number): RowRange {
  if (s.total <= 0 || s.rowHeight <= 0) return { start: 0, end: 0 };
  const top = virtualScrollTop(s);
  const first = Math.floor(top / s.rowHeight);
  const last = Math.ceil((top + Math.max(s.viewportHeight, 0)) / s.rowHeight);
  return {
    start: clamp(first - overscan, 0, s.total),
    end: clamp(last + overscan, 0, s.total),
  };
}

/** Offset of a row's top edge inside the spacer, in real px. */
export function rowTop(index: number, s: ScrollState): number {
  const top = virtualScrollTop(s);
  const real = clamp(s.scrollTop, 0, ranges(s).realMax);
  return real + index * s.rowHeight - top;
}

/**
 * The scrollTop that brings row `index` fully into view while moving as little as possible;
 * returns the current scrollTop when the row is already visible.
 */
export function scrollTopToReveal(index: number, s: ScrollState): number {
  const top = virtualScrollTop(s);
  const rowStart = index * s.rowHeight;
  const rowEnd = rowStart + s.rowHeight;
  if (rowStart >= top && rowEnd <= top + s.viewportHeight) return s.scrollTop;
  const target = rowStart < top ? rowStart : rowEnd - s.viewportHeight;
  return realScrollTop(target, s);
}

/** Which fetch window a row belongs to, and its position inside it. */
export function windowOf(index: number, windowSize: number): { window: number; offset: number } {
  const window = Math.floor(index / windowSize);
  return { window, offset: index - window * windowSize };
}

/** Window indices covering a row range, in ascending order. */
export function windowsForRange(range: RowRange, windowSize: number): number[] {
  if (range.end <= range.start) return [];
  const first = Math.floor(range.start / windowSize);
  const last = Math.floor((range.end - 1) / windowSize);
  const out: number[] = [];
  for (let w = first; w <= last; w++) out.push(w);
  return out;
}

type Membership = { has(window: number): boolean };

/** Needed windows that are neither cached nor already being fetched. */
export function windowsToFetch(needed: readonly number[], cached: Membership, inflight: Membership): number[] {
  return needed.filter((w) => !cached.has(w) && !inflight.has(w));
}

/**
 * Cached windows to drop so at most `maxWindows` stay: never a needed one, farthest from the
 * needed range first.
 */
export function windowsToEvict(cached: Iterable<number>, needed: readonly number[], maxWindows: number): number[] {
  const keys = [...cached];
  if (keys.length <= maxWindows) return [];
  const neededSet = new Set(needed);
  const lo = needed.length > 0 ? Math.min(...needed) : 0;
  const hi = needed.length > 0 ? Math.max(...needed) : 0;
  const distance = (w: number): number => (w < lo ? lo - w : w > hi ? w - hi : 0);
  const candidates = keys.filter((w) => !neededSet.has(w)).sort((a, b) => distance(b) - distance(a));
  return candidates.slice(0, keys.length - maxWindows);
}
