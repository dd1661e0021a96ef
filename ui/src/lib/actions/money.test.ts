import { describe, expect, it } from "vitest";
import { centsToMajor, checkRefundAmount, minorDigits, parseMajorToCents } from "./money";

describe("parseMajorToCents", () => {
  it("converts major units to exact cents", () => {
    expect(parseMajorToCents("12.34")).toEqual({ ok: true, cents: 1234 });
    expect(parseMajorToCents("12.3")).toEqual({ ok: true, cents: 1230 });
    expect(parseMajorToCents("12")).toEqual({ ok: true, cents: 1200 });
    expect(parseMajorToCents(" 0.07 ")).toEqual({ ok: true, cents: 7 });
    expect(parseMajorToCents("12,5")).toEqual({ ok: true, cents: 1250 });
    expect(parseMajorToCents("1,234.56")).toEqual({ ok: true, cents: 123456 });
    expect(parseMajorToCents("007.")).toEqual({ ok: true, cents: 700 });
  });

  it("is exact where floats are not", () => {
    // 0.29 * 100 === 28.999999999999996 in floating point.
    expect(parseMajorToCents("0.29")).toEqual({ ok: true, cents: 29 });
    expect(parseMajorToCents("1.15")).toEqual({ ok: true, cents: 115 });
    expect(parseMajorToCents("4.35")).toEqual({ ok: true, cents: 435 });
  });

  it("refuses what is not an amount", () => {
    for (const bad of ["", "abc", "-1", "1e3", "1.234", "1.2.3", "+5", "1,23.4", "99999999999999999"]) {
      expect(parseMajorToCents(bad).ok, bad).toBe(false);
    }
  });
});

describe("centsToMajor", () => {
  it("formats cents exactly", () => {
    expect(centsToMajor(0)).toBe("0.00");
    expect(centsToMajor(5)).toBe("0.05");
    expect(centsToMajor(1234)).toBe("12.34");
    expect(centsToMajor(-5)).toBe("-0.05");
    expect(centsToMajor(123456789012)).toBe("1234567890.12");
  });

  it("round-trips with parsing", () => {
    for (const cents of [0, 1, 29, 115, 99999, 100000001]) {
      expect(parseMajorToCents(centsToMajor(cents))).toEqual({ ok: true, cents });
    }
  });
});

describe("checkRefundAmount", () => {
  it("accepts up to the remaining refundable and refuses more", () => {
    expect(checkRefundAmount("10.00", 1000)).toEqual({ ok: true, cents: 1000 });
    expect(checkRefundAmount("10.01", 1000).ok).toBe(false);
    expect(checkRefundAmount("0", 1000).ok).toBe(false);
    expect(checkRefundAmount("0.01", 0).ok).toBe(false);
  });
});

describe("currencies without two decimals", () => {
  it("knows the minor unit of JPY, KWD and USD", () => {
    expect(minorDigits("JPY")).toBe(0);
    expect(minorDigits("kwd")).toBe(3);
    expect(minorDigits("USD")).toBe(2);
    expect(minorDigits("")).toBe(2);
  });

  it("parses and prints amounts in the currency's own units", () => {
    expect(parseMajorToCents("1999", 0)).toEqual({ ok: true, cents: 1999 });
    expect(parseMajorToCents("19.99", 0).ok).toBe(false);
    expect(parseMajorToCents("1.999", 3)).toEqual({ ok: true, cents: 1999 });
    expect(parseMajorToCents("1.9999", 3).ok).toBe(false);
    expect(centsToMajor(1999, 0)).toBe("1999");
    expect(centsToMajor(-5, 3)).toBe("-0.005");
    expect(checkRefundAmount("1.000", 1000, 3)).toEqual({ ok: true, cents: 1000 });
    expect(parseMajorToCents("1,500", 0)).toEqual({ ok: true, cents: 1500 });
    expect(parseMajorToCents("1,500", 3).ok).toBe(false);
    expect(parseMajorToCents("1,500.250", 3)).toEqual({ ok: true, cents: 1500250 });
    expect(parseMajorToCents("12,50", 2)).toEqual({ ok: true, cents: 1250 });
  });
});
