import { describe, expect, it } from "vitest";
import type { IpcError, OrderPage, OrderQuery, OrderRow } from "../ipc/bindings";
import { OrderWindows } from "./orderWindows.svelte";

function row(n: number, tag = "a"): OrderRow {
  return {
    orderSessionKey: `${tag}-${n}`,
    merchantOrderId: `M-${n}`,
    state: "approved",
    statusCode: 7,
    decision: "APPROVED",
    isMit: false,
    amountCents: 1000 + n,
    currency: "USD",
    email: null,
    customerName: null,
    cardLast4: null,
    createdAt: null,
  };
}

type Pending = { query: OrderQuery; resolve: (page: OrderPage) => void; reject: (e: unknown) => void };

/** A fake listOrders whose answers the test releases one by one, in any order. */
function fakeBackend() {
  const pending: Pending[] = [];
  const errors: IpcError[] = [];
  const windows = new OrderWindows({
    fetchPage: (query) => new Promise<OrderPage>((resolve, reject) => pending.push({ query, resolve, reject })),
    onError: (e) => errors.push(e),
    windowSize: 10,
    maxWindows: 3,
  });
  const answer = (p: Pending, total: number, tag = "a"): void => {
    // Rows are numbered by position; a cursor names the row it follows.
    const start = p.query.after ? Number(p.query.after.orderSessionKey.split("-")[1]) + 1 : p.query.offset;
    const count = Math.max(0, Math.min(p.query.limit, total - start));
    const rows = Array.from({ length: count }, (_, k) => row(start + k, tag));
    const last = rows[rows.length - 1];
    const next = count === p.query.limit && last ? { sortValue: null, orderSessionKey: last.orderSessionKey } : null;
    p.resolve({ total, offset: p.query.offset, rows, next });
  };
  return { pending, errors, windows, answer };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe("OrderWindows", () => {
  it("fetches the first window to learn the total, then the windows on screen", async () => {
    const { pending, windows, answer } = fakeBackend();
    windows.setQuery({ state: null, search: null }, true);
    expect(pending.map((p) => p.query.offset)).toEqual([0]);
    answer(pending[0]!, 100);
    await settle();
    expect(windows.total).toBe(100);
    windows.ensure({ start: 5, end: 25 });
    expect(pending.slice(1).map((p) => p.query.offset)).toEqual([10, 20]);
  });

  it("follows the previous window's cursor when scrolling on, and jumps by offset", async () => {
    const { pending, windows, answer } = fakeBackend();
    windows.setQuery({ state: null, search: null }, true);
    answer(pending[0]!, 100);
    await settle();
    windows.ensure({ start: 12, end: 18 });
    expect(pending[1]!.query.after).toEqual({ sortValue: null, orderSessionKey: "a-9" });
    answer(pending[1]!, 100);
    await settle();
    expect(windows.rowAt(10)?.orderSessionKey).toBe("a-10");
    // A far jump has no cached predecessor: by offset, no cursor.
    windows.ensure({ start: 75, end: 79 });
    expect(pending[2]!.query.offset).toBe(70);
    expect(pending[2]!.query.after).toBeUndefined();
    answer(pending[2]!, 100);
    await settle();
    expect(windows.rowAt(75)?.orderSessionKey).toBe("a-75");
    // The last window's answer has no cursor after it.
    windows.ensure({ start: 80, end: 99 });
    expect(pending[3]!.query.after).toEqual({ sortValue: null, orderSessionKey: "a-79" });
  });

  it("does not use a cursor from before a refresh", async () => {
    const { pending, windows, answer } = fakeBackend();
    windows.setQuery({ state: null, search: null }, true);
    answer(pending[0]!, 100);
    await settle();
    windows.refresh();
    windows.ensure({ start: 10, end: 15 });
    expect(pending.slice(1).every((p) => p.query.after === undefined)).toBe(true);
  });

  it("tells rows of the current result from stale ones, and the result size each came with", async () => {
    const { pending, windows, answer } = fakeBackend();
    windows.setQuery({ state: null, search: null }, true);
    answer(pending[0]!, 100);
    await settle();
    windows.ensure({ start: 5, end: 15 });
    answer(pending[1]!, 100);
    await settle();
    expect([windows.isFresh(5), windows.isFresh(12), windows.totalAt(12)]).toEqual([true, true, 100]);
    expect([windows.isFresh(50), windows.totalAt(50)]).toEqual([false, undefined]);
    // The mirror grew: window 0 comes back first; window 1 is still the old one, shown stale.
    windows.refresh();
    const next = pending.slice(2);
    answer(next.find((p) => p.query.offset === 0)!, 130, "b");
    await settle();
    expect([windows.isFresh(5), windows.totalAt(5), windows.rowAt(5)?.orderSessionKey]).toEqual([true, 130, "b-5"]);
    expect([windows.isFresh(12), windows.totalAt(12), windows.rowAt(12)?.orderSessionKey]).toEqual([false, 100, "a-12"]);
  });

  it("does not fetch while disabled (no account)", () => {
    const { pending, windows } = fakeBackend();
    windows.setQuery({ state: null, search: null }, false);
    windows.ensure({ start: 0, end: 20 });
    expect(pending).toHaveLength(0);
  });

  it("passes the filter and search to every window request", () => {
    const { pending, windows } = fakeBackend();
    windows.setQuery({ state: "declined", search: "bob@example.com" }, true);
    expect(pending[0]!.query).toEqual({ state: "declined", search: "bob@example.com", offset: 0, limit: 10 });
  });

  it("ignores an answer that arrives after the query changed", async () => {
    const { pending, windows, answer } = fakeBackend();
    windows.setQuery({ state: null, search: null }, true);
    windows.setQuery({ state: "refunded", search: null }, true);
    answer(pending[1]!, 5, "new");
    answer(pending[0]!, 100, "old");
    await settle();
    expect(windows.total).toBe(5);
    expect(windows.rowAt(0)?.orderSessionKey).toBe("new-0");
  });

  it("drops cached rows when the query changes", async () => {
    const { pending, windows, answer } = fakeBackend();
    windows.setQuery({ state: null, search: null }, true);
    answer(pending[0]!, 100);
    await settle();
    windows.setQuery({ state: null, search: "x" }, true);
    expect(windows.total).toBeNull();
    expect(windows.rowAt(0)).toBeUndefined();
  });

  it("keeps showing old rows during a refresh until the new window arrives", async () => {
    const { pending, windows, answer } = fakeBackend();
    windows.setQuery({ state: null, search: null }, true);
    answer(pending[0]!, 100, "old");
    await settle();
    windows.ensure({ start: 0, end: 5 });
    windows.refresh();
    expect(windows.rowAt(0)?.orderSessionKey).toBe("old-0");
    answer(pending[1]!, 120, "new");
    await settle();
    expect(windows.total).toBe(120);
    expect(windows.rowAt(0)?.orderSessionKey).toBe("new-0");
  });

  it("learns that an empty result has grown when the mirror is refreshed", async () => {
    const { pending, windows, answer } = fakeBackend();
    windows.setQuery({ state: null, search: null }, true);
    answer(pending[0]!, 0);
    await settle();
    windows.ensure({ start: 0, end: 0 });
    windows.refresh();
    answer(pending[pending.length - 1]!, 42);
    await settle();
    expect(windows.total).toBe(42);
  });

  it("reports a failed window once and fetches it again on the next request", async () => {
    const { pending, errors, windows } = fakeBackend();
    windows.setQuery({ state: null, search: null }, true);
    pending[0]!.reject({ code: "storage", message: "database is locked" });
    await settle();
    expect(errors).toEqual([{ code: "storage", message: "database is locked" }]);
    windows.ensure({ start: 0, end: 5 });
    expect(pending).toHaveLength(2);
  });

  it("evicts windows far from the screen beyond the cache limit", async () => {
    const { pending, windows, answer } = fakeBackend();
    windows.setQuery({ state: null, search: null }, true);
    answer(pending[0]!, 1000);
    await settle();
    for (const start of [10, 20, 30, 40]) {
      windows.ensure({ start, end: start + 5 });
      answer(pending[pending.length - 1]!, 1000);
      await settle();
    }
    expect(windows.rowAt(0)).toBeUndefined();
    expect(windows.rowAt(40)?.orderSessionKey).toBe("a-40");
  });
});
