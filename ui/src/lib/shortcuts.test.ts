import { describe, expect, it } from "vitest";
import { shortcutFor, type KeyInput } from "./shortcuts";

const key = (k: string, extra: Partial<KeyInput> = {}): KeyInput => ({
  key: k,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  inEditable: false,
  ...extra,
});

describe("shortcutFor", () => {
  it("maps slash, j and k outside text fields", () => {
    expect(shortcutFor(key("/"))).toBe("focus-search");
    expect(shortcutFor(key("j"))).toBe("next-row");
    expect(shortcutFor(key("k"))).toBe("previous-row");
  });

  it("lets typing in a text field through untouched", () => {
    expect(shortcutFor(key("/", { inEditable: true }))).toBeNull();
    expect(shortcutFor(key("j", { inEditable: true }))).toBeNull();
  });

  it("handles Escape even inside a text field", () => {
    expect(shortcutFor(key("Escape", { inEditable: true }))).toBe("escape");
  });

  it("ignores keys combined with modifiers", () => {
    expect(shortcutFor(key("k", { ctrlKey: true }))).toBeNull();
    expect(shortcutFor(key("j", { metaKey: true }))).toBeNull();
  });
});
