import { describe, expect, it } from "vitest";
import { findNearby } from "./follow";

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
