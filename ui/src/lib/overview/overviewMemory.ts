// What the Overview showed when another screen replaced it (a bar's or KPI's orders, say):
// the range, account, currency and granularity. Coming back shows the same, not the default
// 90 days. A quick range ("Last 30 days") is kept as such and ends today when shown again.
// In memory only: a restart starts from the defaults.
import type { ChartGranularity } from "../ipc/bindings";

export type OverviewMemory = {
  /** A quick range's days ("30"), or "custom" for `from`–`to` as typed. */
  preset: string;
  from: string;
  to: string;
  chosenAccount: string | null;
  currency: string | null;
  granularity: ChartGranularity;
};

let kept: OverviewMemory | null = null;

export function keepOverview(memory: OverviewMemory): void {
  kept = { ...memory };
}

/** The kept Overview, if any (it stays kept: the Overview is often left and come back to). */
export function keptOverview(): OverviewMemory | null {
  return kept === null ? null : { ...kept };
}
