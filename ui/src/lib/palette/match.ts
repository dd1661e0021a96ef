// Command palette matching: every typed word must appear in the command's label or keywords,
// as a substring or at least as a subsequence; closer matches rank first.

export type PaletteCommand = {
  id: string;
  label: string;
  /** Extra words that find the command ("refresh" for Sync now). */
  keywords?: string;
  /** Shortcut hint shown beside the label, e.g. "g p". */
  hint?: string;
  run: () => void;
};

function isSubsequence(needle: string, haystack: string): boolean {
  let i = 0;
  for (const ch of haystack) {
    if (ch === needle[i]) i++;
    if (i === needle.length) return true;
  }
  return needle.length === 0;
}

/** A score for one word against a text (higher is better), or null when it does not match. */
function wordScore(word: string, label: string, keywords: string): number | null {
  if (label.startsWith(word)) return 100;
  if (label.split(/\s+/).some((w) => w.startsWith(word))) return 80;
  if (label.includes(word)) return 60;
  if (keywords.split(/\s+/).some((w) => w.startsWith(word))) return 50;
  if (keywords.includes(word)) return 40;
  if (isSubsequence(word, label)) return 20;
  return null;
}

/** The commands matching `query`, best first (stable for ties); all of them for an empty query. */
export function matchCommands<T extends Pick<PaletteCommand, "label" | "keywords">>(query: string, commands: readonly T[]): T[] {
  const words = query.toLowerCase().trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...commands];
  const scored: { command: T; score: number; index: number }[] = [];
  commands.forEach((command, index) => {
    const label = command.label.toLowerCase();
    const keywords = (command.keywords ?? "").toLowerCase();
    let score = 0;
    for (const word of words) {
      const s = wordScore(word, label, keywords);
      if (s === null) return;
      score += s;
    }
    scored.push({ command, score, index });
  });
  return scored.sort((a, b) => b.score - a.score || a.index - b.index).map((s) => s.command);
}
