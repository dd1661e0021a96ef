// Pure helpers of the Batches screen: bad-row listing, upload gating, progress steps and
// outcome tones. No IPC here, so vitest covers them directly.
import type { AmountsRead, BatchDraftView, BatchRowView, BatchView } from "../ipc/bindings";
import { formatAmount } from "../format";
import { minorDigits } from "../actions/money";

/** One problem of one row, as the bad-rows table lists it. */
export type BadRowIssue = {
  line: number;
  orderId: string | null;
  field: string;
  kind: string;
  reason: string;
  value: string;
};

/** Every issue of every invalid row, by line then field. */
export function badRowIssues(draft: BatchDraftView | null): BadRowIssue[] {
  if (!draft) return [];
  const out: BadRowIssue[] = [];
  for (const row of draft.rows) {
    for (const issue of row.issues) {
      out.push({
        line: issue.line,
        orderId: row.orderId,
        field: issue.field,
        kind: issue.kind,
        reason: issue.reason,
        value: issue.value,
      });
    }
  }
  return out.sort((a, b) => a.line - b.line || a.field.localeCompare(b.field));
}

/** Whether a field can be fixed by typing a value (row-level problems cannot). */
export function isFixable(field: string): boolean {
  return field !== "row" && field !== "";
}

/**
 * Why the draft cannot be uploaded, or null when it can: nothing leaves the machine until
 * the validated draft is the text on screen and every remaining row is valid.
 */
export function uploadBlocker(draft: BatchDraftView | null, changed: boolean): string | null {
  if (!draft) return "Validate a CSV or JSON batch first.";
  if (changed) return "The text or kind changed since it was validated: validate again.";
  if (draft.invalid > 0) return `${draft.invalid} row${draft.invalid === 1 ? "" : "s"} still have problems: fix or drop them.`;
  if (draft.valid === 0) return "No rows left to upload.";
  return null;
}

/** The progress steps of a batch, in order. */
export const STEPS = ["built", "uploading", "uploaded", "answered"] as const;
export type Step = (typeof STEPS)[number];

export const STEP_LABELS: Record<Step, string> = {
  built: "Built",
  uploading: "Uploading",
  uploaded: "Waiting for the response",
  answered: "Answered",
};

/** "done" | "current" | "todo" for each step, given the batch status. */
export function stepState(status: string, step: Step): "done" | "current" | "todo" {
  const at = STEPS.indexOf(status as Step);
  const i = STEPS.indexOf(step);
  if (status === "answered") return "done";
  if (at < 0) return i === 0 ? "done" : "todo"; // failed: built, the rest pending
  if (i < at) return "done";
  return i === at ? "current" : "todo";
}

/** Bytes sent over bytes to send, 0–1. */
export function uploadFraction(batch: BatchView): number {
  const total = batch.files.reduce((n, f) => n + f.size, 0);
  if (total === 0) return 0;
  const sent = batch.files.reduce(
    (n, f) => n + (f.status === "uploaded" || f.status === "answered" ? f.size : Math.min(f.sentBytes, f.size)),
    0,
  );
  return sent / total;
}

/**
 * Whether the screen polls for this batch: only while its files are being sent (the bytes
 * sent are not mirror events). A batch waiting for FlexFactor's response, possibly for a
 * day, changes only through mirror events, which reload the list anyway.
 */
export function inFlight(batch: BatchView): boolean {
  return (batch.status === "built" || batch.status === "uploading") && !batch.stalled;
}

/** A colour family for a row outcome. */
export function outcomeTone(status: string | null): "pending" | "good" | "bad" | "neutral" {
  if (!status) return "pending";
  const s = status.toUpperCase();
  if (s === "ERROR" || s === "DECLINED" || s === "REJECTED" || s === "FAILED") return "bad";
  if (s === "APPROVED" || s === "SUBMITTED" || s === "SUCCESS" || s === "CAPTURED") return "good";
  return "neutral";
}

/** Row outcomes counted by status ("waiting" for rows not answered yet). */
export function outcomeCounts(rows: BatchRowView[]): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const r of rows) {
    const k = r.status ?? "waiting";
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/**
 * How a draft's amounts were read, in one sentence: the column, the unit, the range and the
 * total as they will be charged. Dollars read as cents (49 → 0.49) show here before upload.
 */
export function amountsSentence(a: AmountsRead): string {
  const one = a.currencies.length === 1 ? a.currencies[0] : null;
  // Mixed currencies: major units only when they all have two decimals, else minor units.
  const twoDecimals = a.currencies.every((c) => minorDigits(c) === 2);
  const money = (cents: number) =>
    one ? formatAmount(cents, one) : twoDecimals ? (cents / 100).toFixed(2) : `${cents} minor units`;
  const from = a.header ? `from ${a.unit === "mixed" ? "columns" : "column"} “${a.header}” ` : "";
  const unit =
    a.unit === "major"
      ? "in major units (19.99 = 1999 cents)"
      : a.unit === "mixed"
        ? "from a cents and a major-units column"
        : "in cents (1999 = 19.99)";
  const range = a.smallestCents === a.largestCents ? money(a.smallestCents) : `${money(a.smallestCents)} to ${money(a.largestCents)}`;
  const total = one ? `, ${money(a.totalCents)} in all` : ` (${a.currencies.join(", ")})`;
  return `Amounts ${from}read ${unit}: ${range} per row${total}.`;
}

