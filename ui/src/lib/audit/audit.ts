// Audit log presentation: short hashes, the verify verdict in plain words, paging.
import type { AuditVerificationDto } from "../ipc/bindings";

export const AUDIT_PAGE_SIZE = 50;

/** The first characters of a hex hash, enough to compare by eye. */
export function shortHash(hash: string, keep = 10): string {
  return hash.length > keep ? hash.slice(0, keep) : hash;
}

/** "entry 3 was changed…" → "Entry 3 was changed…". */
function sentence(text: string): string {
  const t = text.trim();
  if (t === "") return t;
  const capital = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

export type Verdict = { ok: boolean; headline: string; detail: string };

/** What a verification means and, when it failed, what to do next. */
export function verdictText(v: AuditVerificationDto): Verdict {
  const entries = `${v.checked} ${v.checked === 1 ? "entry" : "entries"}`;
  if (v.ok) {
    return { ok: true, headline: "Audit log intact", detail: `All ${entries} verified: none was edited or deleted.` };
  }
  const problem = v.problem ? sentence(v.problem) : `Entry ${v.firstBadSeq ?? "?"} does not match its hash.`;
  const from = v.firstBadSeq !== null ? ` Entries from ${v.firstBadSeq} on cannot be trusted.` : "";
  return {
    ok: false,
    headline: "Audit log has been tampered with",
    detail: `${problem}${from} Keep a copy of the database file and tell whoever looks after FlexDesk.`,
  };
}

/** Page label "entries 51–100"; the log is newest first. */
export function pageLabel(offset: number, shown: number): string {
  if (shown === 0) return offset === 0 ? "No entries" : "No more entries";
  return `Entries ${offset + 1}–${offset + shown}`;
}
