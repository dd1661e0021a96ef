import { describe, expect, it } from "vitest";
import type { DrillDto } from "../ipc/bindings";
import { effectiveTheme, lastDays, presetFromDrill, renderWidth, validRange, hitIndices } from "./overview";

const drill: DrillDto = {
  states: ["declined"],
  isMit: null,
  createdFrom: "2026-11-01T00:00:00.000Z",
  createdTo: "2026-11-02T00:00:00.000Z",
  declineCode: null,
  currency: "USD",
  sort: null,
  title: "Declined · USD",
  exact: true,
};

describe("overview logic", () => {
  it("a range of N days ends today and includes it", () => {
    const today = new Date("2026-11-23T15:00:00Z");
    expect(lastDays(30, today)).toEqual({ from: "2026-10-25", to: "2026-11-23" });
    expect(lastDays(1, today)).toEqual({ from: "2026-11-23", to: "2026-11-23" });
  });

  it("rejects backwards or malformed ranges", () => {
    expect(validRange({ from: "2026-11-01", to: "2026-11-23" })).toBe(true);
    expect(validRange({ from: "2026-11-24", to: "2026-11-23" })).toBe(false);
    expect(validRange({ from: "", to: "2026-11-23" })).toBe(false);
  });

  it("follows the system theme unless one is forced", () => {
    expect(effectiveTheme("system", true)).toBe("dark");
    expect(effectiveTheme("system", false)).toBe("light");
    expect(effectiveTheme("light", true)).toBe("light");
    expect(effectiveTheme("dark", false)).toBe("dark");
  });

  it("hands the orders list exactly the drill's filters and title", () => {
    expect(presetFromDrill(drill)).toEqual({
      state: null,
      search: null,
      title: "Declined · USD",
      states: ["declined"],
      createdFrom: "2026-11-01T00:00:00.000Z",
      createdTo: "2026-11-02T00:00:00.000Z",
      currency: "USD",
    });
    expect(presetFromDrill({ ...drill, states: [], isMit: true, sort: "expiryAsc" })).toMatchObject({
      isMit: true,
      sort: "expiryAsc",
    });
    expect("states" in presetFromDrill({ ...drill, states: [] })).toBe(false);
  });

  it("renders at the card width rounded down, never tiny", () => {
    expect(renderWidth(655)).toBe(640);
    expect(renderWidth(100)).toBe(320);
  });

  it("ignores clicks outside a hit area", () => {
    expect(hitIndices(null)).toBeNull();
  });
});
