// Keyboard shortcuts, decided as a pure function of the key event so they can be tested.

export type Shortcut = "focus-search" | "next-row" | "previous-row" | "escape";

export type KeyInput = {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  /** The event target is a text field, select, or contenteditable. */
  inEditable: boolean;
};

/** The shortcut a key press triggers, or null to let the browser handle it. */
export function shortcutFor(input: KeyInput): Shortcut | null {
  if (input.key === "Escape") return "escape";
  if (input.ctrlKey || input.metaKey || input.altKey || input.inEditable) return null;
  switch (input.key) {
    case "/":
      return "focus-search";
    case "j":
      return "next-row";
    case "k":
      return "previous-row";
    default:
      return null;
  }
}

/** True for fields a person types text into (not a checkbox, radio or dropdown). */
export function isTextEntry(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || target.tagName === "TEXTAREA") return true;
  if (!(target instanceof HTMLInputElement)) return false;
  return !["checkbox", "radio", "button", "submit", "reset", "range", "color", "file"].includes(target.type);
}

/** True for elements that take typed text (where single-letter shortcuts must not fire). */
export function isEditableTarget(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
}
