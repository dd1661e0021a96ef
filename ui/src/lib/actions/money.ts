// Exact conversion between what people type (major units, "12.34") and integer minor units.
// String arithmetic only: no floating point ever touches an amount.

/** Minor units per major unit is 10^MINOR_DIGITS for every currency FlexDesk shows. */
export const MINOR_DIGITS = 2;

export type ParsedAmount = { ok: true; cents: number } | { ok: false; error: string };

const AMOUNT = /^(\d+)(?:[.,](\d*))?$/;

/**
 * Parses a non-negative major-unit amount ("12", "12.3", "12.34", "1,234.50" with grouping
 * commas) into exact cents. More than two decimals, signs, exponents and other text are
 * refused with a plain-words error.
 */
export function parseMajorToCents(text: string): ParsedAmount {
  let t = text.trim().replace(/\s/g, "");
  if (t === "") return { ok: false, error: "Enter an amount." };
  // "1,234.56": commas followed by a dot are thousands separators.
  if (t.includes(",") && t.includes(".")) {
    if (!/^\d{1,3}(,\d{3})*\.\d*$/.test(t)) return { ok: false, error: "That is not an amount." };
    t = t.replace(/,/g, "");
  }
  const match = AMOUNT.exec(t);
  if (!match) return { ok: false, error: "That is not an amount: use digits and at most one decimal point." };
  const whole = match[1] ?? "0";
  const fraction = match[2] ?? "";
  if (fraction.length > MINOR_DIGITS) return { ok: false, error: `Use at most ${MINOR_DIGITS} decimals.` };
  const digits = (whole + fraction.padEnd(MINOR_DIGITS, "0")).replace(/^0+(?=\d)/, "");
  if (digits.length > 15) return { ok: false, error: "That amount is too large." };
  const cents = Number(digits);
  if (!Number.isSafeInteger(cents)) return { ok: false, error: "That amount is too large." };
  return { ok: true, cents };
}

/** Exact major-unit text for integer cents: 1234 → "12.34", -5 → "-0.05". */
export function centsToMajor(cents: number): string {
  if (!Number.isSafeInteger(cents)) throw new RangeError(`not an integer amount: ${cents}`);
  const sign = cents < 0 ? "-" : "";
  const digits = String(Math.abs(cents)).padStart(MINOR_DIGITS + 1, "0");
  return `${sign}${digits.slice(0, -MINOR_DIGITS)}.${digits.slice(-MINOR_DIGITS)}`;
}

/** A refund amount checked against what can still be refunded; nothing is sent when not ok. */
export function checkRefundAmount(text: string, remainingCents: number): ParsedAmount {
  const parsed = parseMajorToCents(text);
  if (!parsed.ok) return parsed;
  if (parsed.cents <= 0) return { ok: false, error: "The refund must be more than zero." };
  if (parsed.cents > remainingCents) {
    return {
      ok: false,
      error: `That is more than the ${centsToMajor(remainingCents)} that can still be refunded.`,
    };
  }
  return parsed;
}
