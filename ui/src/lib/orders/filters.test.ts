import { describe, expect, it, vi } from "vitest";
import { emptyForm, exactTimes, filterToForm, formToFilter, localDayStart, nextSort } from "./filters";

describe("formToFilter", () => {
  it("leaves everything out for an empty form", () => {
    expect(formToFilter(emptyForm(), "")).toEqual({ filter: { state: null, search: null }, errors: {} });
  });

  it("converts amounts to exact cents and dates to whole local days", () => {
    const form = { ...emptyForm(), state: "approved", mit: "mit" as const, amountMin: "0.29", amountMax: "100", createdFrom: "2025-03-01", createdTo: "2025-03-31", currency: "usd" };
    const { filter, errors } = formToFilter(form, " SUB-1 ");
    expect(errors).toEqual({});
    expect(filter.state).toBe("approved");
    expect(filter.search).toBe("SUB-1");
    expect(filter.isMit).toBe(true);
    expect(filter.amountMin).toBe(29);
    expect(filter.amountMax).toBe(10000);
    expect(filter.currency).toBe("USD");
    expect(filter.createdFrom).toBe(new Date(2025, 2, 1).toISOString());
    expect(filter.createdTo).toBe(new Date(2025, 3, 1).toISOString());
  });

  it("reports fields that do not parse instead of guessing", () => {
    const { filter, errors } = formToFilter({ ...emptyForm(), amountMin: "1.234" }, "");
    expect(filter.amountMin).toBeUndefined();
    expect(errors.amountMin).toBeDefined();
  });

  it("round-trips through filterToForm", () => {
    const form = { ...emptyForm(), mit: "cit" as const, amountMax: "12.50", placedFrom: "2025-01-02", placedTo: "2025-01-05", sort: "amountAsc" as const };
    expect(filterToForm(formToFilter(form, "").filter)).toEqual(form);
  });
});

it("reads a saved query whose absent filters are null", () => {
  const saved = JSON.parse('{"state":"pending","search":null,"isMit":true,"amountMin":null,"amountMax":null,"createdFrom":null,"sort":null,"states":null}');
  expect(filterToForm(saved)).toEqual({ ...emptyForm(), state: "pending", mit: "mit" });
});

describe("localDayStart", () => {
  it("refuses non-dates", () => {
    expect(localDayStart("yesterday")).toBeNull();
  });
});

describe("nextSort", () => {
  it("toggles direction on the same column and starts descending on another", () => {
    expect(nextSort("createdDesc", "created")).toBe("createdAsc");
    expect(nextSort("createdAsc", "created")).toBe("createdDesc");
    expect(nextSort("createdDesc", "amount")).toBe("amountDesc");
    expect(nextSort("amountDesc", "amount")).toBe("amountAsc");
  });
});

describe("exactTimes", () => {
  it("keeps a UTC day exactly where local days would shift it, and nothing for whole local days", () => {
    vi.stubEnv("TZ", "America/New_York");
    try {
      const utcDay = { state: null, search: null, createdFrom: "2026-03-14T00:00:00Z", createdTo: "2026-03-15T00:00:00Z" };
      expect(exactTimes(utcDay)).toEqual({ createdFrom: "2026-03-14T00:00:00Z", createdTo: "2026-03-15T00:00:00Z" });
      const localDays = formToFilter({ ...emptyForm(), createdFrom: "2026-03-14", createdTo: "2026-03-14" }, "").filter;
      expect(exactTimes(localDays)).toBeNull();
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
