import { describe, expect, it } from "vitest";
import { findNearby, relocate } from "./follow";

const at = (keys: string[]) => (i: number) => keys[i];

describe("findNearby", () => {
  it("finds an order pushed down by new orders above it", () => {
    expect(findNearby(at(["n1", "n2", "n3", "a", "b", "c"]), 0, "a", 250)).toBe(3);
  });
  it("finds an order moved up, and prefers the nearest place", () => {
    expect(findNearby(at(["a", "b", "c", "d"]), 3, "b", 250)).toBe(1);
    expect(findNearby(at(["x", "k", "y", "k"]), 2, "k", 250)).toBe(3);
  });
  it("keeps an order still in its place", () => {
    expect(findNearby(at(["a", "b"]), 1, "b", 250)).toBe(1);
  });
  it("says so when the order is gone or farther than the span", () => {
    expect(findNearby(at(["a", "b", "c"]), 0, "z", 250)).toBeNull();
    expect(findNearby(at(["a", "b", "c", "d"]), 0, "d", 2)).toBeNull();
  });
});

describe("relocate", () => {
  // A newest-first list: `n` newer orders arrived above the ones already there.
  const list = (newer: number, older: string[]) => [...Array.from({ length: newer }, (_, i) => `new-${i}`), ...older];
  const rows = (keys: (string | undefined)[], growsAbove = true) => ({
    keyAt: (i: number) => keys[i],
    isFresh: (i: number) => keys[i] !== undefined,
    total: keys.length,
    growsAbove,
  });

  it("finds an order a few rows from where it was", () => {
    const keys = list(3, ["a", "b", "c"]);
    expect(relocate(rows(keys), { index: 1, key: "b", total: 3 }, 250)).toEqual({ kind: "found", index: 4 });
  });
  it("finds an order a whole backfill page pushed down, by how much the result grew", () => {
    const keys = list(1000, Array.from({ length: 400 }, (_, i) => `old-${i}`));
    expect(relocate(rows(keys), { index: 100, key: "old-100", total: 400 }, 250)).toEqual({ kind: "found", index: 1100 });
  });
  it("says where the order should be when its rows there are not loaded yet", () => {
    const keys: (string | undefined)[] = list(1000, ["a"]).map((k, i) => (i < 200 ? k : undefined));
    expect(relocate(rows(keys), { index: 0, key: "a", total: 1 }, 250)).toEqual({ kind: "moved", index: 1000 });
  });
  it("looks again where stale rows are shown, once they are fetched for this result", () => {
    const keys = list(1000, ["a"]);
    const stale = { ...rows(keys.map((k, i) => (i < 200 ? k : "stale"))), isFresh: (i: number) => i < 200 };
    expect(relocate(stale, { index: 0, key: "a", total: 1 }, 250)).toEqual({ kind: "moved", index: 1000 });
  });
  it("says the order is missing when the rows where it should be are loaded without it", () => {
    const keys = list(1000, ["b"]);
    expect(relocate(rows(keys), { index: 0, key: "gone", total: 1 }, 250)).toEqual({ kind: "missing" });
  });
  it("does not guess by growth in a result sorted otherwise, nor when it shrank", () => {
    const keys: (string | undefined)[] = Array.from({ length: 2000 }, (_, i) => (i < 200 ? `k${i}` : undefined));
    expect(relocate(rows(keys, false), { index: 10, key: "a", total: 1000 }, 5)).toEqual({ kind: "missing" });
    expect(relocate(rows(keys.slice(0, 500)), { index: 10, key: "a", total: 1000 }, 5)).toEqual({ kind: "missing" });
  });
  it("says the order is missing when it left and the result's size did not change", () => {
    expect(relocate(rows(["x", "y", "z"]), { index: 1, key: "gone", total: 3 }, 250)).toEqual({ kind: "missing" });
  });
});
