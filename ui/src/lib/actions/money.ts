// Exact conversion between what people type (major units, "12.34") and integer minor units.
// String arithmetic only: no floating point ever touches an amount. A currency's minor unit
// has 2 decimals unless ISO 4217 says otherwise (JPY 0, KWD 3: the table comes from Rust).
import { CURRENCY_MINOR_DIGITS } from "../ipc/bindings";

/** Decimals of the minor unit of most currencies (USD, CAD, EUR …). */
export const MINOR_DIGITS = 2;

/** Decimals of `currency`'s minor unit: 10^digits minor units make one major unit. */
export function minorDigits(currency: string): number {
  return CURRENCY_MINOR_DIGITS[currency.trim().toUpperCase()] ?? MINOR_DIGITS;
}

export type ParsedAmount = { ok: true; cents: number } | { ok: false; error: string };

const AMOUNT = /^(\d+)(?:[.,](\d*))?$/;

/**
 * Parses a non-negative major-unit amount ("12", "12.3", "12.34", "1,234.50" with grouping
 * commas) into exact minor units of a currency with `digits` decimals. More decimals than
 * that, signs, exponents and other text are refused with a plain-words error.
 */
export function parseMajorToCents(text: string, digits = MINOR_DIGITS): ParsedAmount {
  let t = text.trim().replace(/\s/g, "");
  if (t === "") return { ok: false, error: "Enter an amount." };
  // "1,234.56": commas followed by a dot are thousands separators.
  if (t.includes(",") && t.includes(".")) {
    if (!/^\d{1,3}(,\d{3})*\.\d*$/.test(t)) return { ok: false, error: "That is not an amount." };
    t = t.replace(/,/g, "");
  } else if (digits !== 2 && /^\d{1,3}(,\d{3})+$/.test(t)) {
    // "1,500": thousands for a currency without decimals; for one with three it could be
    // either, so it is refused rather than guessed.
    if (digits !== 0) return { ok: false, error: "Is that a thousands comma or a decimal one? Write it without the comma, with a point for decimals." };
    t = t.replace(/,/g, "");
  }
  const match = AMOUNT.exec(t);
  if (!match) return { ok: false, error: "That is not an amount: use digits and at most one decimal point." };
  const whole = match[1] ?? "0";
  const fraction = match[2] ?? "";
  if (fraction.length > digits) {
    return { ok: false, error: digits === 0 ? "Use whole amounts: this currency has no decimals." : `Use at most ${digits} decimals.` };
  }
  const minor = (whole + fraction.padEnd(digits, "0")).replace(/^0+(?=\d)/, "");
  if (minor.length > 15) return { ok: false, error: "That amount is too large." };
  const cents = Number(minor);
  if (!Number.isSafeInteger(cents)) return { ok: false, error: "That amount is too large." };
  return { ok: true, cents };
}

/** Exact major-unit text for integer minor units: 1234 → "12.34", -5 → "-0.05"; with 0
 * decimals 1234 → "1234", with 3 → "1.234". */
export function centsToMajor(cents: number, digits = MINOR_DIGITS): string {
  if (!Number.isSafeInteger(cents)) throw new RangeError(`not an integer amount: ${cents}`);
  const sign = cents < 0 ? "-" : "";
  if (digits === 0) return `${sign}${Math.abs(cents)}`;
  const text = String(Math.abs(cents)).padStart(digits + 1, "0");
  return `${sign}${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

/** A refund amount checked against what can still be refunded; nothing is sent when not ok. */
export function checkRefundAmount(text: string, remainingCents: number, digits = MINOR_DIGITS): ParsedAmount {
  const parsed = parseMajorToCents(text, digits);
  if (!parsed.ok) return parsed;
  if (parsed.cents <= 0) return { ok: false, error: "The refund must be more than zero." };
  if (parsed.cents > remainingCents) {
    return {
      ok: false,
      error: `That is more than the ${centsToMajor(remainingCents, digits)} that can still be refunded.`,
    };
  }
  return parsed;
}
