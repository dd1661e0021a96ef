// Human labels for the kinds of an order's timeline entries (the raw kind stays in data-kind).

const FIXED: Record<string, string> = {
  evaluate: "Evaluate",
  poll: "Read from the API",
  "batch:row": "Batch row",
  "action:refund": "Refund",
  "action:cancel": "Cancel",
  "action:external_cancel": "Cancel by merchant id",
  "action:capture": "Capture",
  "action:replay": "Webhook replayed",
};

/** "webhook:order.refunded" → "Webhook order.refunded"; unknown kinds are shown as they are. */
export function timelineKindLabel(kind: string): string {
  const fixed = FIXED[kind];
  if (fixed !== undefined) return fixed;
  if (kind.startsWith("webhook:")) return `Webhook ${kind.slice("webhook:".length)}`;
  return kind;
}
