// Bulk selection on the Orders table: individual rows by key, or "all matching the filter"
// (which follows the filter's whole result, not just the loaded rows).
import type { OrderCursor, OrderQuery, OrderPage } from "../ipc/bindings";
import type { OrderFilter } from "./orderWindows.svelte";

export class Selection {
  keys = $state<ReadonlySet<string>>(new Set());
  allMatching = $state(false);

  has(key: string): boolean {
    return this.allMatching || this.keys.has(key);
  }

  toggle(key: string): void {
    if (this.allMatching) {
      // Leaving "all matching": keep nothing implicit; the user starts a fresh pick.
      this.allMatching = false;
      this.keys = new Set();
    }
    const next = new Set(this.keys);
    if (next.has(key)) next.delete(key);
    else next.add(key);
    this.keys = next;
  }

  selectAllMatching(): void {
    this.allMatching = true;
    this.keys = new Set();
  }

  clear(): void {
    this.allMatching = false;
    this.keys = new Set();
  }

  /** How many orders are selected, given the filter's total. */
  count(total: number | null): number {
    return this.allMatching ? (total ?? 0) : this.keys.size;
  }

  /** The selected order keys; for "all matching", every key of the filter's result (paged). */
  async resolve(filter: OrderFilter, fetchPage: (q: OrderQuery) => Promise<OrderPage>, max = 10_000): Promise<string[]> {
    if (!this.allMatching) return [...this.keys];
    const out: string[] = [];
    const limit = 1000;
    // Each page starts after the previous page's cursor (an index range scan in the mirror).
    let after: OrderCursor | undefined;
    for (let offset = 0; offset < max; offset += limit) {
      const page = await fetchPage({ ...filter, offset, limit, ...(after ? { after } : {}) });
      out.push(...page.rows.map((r) => r.orderSessionKey));
      if (page.rows.length < limit || out.length >= page.total || !page.next) break;
      after = page.next;
    }
    return out.slice(0, max);
  }
}
