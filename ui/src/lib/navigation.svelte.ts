// Which screen is showing, and the filter another screen hands to the Orders screen
// (a chart bar or KPI click opens exactly the matching orders).
import type { OrderQuery } from "./ipc/bindings";

export type ScreenId = "overview" | "orders" | "review" | "pending" | "batches" | "webhooks" | "audit";

export type ScreenEntry = { id: ScreenId; label: string };

/** The screens in the top bar, in order. A screen appears here once it exists. */
export const SCREENS: ScreenEntry[] = [
  { id: "overview", label: "Overview" },
  { id: "orders", label: "Orders" },
  { id: "pending", label: "Pending rescues" },
  { id: "review", label: "Review queue" },
  { id: "batches", label: "Batches" },
  { id: "webhooks", label: "Webhooks" },
  { id: "audit", label: "Audit log" },
];

/** Filters (beyond state and search) the Orders screen can be opened with. */
export type OrdersPreset = Omit<OrderQuery, "offset" | "limit"> & { title?: string };

export class Navigation {
  current = $state<ScreenId>("orders");
  /** Set by `openOrders`; the Orders screen applies it and clears it. */
  ordersPreset = $state<OrdersPreset | null>(null);

  go(screen: ScreenId): void {
    this.current = screen;
  }

  openOrders(preset: OrdersPreset): void {
    this.ordersPreset = preset;
    this.current = "orders";
  }

  takeOrdersPreset(): OrdersPreset | null {
    const preset = this.ordersPreset;
    this.ordersPreset = null;
    return preset;
  }
}

export const navigation = new Navigation();
