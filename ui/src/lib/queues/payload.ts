// Webhook payloads for display: pretty-printed JSON when it parses, the raw text otherwise.

export function prettyPayload(raw: string | null): string {
  if (raw === null || raw === "") return "(no payload stored)";
  try {
    return JSON.stringify(JSON.parse(raw), null, 2);
  } catch {
    return raw;
  }
}

/** Plain words for the drift kinds the app core reports. */
export function driftKindLabel(kind: string): string {
  switch (kind) {
    case "missing_webhook":
      return "Webhook never arrived";
    case "unknown_order":
      return "Unknown order";
    default:
      return kind.replace(/_/g, " ");
  }
}
