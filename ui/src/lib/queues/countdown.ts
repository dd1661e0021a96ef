// Pending rescues: the live expiryDateUtc countdown and the expiry buckets (the same
// thresholds as the app core's `bucket`, so a row moves to the next bucket as time passes).
import type { ExpiryBucket } from "../ipc/bindings";

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The buckets in the order the screen shows them, with their labels. */
export const BUCKETS: readonly { id: ExpiryBucket; label: string }[] = [
  { id: "overdue", label: "Overdue" },
  { id: "under24h", label: "Expires < 24 h" },
  { id: "under7d", label: "Expires < 7 days" },
  { id: "later", label: "Later" },
  { id: "noExpiry", label: "No expiry" },
];

export function bucketLabel(bucket: ExpiryBucket): string {
  return BUCKETS.find((b) => b.id === bucket)?.label ?? bucket;
}

/** Seconds from `nowMs` until `expiryAt` (negative once passed); null without an expiry. */
export function secondsUntil(expiryAt: string | null, nowMs: number): number | null {
  if (expiryAt === null) return null;
  const t = Date.parse(expiryAt);
  if (Number.isNaN(t)) return null;
  return Math.floor((t - nowMs) / 1000);
}

/** The bucket for a number of seconds left (null: no expiry). */
export function bucketFor(secondsLeft: number | null): ExpiryBucket {
  if (secondsLeft === null) return "noExpiry";
  if (secondsLeft < 0) return "overdue";
  if (secondsLeft < DAY) return "under24h";
  if (secondsLeft < 7 * DAY) return "under7d";
  return "later";
}

function span(seconds: number): string {
  const s = Math.abs(seconds);
  const d = Math.floor(s / DAY);
  const h = Math.floor((s % DAY) / HOUR);
  const m = Math.floor((s % HOUR) / MINUTE);
  const sec = s % MINUTE;
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${String(m).padStart(2, "0")} min`;
  if (m > 0) return `${m} min ${String(sec).padStart(2, "0")} s`;
  return `${sec} s`;
}

/** "3 d 4 h", "5 h 07 min", "2 min 09 s", "overdue by 1 h 00 min", "no expiry". */
export function formatCountdown(secondsLeft: number | null): string {
  if (secondsLeft === null) return "no expiry";
  if (secondsLeft < 0) return `overdue by ${span(secondsLeft)}`;
  return span(secondsLeft);
}

export type BucketGroup<T> = { bucket: ExpiryBucket; label: string; items: T[] };

/**
 * Groups items into every bucket (empty ones included, so counts read 0), in display order,
 * keeping each item's input order inside its bucket.
 */
export function groupByBucket<T>(items: readonly T[], bucketOf: (item: T) => ExpiryBucket): BucketGroup<T>[] {
  const groups = BUCKETS.map((b) => ({ bucket: b.id, label: b.label, items: [] as T[] }));
  for (const item of items) {
    const bucket = bucketOf(item);
    groups.find((g) => g.bucket === bucket)?.items.push(item);
  }
  return groups;
}
