import { describe, expect, it } from "vitest";
import type { AppStatus, SyncStatus } from "../ipc/bindings";
import { backfillProgress, FAST_POLL_MS, pollIntervalMs, SLOW_POLL_MS } from "./appStatus.svelte";

function status(sync: Partial<SyncStatus>): AppStatus {
  return {
    account: null,
    totalRows: 0,
    dataVersion: 0,
    job: null,
    relay: {
      configured: false,
      connected: false,
      url: null,
      lastEventAt: null,
      lastLagMs: null,
      eventsApplied: 0,
      lastError: null,
    },
    setupError: null,
    sync: { phase: "idle", fetched: 0, expected: null, lastSyncAt: null, lastError: null, searchPending: 0, unreadableOrders: 0, ...sync },
  };
}

describe("status polling", () => {
  it("polls fast while backfilling or syncing and slowly otherwise", () => {
    expect(pollIntervalMs("backfilling")).toBe(FAST_POLL_MS);
    expect(pollIntervalMs("syncing")).toBe(FAST_POLL_MS);
    expect(pollIntervalMs("idle")).toBe(SLOW_POLL_MS);
    expect(pollIntervalMs("error")).toBe(SLOW_POLL_MS);
    expect(pollIntervalMs(null)).toBe(SLOW_POLL_MS);
  });

  it("shows backfill progress only while backfilling", () => {
    expect(backfillProgress(status({ phase: "backfilling", fetched: 4000, expected: 20000 }))).toEqual({
      fetched: 4000,
      expected: 20000,
    });
    expect(backfillProgress(status({ phase: "syncing", fetched: 4000, expected: 20000 }))).toBeNull();
    expect(backfillProgress(null)).toBeNull();
  });

  it("never shows more fetched than expected", () => {
    expect(backfillProgress(status({ phase: "backfilling", fetched: 21000, expected: 20000 }))?.expected).toBe(21000);
  });
});
