import { describe, expect, it } from "vitest";
import type { BatchDraftView, BatchView } from "../ipc/bindings";
import { amountsSentence, badRowIssues, inFlight, outcomeCounts, outcomeTone, stepState, uploadBlocker, uploadFraction } from "./batches";

function draft(over: Partial<BatchDraftView> = {}): BatchDraftView {
  return {
    sourceName: "x.csv",
    kind: "evaluate",
    mapping: [],
    fields: [],
    rows: [],
    total: 3,
    valid: 3,
    invalid: 0,
    dropped: 0,
    filesNeeded: 1,
    amounts: null,
    ...over,
  };
}

function batch(over: Partial<BatchView> = {}): BatchView {
  return {
    id: "b1",
    kind: "evaluate",
    sourceName: "x.csv",
    createdAt: "2026-03-01T00:00:00Z",
    status: "uploading",
    rowCount: 2,
    answeredRows: 0,
    files: [
      { name: "a", status: "uploaded", size: 100, sentBytes: 100 },
      { name: "b", status: "uploading", size: 100, sentBytes: 50 },
    ],
    lastError: null,
    lastCheckedAt: null,
    stalled: false,
    ...over,
  };
}

describe("bad rows", () => {
  it("lists every issue by line, with the row's order id and current value", () => {
    const d = draft({
      rows: [
        { line: 9, orderId: "B", issues: [{ line: 9, field: "payer.email", kind: "bad_email", reason: "r1", value: "x" }] },
        { line: 2, orderId: "A", issues: [] },
        { line: 4, orderId: null, issues: [{ line: 4, field: "transaction.amount", kind: "amount_too_small", reason: "r2", value: "5" }] },
      ],
    });
    const issues = badRowIssues(d);
    expect(issues.map((i) => [i.line, i.field, i.value])).toEqual([
      [4, "transaction.amount", "5"],
      [9, "payer.email", "x"],
    ]);
    expect(issues[1].orderId).toBe("B");
    expect(badRowIssues(null)).toEqual([]);
  });
});

describe("upload gating", () => {
  it("refuses until a validated, unchanged draft has no bad rows", () => {
    expect(uploadBlocker(null, false)).toMatch(/Validate/);
    expect(uploadBlocker(draft(), true)).toMatch(/changed/);
    expect(uploadBlocker(draft({ invalid: 3, valid: 47 }), false)).toMatch(/3 rows/);
    expect(uploadBlocker(draft({ valid: 0, total: 0 }), false)).toMatch(/No rows/);
    expect(uploadBlocker(draft(), false)).toBeNull();
  });
});

describe("progress", () => {
  it("marks steps done, current and to do", () => {
    expect(stepState("uploading", "built")).toBe("done");
    expect(stepState("uploading", "uploading")).toBe("current");
    expect(stepState("uploading", "answered")).toBe("todo");
    expect(stepState("answered", "answered")).toBe("done");
    expect(stepState("failed", "built")).toBe("done");
    expect(stepState("failed", "uploading")).toBe("todo");
  });

  it("counts uploaded files whole and the file in flight by bytes sent", () => {
    expect(uploadFraction(batch())).toBe(0.75);
    expect(uploadFraction(batch({ files: [] }))).toBe(0);
  });

  it("polls only while bytes are being sent (a waiting batch changes through mirror events)", () => {
    expect(inFlight(batch({ status: "built" }))).toBe(true);
    expect(inFlight(batch({ status: "uploading" }))).toBe(true);
    expect(inFlight(batch({ status: "uploaded" }))).toBe(false);
    expect(inFlight(batch({ status: "answered" }))).toBe(false);
    expect(inFlight(batch({ status: "failed" }))).toBe(false);
    expect(inFlight(batch({ status: "uploading", stalled: true }))).toBe(false);
  });
});

describe("outcomes", () => {
  it("gives each status a tone and counts them", () => {
    expect(outcomeTone(null)).toBe("pending");
    expect(outcomeTone("ERROR")).toBe("bad");
    expect(outcomeTone("APPROVED")).toBe("good");
    const rows = ["APPROVED", "ERROR", "APPROVED", null].map((status, i) => ({
      fileName: "f",
      sequenceNumber: i + 1,
      line: i + 2,
      orderId: `o${i}`,
      orderSessionKey: null,
      status,
      errors: null,
    }));
    expect(outcomeCounts(rows)).toEqual([
      ["APPROVED", 2],
      ["ERROR", 1],
      ["waiting", 1],
    ]);
  });
});

describe("amounts read", () => {
  it("names the column and unit and shows what will be charged", () => {
    const cents = { header: "amount", unit: "cents", rows: 3, smallestCents: 49, largestCents: 149, totalCents: 297, currencies: ["USD"] };
    expect(amountsSentence(cents)).toBe("Amounts from column “amount” read in cents (1999 = 19.99): $0.49 to $1.49 per row, $2.97 in all.");
    const major = { ...cents, unit: "major", smallestCents: 1999, largestCents: 1999, totalCents: 5997 };
    expect(amountsSentence(major)).toBe("Amounts from column “amount” read in major units (19.99 = 1999 cents): $19.99 per row, $59.97 in all.");
  });

  it("does not add up amounts in different currencies", () => {
    const mixed = { header: "", unit: "cents", rows: 2, smallestCents: 1000, largestCents: 2000, totalCents: 3000, currencies: ["USD", "EUR"] };
    expect(amountsSentence(mixed)).toBe("Amounts read in cents (1999 = 19.99): 10.00 to 20.00 per row (USD, EUR).");
  });
});

