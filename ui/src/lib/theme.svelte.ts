// Theme preference: follow the system (default), or force light/dark. Persisted locally and
// applied as data-theme on <html>; app.css holds the colours.

export type ThemePreference = "system" | "light" | "dark";

const STORAGE_KEY = "flexdesk.theme";
const ORDER: readonly ThemePreference[] = ["system", "light", "dark"];

function readStored(): ThemePreference {
  try {
    const value = localStorage.getItem(STORAGE_KEY);
    return ORDER.find((t) => t === value) ?? "system";
  } catch {
    return "system";
  }
}

export class Theme {
  preference = $state<ThemePreference>(readStored());

  constructor() {
    this.#apply();
  }

  /** system → light → dark → system. */
  cycle(): void {
    const next = ORDER[(ORDER.indexOf(this.preference) + 1) % ORDER.length] ?? "system";
    this.preference = next;
    try {
      localStorage.setItem(STORAGE_KEY, next);
    } catch {
      // storage unavailable: the choice lasts for this session only
    }
    this.#apply();
  }

  #apply(): void {
    const root = document.documentElement;
    if (this.preference === "system") delete root.dataset.theme;
    else root.dataset.theme = this.preference;
  }
}
