// Presentation-only formatting: local time zone, the user's locale, currency display.
// Money stays integer minor units everywhere else; only here is it divided for display.
import { centsToMajor, minorDigits } from "./actions/money";

/**
 * The user's locale, except that a process started with LANG=C resolves to the POSIX variant
 * ("en-US-u-va-posix"), which drops digit grouping; plain en-US reads better there.
 */
function displayLocale(): string | undefined {
  const resolved = new Intl.NumberFormat().resolvedOptions().locale;
  return resolved.includes("-u-va-posix") ? "en-US" : undefined;
}

const locale = displayLocale();
const counts = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
const currencyFormats = new Map<string, Intl.NumberFormat>();
const shortDateTime = new Intl.DateTimeFormat(locale, { dateStyle: "short", timeStyle: "short" });
const longDateTime = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "medium" });

/** "20,000" in the user's locale. */
export function formatCount(n: number): string {
  return counts.format(n);
}

/** "20,000 orders" / "1 order". */
export function pluralize(n: number, singular: string, plural = `${singular}s`): string {
  return `${formatCount(n)} ${n === 1 ? singular : plural}`;
}

/** The currency's format, with exactly the decimals of its ISO 4217 minor unit (Intl's own
 * data differs for a few currencies, e.g. ISK). */
function currencyFormat(currency: string): Intl.NumberFormat | null {
  const code = currency.toUpperCase();
  const digits = minorDigits(code);
  const cached = currencyFormats.get(code);
  if (cached) return cached;
  try {
    const format = new Intl.NumberFormat(locale, {
      style: "currency",
      currency: code,
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
    currencyFormats.set(code, format);
    return format;
  } catch {
    return null; // not an ISO 4217 code Intl knows
  }
}

/** Formats integer minor units in the row's currency (1999 USD → "$19.99", 1999 JPY →
 * "¥1,999", 1999 KWD → "KWD 1.999"). */
export function formatAmount(amountCents: number, currency: string): string {
  const digits = minorDigits(currency);
  const format = currencyFormat(currency);
  if (format) return format.format(amountCents / 10 ** digits);
  return `${Number.isSafeInteger(amountCents) ? centsToMajor(amountCents, digits) : amountCents} ${currency}`.trim();
}

function parseDate(iso: string | null): Date | null {
  if (!iso) return null;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Short local date and time, e.g. "3/14/25, 9:26 AM"; "—" when missing or unparsable. */
export function formatShortDateTime(iso: string | null): string {
  const date = parseDate(iso);
  return date ? shortDateTime.format(date) : "—";
}

/** Full local date and time for tooltips; "" when missing. */
export function formatLongDateTime(iso: string | null): string {
  const date = parseDate(iso);
  return date ? longDateTime.format(date) : "";
}

/** "just now", "5 min ago", "3 h ago", "2 d ago"; "never" for null. */
export function formatRelative(iso: string | null, now: number): string {
  if (iso === null) return "never";
  const date = parseDate(iso);
  if (!date) return "unknown";
  const seconds = Math.round((now - date.getTime()) / 1000);
  if (seconds < 0) return "just now";
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.round(hours / 24)} d ago`;
}

/** First 8 characters of a GUID-like id followed by an ellipsis. */
export function shortId(id: string, keep = 8): string {
  return id.length > keep + 1 ? `${id.slice(0, keep)}…` : id;
}
