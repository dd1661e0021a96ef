// The Orders filter bar's form (what people type) and its translation into an OrderQuery.
// Dates are whole local days: "from" is the start of that day, "to" includes the whole day
// (the query's `to` is exclusive, so it becomes the start of the next day). Amounts are
// major units, converted to cents exactly (see actions/money.ts).
import type { OrderSort, OrderState } from "../ipc/bindings";
import { centsToMajor, minorDigits, parseMajorToCents } from "../actions/money";
import type { OrderFilter } from "./orderWindows.svelte";
import { parseStateFilter } from "./states";

export type MitFilter = "" | "mit" | "cit";

export type FilterForm = {
  state: string;
  search: string;
  mit: MitFilter;
  createdFrom: string;
  createdTo: string;
  placedFrom: string;
  placedTo: string;
  amountMin: string;
  amountMax: string;
  siteId: string;
  declineCode: string;
  currency: string;
  sort: OrderSort;
};

export function emptyForm(): FilterForm {
  return {
    state: "",
    search: "",
    mit: "",
    createdFrom: "",
    createdTo: "",
    placedFrom: "",
    placedTo: "",
    amountMin: "",
    amountMax: "",
    siteId: "",
    declineCode: "",
    currency: "",
    sort: "createdDesc",
  };
}

export type FilterResult = { filter: OrderFilter; errors: Partial<Record<keyof FilterForm, string>> };

/** "2025-03-14" → local midnight of that day as RFC 3339 UTC; `plusDays` shifts it. */
export function localDayStart(day: string, plusDays = 0): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return null;
  const date = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + plusDays);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** RFC 3339 back to the local day a date input shows ("" when absent or unparsable). */
export function localDay(iso: string | null | undefined, minusDays = 0): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  d.setDate(d.getDate() - minusDays);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The query for a form; fields that do not parse are left out and reported in `errors`. */
export function formToFilter(form: FilterForm, appliedSearch: string): FilterResult {
  const errors: FilterResult["errors"] = {};
  const state: OrderState | null = parseStateFilter(form.state);
  const filter: OrderFilter = { state, search: appliedSearch.trim() === "" ? null : appliedSearch.trim() };
  if (form.mit !== "") filter.isMit = form.mit === "mit";
  const day = (key: "createdFrom" | "createdTo" | "placedFrom" | "placedTo", plus: number): string | undefined => {
    if (form[key] === "") return undefined;
    const iso = localDayStart(form[key], plus);
    if (iso === null) errors[key] = "Not a date.";
    return iso ?? undefined;
  };
  const createdFrom = day("createdFrom", 0);
  const createdTo = day("createdTo", 1);
  const placedFrom = day("placedFrom", 0);
  const placedTo = day("placedTo", 1);
  if (createdFrom) filter.createdFrom = createdFrom;
  if (createdTo) filter.createdTo = createdTo;
  if (placedFrom) filter.placedFrom = placedFrom;
  if (placedTo) filter.placedTo = placedTo;
  for (const key of ["amountMin", "amountMax"] as const) {
    if (form[key].trim() === "") continue;
    // Amounts are in the chosen currency's units (two decimals when none is chosen).
    const parsed = parseMajorToCents(form[key], minorDigits(form.currency));
    if (parsed.ok) filter[key] = parsed.cents;
    else errors[key] = parsed.error;
  }
  if (form.siteId.trim() !== "") filter.siteId = form.siteId.trim();
  if (form.declineCode.trim() !== "") filter.declineCode = form.declineCode.trim();
  if (form.currency.trim() !== "") filter.currency = form.currency.trim().toUpperCase();
  if (form.sort !== "createdDesc") filter.sort = form.sort;
  return { filter, errors };
}

/**
 * The form that shows a saved query (the inverse of formToFilter). Absent filters may arrive
 * as null from the backend (serde's `None`), hence the `== null` checks.
 */
export function filterToForm(filter: OrderFilter): FilterForm {
  return {
    state: filter.state ?? "",
    search: filter.search ?? "",
    mit: filter.isMit == null ? "" : filter.isMit ? "mit" : "cit",
    createdFrom: localDay(filter.createdFrom),
    createdTo: localDay(filter.createdTo, 1),
    placedFrom: localDay(filter.placedFrom),
    placedTo: localDay(filter.placedTo, 1),
    amountMin: filter.amountMin == null ? "" : centsToMajor(filter.amountMin, minorDigits(filter.currency ?? "")),
    amountMax: filter.amountMax == null ? "" : centsToMajor(filter.amountMax, minorDigits(filter.currency ?? "")),
    siteId: filter.siteId ?? "",
    declineCode: filter.declineCode ?? "",
    currency: filter.currency ?? "",
    sort: filter.sort ?? "createdDesc",
  };
}

/** How many filter-bar filters are set (state, CIT/MIT and search sit in the toolbar). */
export function extraFilterCount(form: FilterForm): number {
  const keys: (keyof FilterForm)[] = [
    "createdFrom",
    "createdTo",
    "placedFrom",
    "placedTo",
    "amountMin",
    "amountMax",
    "siteId",
    "declineCode",
    "currency",
  ];
  return keys.filter((k) => form[k] !== "").length;
}

/** Clicking a sortable column header: first click sorts descending, a second ascending. */
export function nextSort(current: OrderSort, column: "created" | "amount"): OrderSort {
  if (column === "created") return current === "createdDesc" ? "createdAsc" : "createdDesc";
  return current === "amountDesc" ? "amountAsc" : "amountDesc";
}

/** The time bounds of a filter the date fields can hold. */
export type TimeBounds = Partial<Pick<OrderFilter, "createdFrom" | "createdTo" | "placedFrom" | "placedTo">>;

/**
 * The time bounds of `filter` that are not whole local days (a chart's bar is a UTC day): the
 * local-day date fields would shift them, so they are kept exactly as given (null: none).
 */
export function exactTimes(filter: OrderFilter): TimeBounds | null {
  const out: TimeBounds = {};
  const keys = [
    ["createdFrom", 0],
    ["createdTo", 1],
    ["placedFrom", 0],
    ["placedTo", 1],
  ] as const;
  for (const [key, days] of keys) {
    const iso = filter[key];
    if (iso == null) continue;
    const back = localDayStart(localDay(iso, days), days);
    if (back === null || new Date(back).getTime() !== new Date(iso).getTime()) out[key] = iso;
  }
  return Object.keys(out).length > 0 ? out : null;
}
