// What the Orders screen showed when another screen replaced it: filters, search, the open
// order, the highlighted row and the scroll position. Coming back shows the same place
// instead of a fresh, unfiltered list. Kept in memory only (a restart starts fresh), for one
// account: switching accounts, or opening Orders with a chart's filter, starts fresh too.
import type { OrderState } from "../ipc/bindings";
import type { FilterForm, TimeBounds } from "./filters";

export type OrdersScreenMemory = {
  accountId: string | null;
  form: FilterForm;
  searchText: string;
  presetStates: OrderState[] | null;
  presetUnreadable: boolean;
  presetTitle: string | null;
  presetTimes: TimeBounds | null;
  filtersOpen: boolean;
  /** The order whose detail panel was open. */
  detailKey: string | null;
  /** The highlighted row's index, and its order (the row is found again by its order if
   * live updates moved it meanwhile). */
  selected: number;
  selectedKey: string | null;
  scrollTop: number;
  /** The order at the top of the view, put back there even if orders arrived above it. */
  place: Place | null;
};

/** The order at the top of the grid's view: its row index, its FlexFactor id, how far
 * below the view's top its row starts (virtual px), and how many rows the result held then
 * (rows that arrive above it later move it down by as many). */
export type Place = { index: number; key: string; offset: number; total: number };

let kept: OrdersScreenMemory | null = null;

/** Keeps a plain copy of the screen's state (not live Svelte state). */
export function keepOrdersScreen(memory: OrdersScreenMemory): void {
  kept = structuredClone(memory);
}

/** The kept state if it belongs to `accountId`; either way it is used up. */
export function takeOrdersScreen(accountId: string | null): OrdersScreenMemory | null {
  const memory = kept;
  kept = null;
  return memory !== null && memory.accountId === accountId ? memory : null;
}
