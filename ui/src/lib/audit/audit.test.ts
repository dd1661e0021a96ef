import { describe, expect, it } from "vitest";
import { pageLabel, shortHash, verdictText } from "./audit";

describe("verdictText", () => {
  it("says the log is intact with the number of entries", () => {
    const v = verdictText({ ok: true, checked: 12, firstBadSeq: null, problem: null });
    expect(v.ok).toBe(true);
    expect(v.detail).toContain("All 12 entries verified");
  });
  it("names the bad entry and says what to do next", () => {
    const v = verdictText({ ok: false, checked: 0, firstBadSeq: 1, problem: "entry 1 was changed after it was written" });
    expect(v.ok).toBe(false);
    expect(v.detail).toContain("Entry 1 was changed after it was written.");
    expect(v.detail).toContain("Entries from 1 on cannot be trusted.");
  });
});

describe("shortHash and pageLabel", () => {
  it("shortens hashes and labels pages", () => {
    expect(shortHash("0123456789abcdef")).toBe("0123456789");
    expect(pageLabel(50, 50)).toBe("Entries 51–100");
    expect(pageLabel(0, 0)).toBe("No entries");
  });
});
