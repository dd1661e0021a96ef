// Fetches the filtered order list in fixed-size windows and caches them by window index.
//
// Invariants:
// - Every fetch is tagged with the query generation it was issued for; a response from an
//   older generation is dropped, so a slow answer to an old filter never shows up.
// - A new filter clears the cache (old rows would be wrong). A refresh of the same filter keeps
//   the previous rows visible as "stale" until their window is re-fetched, so new rows appear
//   without a flash of placeholders.
// - At most `maxWindows` windows stay cached; the ones farthest from the screen go first.
// - A window whose predecessor is cached (this generation) is fetched after the predecessor's
//   keyset cursor (`after`): an index range scan in the mirror however deep the window. Without
//   one (a far jump, e.g. a scrollbar drag, or scrolling up) the window is fetched by offset.
import type { IpcError, OrderCursor, OrderPage, OrderQuery, OrderRow } from "../ipc/bindings";
import { toIpcError } from "../ipc/errors";
import { windowOf, windowsForRange, windowsToEvict, windowsToFetch, type RowRange } from "./virtual";

/** Everything of a query but its window: state, search, and any of the extra filters. */
export type OrderFilter = Omit<OrderQuery, "offset" | "limit" | "after">;

export type OrderWindowsOptions = {
  fetchPage: (query: OrderQuery) => Promise<OrderPage>;
  onError: (error: IpcError) => void;
  windowSize?: number;
  maxWindows?: number;
};

export class OrderWindows {
  /** Total rows matching the filter; null until the first window of this query arrives. */
  total = $state<number | null>(null);
  /** True while any window of the current generation is being fetched. */
  loading = $state(false);
  /** Bumped on every cache change; read by rowAt so the table re-renders. */
  #version = $state(0);

  readonly windowSize: number;
  readonly #maxWindows: number;
  readonly #fetchPage: (query: OrderQuery) => Promise<OrderPage>;
  readonly #onError: (error: IpcError) => void;

  #filter: OrderFilter = { state: null, search: null };
  #generation = 0;
  #windows = new Map<number, OrderRow[]>();
  /** The cursor after each cached window of this generation (null: it was the last page). */
  #nexts = new Map<number, OrderCursor | null>();
  #stale = new Map<number, OrderRow[]>();
  /** The result's size each cached window (fresh or stale) was fetched with. */
  #totals = new Map<number, number>();
  #inflight = new Set<number>();
  #lastRange: RowRange = { start: 0, end: 0 };
  #enabled = false;

  constructor(options: OrderWindowsOptions) {
    this.#fetchPage = options.fetchPage;
    this.#onError = options.onError;
    this.windowSize = options.windowSize ?? 200;
    this.#maxWindows = options.maxWindows ?? 60;
  }

  get filter(): OrderFilter {
    return this.#filter;
  }

  /**
   * Starts a new query: drops every cached row and fetches what is on screen. `enabled` is false
   * while there is no account to query.
   */
  setQuery(filter: OrderFilter, enabled: boolean): void {
    this.#filter = filter;
    this.#enabled = enabled;
    this.#restart(false);
  }

  /** Same query, fresh data (e.g. the mirror grew): keeps old rows visible until replaced. */
  refresh(): void {
    this.#restart(true);
  }

  /** The row at `index` of the current result, or undefined when not loaded yet. */
  rowAt(index: number): OrderRow | undefined {
    void this.#version;
    const { window, offset } = windowOf(index, this.windowSize);
    return (this.#windows.get(window) ?? this.#stale.get(window))?.[offset];
  }

  /** The result's size the row at `index` was fetched with (its place counts in a result of
   * that size), or undefined when not loaded. */
  totalAt(index: number): number | undefined {
    void this.#version;
    const { window } = windowOf(index, this.windowSize);
    return this.#windows.has(window) || this.#stale.has(window) ? this.#totals.get(window) : undefined;
  }

  /** The row at `index` is loaded and fetched for the current query and data (not a stale
   * row kept visible until its window is fetched again). */
  isFresh(index: number): boolean {
    void this.#version;
    return this.#windows.has(windowOf(index, this.windowSize).window);
  }

  /** Drops everything (e.g. another account became active) and starts over. */
  reset(): void {
    this.#restart(false);
  }

  /**
   * Makes sure the windows covering `range` are cached or on their way. Call it again when
   * `total` changes: while the total is unknown only window 0 is fetched, to learn it.
   */
  ensure(range: RowRange): void {
    this.#lastRange = range;
    if (!this.#enabled) return;
    // With the total unknown, or nothing on screen (e.g. an empty result that may have grown),
    // fetch window 0: its answer carries the current total.
    const onScreen = windowsForRange(range, this.windowSize);
    const needed = this.total === null || onScreen.length === 0 ? [0] : onScreen;
    for (const w of windowsToFetch(needed, this.#windows, this.#inflight)) void this.#fetch(w);
    const evict = windowsToEvict(this.#windows.keys(), needed, this.#maxWindows);
    if (evict.length > 0) {
      for (const w of evict) {
        this.#windows.delete(w);
        this.#nexts.delete(w);
      }
      this.#version++;
    }
  }

  #restart(keepStale: boolean): void {
    this.#generation++;
    this.#stale = keepStale ? new Map([...this.#stale, ...this.#windows]) : new Map();
    const needed = windowsForRange(this.#lastRange, this.windowSize);
    for (const w of windowsToEvict(this.#stale.keys(), needed, this.#maxWindows)) this.#stale.delete(w);
    if (!keepStale) this.#totals = new Map();
    for (const w of [...this.#totals.keys()]) if (!this.#stale.has(w)) this.#totals.delete(w);
    this.#windows = new Map();
    this.#nexts = new Map();
    this.#inflight = new Set();
    if (!keepStale) this.total = null;
    this.loading = false;
    this.#version++;
    this.ensure(this.#lastRange);
  }

  async #fetch(window: number): Promise<void> {
    const generation = this.#generation;
    this.#inflight.add(window);
    this.loading = true;
    const after = this.#nexts.get(window - 1);
    const query: OrderQuery = {
      ...this.#filter,
      offset: window * this.windowSize,
      limit: this.windowSize,
      ...(after ? { after } : {}),
    };
    try {
      const page = await this.#fetchPage(query);
      if (generation !== this.#generation) return; // answer to an older query
      this.#windows.set(window, page.rows);
      this.#totals.set(window, page.total);
      this.#nexts.set(window, page.next);
      this.#stale.delete(window);
      if (this.total !== page.total) this.#trimTo(page.total);
      this.total = page.total;
      this.#version++;
    } catch (e) {
      if (generation !== this.#generation) return;
      this.#onError(toIpcError(e));
    } finally {
      if (generation === this.#generation) {
        this.#inflight.delete(window);
        this.loading = this.#inflight.size > 0;
      }
    }
  }

  /** Drops stale windows beyond a shrunken total. */
  #trimTo(total: number): void {
    const lastWindow = Math.ceil(total / this.windowSize) - 1;
    for (const w of [...this.#stale.keys()]) if (w > lastWindow) this.#stale.delete(w);
  }
}
