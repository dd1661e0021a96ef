import { describe, expect, it } from "vitest";
import {
  MAX_SCROLL_HEIGHT,
  realScrollTop,
  rowTop,
  scrollTopToReveal,
  spacerHeight,
  virtualScrollTop,
  visibleRange,
  windowOf,
  windowsForRange,
  windowsToEvict,
  windowsToFetch,
  type ScrollState,
} from "./virtual";

const base: ScrollState = { scrollTop: 0, viewportHeight: 300, rowHeight: 30, total: 20_000 };

describe("visibleRange", () => {
  it("shows the first screenful plus overscan below when scrolled to the top", () => {
    expect(visibleRange(base, 5)).toEqual({ start: 0, end: 15 });
  });

  it("adds overscan on both sides in the middle of the list", () => {
    expect(visibleRange({ ...base, scrollTop: 3000 }, 5)).toEqual({ start: 95, end: 115 });
  });

  it("includes a partially visible row at the bottom edge", () => {
    expect(visibleRange({ ...base, scrollTop: 15 }, 0)).toEqual({ start: 0, end: 11 });
  });

  it("never runs past the last row", () => {
    const s = { ...base, total: 12, scrollTop: 10_000 };
    expect(visibleRange(s, 5)).toEqual({ start: 0, end: 12 });
  });

  it("is empty for an empty result", () => {
    expect(visibleRange({ ...base, total: 0 }, 5)).toEqual({ start: 0, end: 0 });
  });

  it("reaches the last rows of a million-row result even though the spacer is capped", () => {
    const s: ScrollState = { ...base, total: 1_000_000 };
    const bottom = spacerHeight(s.total, s.rowHeight) - s.viewportHeight;
    expect(visibleRange({ ...s, scrollTop: bottom }, 0)).toEqual({ start: 999_990, end: 1_000_000 });
  });
});

describe("scroll compression", () => {
  it("caps the spacer height for huge results and keeps it exact for small ones", () => {
    expect(spacerHeight(1_000, 30)).toBe(30_000);
    expect(spacerHeight(1_000_000, 30)).toBe(MAX_SCROLL_HEIGHT);
  });

  it("maps real to virtual offsets one-to-one when not compressed", () => {
    expect(virtualScrollTop({ ...base, scrollTop: 1234 })).toBe(1234);
    expect(rowTop(100, { ...base, scrollTop: 1234 })).toBe(3000);
  });

  it("round-trips real and virtual offsets when compressed", () => {
    const s: ScrollState = { ...base, total: 1_000_000, scrollTop: 5_000_000 };
    const virtual = virtualScrollTop(s);
    expect(virtual).toBeGreaterThan(s.scrollTop);
    expect(realScrollTop(virtual, s)).toBeCloseTo(s.scrollTop, 3);
  });

  it("places the first visible row at the top of the viewport when compressed", () => {
    const s: ScrollState = { ...base, total: 1_000_000, scrollTop: 5_000_000 };
    const first = Math.floor(virtualScrollTop(s) / s.rowHeight);
    const top = rowTop(first, s);
    expect(top).toBeLessThanOrEqual(s.scrollTop);
    expect(top).toBeGreaterThan(s.scrollTop - s.rowHeight);
  });
});

describe("scrollTopToReveal", () => {
  it("keeps the scroll position when the row is already visible", () => {
    expect(scrollTopToReveal(3, { ...base, scrollTop: 0 })).toBe(0);
  });

  it("scrolls down just enough to show a row below the viewport", () => {
    expect(scrollTopToReveal(10, { ...base, scrollTop: 0 })).toBe(30);
  });

  it("scrolls up to put a row above the viewport at the top", () => {
    expect(scrollTopToReveal(50, { ...base, scrollTop: 3000 })).toBe(1500);
  });

  it("reveals rows at the end of a compressed million-row result", () => {
    const s: ScrollState = { ...base, total: 1_000_000 };
    const top = scrollTopToReveal(999_999, s);
    expect(visibleRange({ ...s, scrollTop: top }, 0).end).toBe(1_000_000);
  });
});

describe("fetch windows", () => {
  it("locates a row inside its window", () => {
    expect(windowOf(0, 200)).toEqual({ window: 0, offset: 0 });
    expect(windowOf(401, 200)).toEqual({ window: 2, offset: 1 });
  });

  it("covers a range that straddles a window boundary with both windows", () => {
    expect(windowsForRange({ start: 190, end: 215 }, 200)).toEqual([0, 1]);
  });

  it("needs no window for an empty range", () => {
    expect(windowsForRange({ start: 0, end: 0 }, 200)).toEqual([]);
  });

  it("treats the end of the range as exclusive", () => {
    expect(windowsForRange({ start: 0, end: 200 }, 200)).toEqual([0]);
  });

  it("skips windows that are cached or already in flight", () => {
    const cached = new Set([0]);
    const inflight = new Set([2]);
    expect(windowsToFetch([0, 1, 2, 3], cached, inflight)).toEqual([1, 3]);
  });
});

describe("windowsToEvict", () => {
  it("evicts nothing while under the limit", () => {
    expect(windowsToEvict([0, 1, 2], [1], 5)).toEqual([]);
  });

  it("evicts the windows farthest from the needed range first", () => {
    expect(windowsToEvict([0, 8, 10, 11, 12, 30], [10, 11], 3)).toEqual([30, 0, 8]);
  });

  it("never evicts a window that is needed on screen", () => {
    const evicted = windowsToEvict([5, 6, 7], [5, 6, 7], 1);
    expect(evicted).toEqual([]);
  });
});
