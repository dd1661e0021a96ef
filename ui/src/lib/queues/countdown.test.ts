import { describe, expect, it } from "vitest";
import { bucketFor, formatCountdown, groupByBucket, secondsUntil } from "./countdown";

const HOUR = 3600;
const DAY = 24 * HOUR;

describe("formatCountdown", () => {
  it("shows days and hours for long waits", () => {
    expect(formatCountdown(3 * DAY + 4 * HOUR + 59)).toBe("3 d 4 h");
  });
  it("shows hours and padded minutes under a day", () => {
    expect(formatCountdown(5 * HOUR + 7 * 60 + 30)).toBe("5 h 07 min");
  });
  it("shows minutes and seconds under an hour, seconds under a minute", () => {
    expect(formatCountdown(2 * 60 + 9)).toBe("2 min 09 s");
    expect(formatCountdown(42)).toBe("42 s");
    expect(formatCountdown(0)).toBe("0 s");
  });
  it("says overdue once the expiry has passed", () => {
    expect(formatCountdown(-HOUR)).toBe("overdue by 1 h 00 min");
  });
  it("says when there is no expiry", () => {
    expect(formatCountdown(null)).toBe("no expiry");
  });
});

describe("secondsUntil", () => {
  it("counts whole seconds to the expiry, negative after it", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(secondsUntil("2025-01-01T01:00:00Z", now)).toBe(3600);
    expect(secondsUntil("2024-12-31T23:59:00Z", now)).toBe(-60);
    expect(secondsUntil(null, now)).toBeNull();
    expect(secondsUntil("not a date", now)).toBeNull();
  });
});

describe("bucketFor", () => {
  it("uses the same thresholds as the app core", () => {
    expect(bucketFor(null)).toBe("noExpiry");
    expect(bucketFor(-1)).toBe("overdue");
    expect(bucketFor(0)).toBe("under24h");
    expect(bucketFor(DAY - 1)).toBe("under24h");
    expect(bucketFor(DAY)).toBe("under7d");
    expect(bucketFor(7 * DAY - 1)).toBe("under7d");
    expect(bucketFor(7 * DAY)).toBe("later");
  });
});

describe("groupByBucket", () => {
  it("puts every item in its bucket, in display order, keeping empty buckets", () => {
    const items = [
      { id: "a", s: 9 * DAY },
      { id: "b", s: 2 * HOUR },
      { id: "c", s: -5 },
      { id: "d", s: 3 * HOUR },
    ];
    const groups = groupByBucket(items, (i) => bucketFor(i.s));
    expect(groups.map((g) => g.bucket)).toEqual(["overdue", "under24h", "under7d", "later", "noExpiry"]);
    expect(groups.map((g) => g.items.map((i) => i.id))).toEqual([["c"], ["b", "d"], [], ["a"], []]);
  });
});
