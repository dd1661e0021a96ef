// Shortcut hints the palette shows beside its "Go to …" commands.
import type { ScreenId } from "../navigation.svelte";
import { GO_KEYS } from "./keys";

export const GLOBAL_GO_HINTS: Partial<Record<ScreenId, string>> = Object.fromEntries(
  Object.entries(GO_KEYS).map(([letter, screen]) => [screen, `g ${letter}`]),
);
