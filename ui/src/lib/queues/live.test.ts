import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { throttle } from "./live";

describe("throttle", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("runs at once, then collapses a burst into one trailing call", () => {
    const fn = vi.fn();
    const t = throttle(fn, 1000, () => Date.now());
    t();
    expect(fn).toHaveBeenCalledTimes(1);
    t();
    t();
    t();
    expect(fn).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1000);
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it("cancel drops the scheduled call", () => {
    const fn = vi.fn();
    const t = throttle(fn, 1000, () => Date.now());
    t();
    t();
    t.cancel();
    vi.advanceTimersByTime(5000);
    expect(fn).toHaveBeenCalledTimes(1);
  });
});
