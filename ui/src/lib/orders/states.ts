// Human labels and pill tones for the derived order state (DESIGN §3).
import type { OrderState } from "../ipc/bindings";

export type PillTone = "neutral" | "info" | "warning" | "success" | "danger" | "muted" | "accent";

type StatePresentation = { label: string; tone: PillTone };

const PRESENTATION: Record<OrderState, StatePresentation> = {
  pending: { label: "Pending", tone: "info" },
  challenge: { label: "Challenge", tone: "accent" },
  captureRequired: { label: "Capture required", tone: "warning" },
  approved: { label: "Approved", tone: "success" },
  partiallyRefunded: { label: "Partially refunded", tone: "neutral" },
  refunded: { label: "Refunded", tone: "neutral" },
  declined: { label: "Declined", tone: "danger" },
  expired: { label: "Expired", tone: "muted" },
  cancelled: { label: "Cancelled", tone: "muted" },
  onHold: { label: "On hold", tone: "warning" },
  problem: { label: "Problem", tone: "danger" },
  chargeback: { label: "Chargeback", tone: "danger" },
};

/** Every state in lifecycle order, as offered by the state filter. */
export const ORDER_STATES: readonly OrderState[] = [
  "pending",
  "challenge",
  "captureRequired",
  "approved",
  "partiallyRefunded",
  "refunded",
  "declined",
  "expired",
  "cancelled",
  "onHold",
  "problem",
  "chargeback",
];

export function stateLabel(state: OrderState): string {
  return PRESENTATION[state].label;
}

export function stateTone(state: OrderState): PillTone {
  return PRESENTATION[state].tone;
}

/** Parses a filter select value; "" and unknown values mean "all states". */
export function parseStateFilter(value: string): OrderState | null {
  return ORDER_STATES.find((s) => s === value) ?? null;
}
