import { describe, expect, it } from "vitest";
import type { OrderPage, OrderQuery, OrderRow } from "../ipc/bindings";
import { Selection } from "./selection.svelte";

function row(key: string): OrderRow {
  return {
    orderSessionKey: key,
    merchantOrderId: null,
    state: "pending",
    statusCode: null,
    decision: null,
    isMit: true,
    amountCents: 100,
    currency: "USD",
    email: null,
    customerName: null,
    cardLast4: null,
    createdAt: null,
  };
}

describe("Selection", () => {
  it("toggles single rows and counts them", () => {
    const s = new Selection();
    s.toggle("a");
    s.toggle("b");
    s.toggle("a");
    expect(s.has("b")).toBe(true);
    expect(s.has("a")).toBe(false);
    expect(s.count(50)).toBe(1);
  });

  it("selects all matching and resolves every key of the filter, page by page", async () => {
    const all = Array.from({ length: 2500 }, (_, i) => `k${i}`);
    const cursors: Array<string | null> = [];
    const fetchPage = async (q: OrderQuery): Promise<OrderPage> => {
      cursors.push(q.after?.orderSessionKey ?? null);
      const start = q.after ? all.indexOf(q.after.orderSessionKey) + 1 : q.offset;
      const rows = all.slice(start, start + q.limit);
      const last = rows[rows.length - 1];
      const next = rows.length === q.limit && last ? { sortValue: null, orderSessionKey: last } : null;
      return { total: all.length, offset: q.offset, rows: rows.map(row), next };
    };
    const s = new Selection();
    s.selectAllMatching();
    expect(s.has("anything")).toBe(true);
    expect(s.count(2500)).toBe(2500);
    expect(await s.resolve({ state: "pending", search: null }, fetchPage)).toEqual(all);
    expect(cursors).toEqual([null, "k999", "k1999"]);
  });
});
