// App-wide keys: "?" for the shortcut sheet, Ctrl/Cmd+K for the command palette, and "g" then
// a letter to jump to a screen. A pure function of the key event and the pending "g".
import type { KeyInput } from "../shortcuts";
import type { ScreenId } from "../navigation.svelte";

/** "g" then one of these letters opens the screen. */
export const GO_KEYS: Readonly<Record<string, ScreenId>> = {
  v: "overview",
  o: "orders",
  p: "pending",
  r: "review",
  b: "batches",
  w: "webhooks",
  a: "audit",
};

/** How long after "g" the second letter counts. */
export const GO_TIMEOUT_MS = 1500;

export type GlobalAction =
  | { kind: "palette" }
  | { kind: "sheet" }
  | { kind: "await-go" }
  | { kind: "go"; screen: ScreenId }
  | null;

/** What a key press does app-wide; `awaitingGo` is true right after a lone "g". */
export function globalKeyFor(input: KeyInput, awaitingGo: boolean): GlobalAction {
  if ((input.ctrlKey || input.metaKey) && !input.altKey && input.key.toLowerCase() === "k") return { kind: "palette" };
  if (input.ctrlKey || input.metaKey || input.altKey || input.inEditable) return null;
  if (awaitingGo) {
    const screen = GO_KEYS[input.key];
    return screen ? { kind: "go", screen } : null;
  }
  if (input.key === "?") return { kind: "sheet" };
  if (input.key === "g") return { kind: "await-go" };
  return null;
}

export type ShortcutHelp = { keys: string[]; action: string; where: string };

/** Every keyboard shortcut, as the shortcut sheet lists them. */
export const SHORTCUT_LIST: readonly ShortcutHelp[] = [
  { keys: ["Ctrl", "K"], action: "Open the command palette (Cmd+K on macOS)", where: "Anywhere" },
  { keys: ["?"], action: "Show this shortcut sheet", where: "Anywhere" },
  { keys: ["g", "o"], action: "Go to Orders", where: "Anywhere" },
  { keys: ["g", "p"], action: "Go to Pending rescues", where: "Anywhere" },
  { keys: ["g", "r"], action: "Go to Review queue", where: "Anywhere" },
  { keys: ["g", "a"], action: "Go to Audit log", where: "Anywhere" },
  { keys: ["g", "w"], action: "Go to Webhooks", where: "Anywhere" },
  { keys: ["g", "v"], action: "Go to Overview (when present)", where: "Anywhere" },
  { keys: ["g", "b"], action: "Go to Batches (when present)", where: "Anywhere" },
  { keys: ["/"], action: "Search orders", where: "Orders" },
  { keys: ["j"], action: "Next row", where: "Orders, Pending rescues, Review queue" },
  { keys: ["k"], action: "Previous row", where: "Orders, Pending rescues, Review queue" },
  { keys: ["x"], action: "Select or unselect the current row", where: "Pending rescues" },
  { keys: ["Enter"], action: "Open the current row's order", where: "Pending rescues, Review queue" },
  { keys: ["Esc"], action: "Close a dialog, clear the search", where: "Anywhere" },
  { keys: ["↑", "↓", "Enter"], action: "Choose and run a command", where: "Command palette" },
];
