// Pure logic of the Overview screen: the date range, the effective chart theme, and turning
// a KPI's or bar's drill-down filters into the Orders screen's preset.
import type { ChartKind, ChartTheme, DrillDto, OverviewQuery } from "../ipc/bindings";
import type { OrdersPreset } from "../navigation.svelte";
import type { ThemePreference } from "../theme.svelte";

/** Quick ranges (days, ending today) offered in the range selector. */
export const RANGE_PRESETS = [7, 30, 90, 365] as const;
export const DEFAULT_RANGE_DAYS = 90;

/** Every chart on the Overview, in display order. */
export const CHART_KINDS: { kind: ChartKind; timeBased: boolean }[] = [
  { kind: "recovered-amount", timeBased: true },
  { kind: "recovery-rate", timeBased: true },
  { kind: "funnel", timeBased: false },
  { kind: "cit-vs-mit", timeBased: false },
  { kind: "decline-codes", timeBased: false },
  { kind: "mit-cohorts", timeBased: false },
  { kind: "days-to-rescue", timeBased: false },
  { kind: "pending-expiry", timeBased: false },
];

/** `YYYY-MM-DD` of a time, in UTC (the charts bucket by UTC day). */
export function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** The last `days` UTC days up to and including `today`. */
export function lastDays(days: number, today: Date): { from: string; to: string } {
  const start = new Date(today.getTime() - (Math.max(1, days) - 1) * 86_400_000);
  return { from: utcDay(start), to: utcDay(today) };
}

/** True when both ends are dates and the range is not backwards. */
export function validRange(range: { from: string; to: string }): boolean {
  const ok = (s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`));
  return ok(range.from) && ok(range.to) && range.from <= range.to;
}

export function overviewQuery(
  range: { from: string; to: string },
  accountId: string | null,
  currency: string | null,
): OverviewQuery {
  return { from: range.from, to: range.to, accountId, currency };
}

/** The theme the charts are drawn in: the forced one, else the system's. */
export function effectiveTheme(preference: ThemePreference, systemPrefersDark: boolean): ChartTheme {
  if (preference === "light" || preference === "dark") return preference;
  return systemPrefersDark ? "dark" : "light";
}

/** The Orders screen's preset for a drill-down: only the filters that are set. */
export function presetFromDrill(drill: DrillDto): OrdersPreset {
  const preset: OrdersPreset = { state: null, search: null, title: drill.title };
  if (drill.states.length > 0) preset.states = [...drill.states];
  if (drill.isMit !== null) preset.isMit = drill.isMit;
  if (drill.createdFrom !== null) preset.createdFrom = drill.createdFrom;
  if (drill.createdTo !== null) preset.createdTo = drill.createdTo;
  if (drill.declineCode !== null) preset.declineCode = drill.declineCode;
  if (drill.currency !== null) preset.currency = drill.currency;
  if (drill.sort !== null) preset.sort = drill.sort;
  return preset;
}

/** The `(series, point)` a click or hover landed on, from the SVG hit area's data attributes. */
export function hitIndices(target: EventTarget | null): { series: number; point: number } | null {
  if (typeof Element === "undefined" || !(target instanceof Element)) return null;
  const hit = target.closest("[data-series][data-point]");
  if (!hit) return null;
  const series = Number(hit.getAttribute("data-series"));
  const point = Number(hit.getAttribute("data-point"));
  return Number.isInteger(series) && Number.isInteger(point) ? { series, point } : null;
}

/** Chart width to render at: the card's width rounded down to 40 px (fewer re-renders). */
export function renderWidth(clientWidth: number): number {
  return Math.max(320, Math.floor(clientWidth / 40) * 40);
}
