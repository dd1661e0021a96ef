import { describe, expect, it } from "vitest";
import { formatAmount, formatRelative, formatShortDateTime, pluralize, shortId } from "./format";

describe("format", () => {
  it("formats minor units in the row's currency", () => {
    const usd = new Intl.NumberFormat(new Intl.NumberFormat().resolvedOptions().locale.includes("-u-va-posix") ? "en-US" : undefined, { style: "currency", currency: "USD" }).format(1234.5);
    expect(formatAmount(123450, "USD")).toBe(usd);
  });

  it("shows each currency with the decimals of its minor unit", () => {
    const locale = new Intl.NumberFormat().resolvedOptions().locale.includes("-u-va-posix") ? "en-US" : undefined;
    const jpy = new Intl.NumberFormat(locale, { style: "currency", currency: "JPY" }).format(1999);
    expect(formatAmount(1999, "JPY")).toBe(jpy);
    const kwd = new Intl.NumberFormat(locale, { style: "currency", currency: "KWD", minimumFractionDigits: 3 }).format(1.999);
    expect(formatAmount(1999, "KWD")).toBe(kwd);
    expect(formatAmount(1999, "KWD")).toContain("1.999");
    expect(formatAmount(1999, "JPY")).toContain("1,999");
  });

  it("falls back to a plain number for an unknown currency code", () => {
    expect(formatAmount(1999, "NOTACURRENCY")).toBe("19.99 NOTACURRENCY");
  });

  it("says never for a sync that has not happened", () => {
    expect(formatRelative(null, Date.now())).toBe("never");
  });

  it("describes recent times relative to now", () => {
    const now = Date.parse("2025-03-14T12:00:00Z");
    expect(formatRelative("2025-03-14T11:59:50Z", now)).toBe("just now");
    expect(formatRelative("2025-03-14T11:55:00Z", now)).toBe("5 min ago");
    expect(formatRelative("2025-03-14T09:00:00Z", now)).toBe("3 h ago");
  });

  it("shows a dash for a missing or unparsable date", () => {
    expect(formatShortDateTime(null)).toBe("—");
    expect(formatShortDateTime("not a date")).toBe("—");
  });

  it("shortens long ids and keeps short ones", () => {
    expect(shortId("0f8fad5b-d9cb-469f-a165-70867728950e")).toBe("0f8fad5b…");
    expect(shortId("abc")).toBe("abc");
  });

  it("uses the singular for exactly one", () => {
    expect(pluralize(1, "order")).toBe("1 order");
    expect(pluralize(20000, "order")).toMatch(/^20.000 orders$/);
  });
});
