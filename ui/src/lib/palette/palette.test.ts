import { describe, expect, it } from "vitest";
import { matchCommands } from "./match";
import { globalKeyFor, SHORTCUT_LIST } from "./keys";
import type { KeyInput } from "../shortcuts";

const commands = [
  { label: "Go to Orders" },
  { label: "Go to Pending rescues" },
  { label: "Go to Review queue" },
  { label: "Go to Audit log" },
  { label: "Sync now", keywords: "refresh fetch" },
  { label: "Verify audit log", keywords: "tamper hash chain" },
  { label: "Toggle theme", keywords: "dark light mode" },
];

const labels = (q: string) => matchCommands(q, commands).map((c) => c.label);

describe("matchCommands", () => {
  it("returns every command for an empty query", () => {
    expect(labels("  ")).toHaveLength(commands.length);
  });
  it("ranks a label prefix above a word start above a substring", () => {
    expect(labels("verify")[0]).toBe("Verify audit log");
    expect(labels("audit")).toEqual(["Go to Audit log", "Verify audit log"]);
  });
  it("requires every word to match", () => {
    expect(labels("go pend")).toEqual(["Go to Pending rescues"]);
    expect(labels("go zebra")).toEqual([]);
  });
  it("finds commands by keyword and by subsequence", () => {
    expect(labels("dark")).toEqual(["Toggle theme"]);
    expect(labels("refresh")).toEqual(["Sync now"]);
    expect(labels("rvq")).toContain("Go to Review queue");
  });
  it("is case-insensitive", () => {
    expect(labels("SYNC")).toEqual(["Sync now"]);
  });
});

const key = (k: string, extra: Partial<KeyInput> = {}): KeyInput => ({
  key: k,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  inEditable: false,
  ...extra,
});

describe("globalKeyFor", () => {
  it("opens the palette with Ctrl+K or Cmd+K, even in a text field", () => {
    expect(globalKeyFor(key("k", { ctrlKey: true, inEditable: true }), false)).toEqual({ kind: "palette" });
    expect(globalKeyFor(key("K", { metaKey: true }), false)).toEqual({ kind: "palette" });
  });
  it("opens the sheet with ? outside text fields only", () => {
    expect(globalKeyFor(key("?"), false)).toEqual({ kind: "sheet" });
    expect(globalKeyFor(key("?", { inEditable: true }), false)).toBeNull();
  });
  it("jumps to a screen with g then a letter", () => {
    expect(globalKeyFor(key("g"), false)).toEqual({ kind: "await-go" });
    expect(globalKeyFor(key("p"), true)).toEqual({ kind: "go", screen: "pending" });
    expect(globalKeyFor(key("a"), true)).toEqual({ kind: "go", screen: "audit" });
    expect(globalKeyFor(key("z"), true)).toBeNull();
    expect(globalKeyFor(key("p"), false)).toBeNull();
  });
  it("lists every app-wide shortcut in the sheet", () => {
    const listed = SHORTCUT_LIST.map((s) => s.keys.join(" "));
    for (const k of ["Ctrl K", "?", "g o", "g p", "g r", "g a", "g w", "/", "j", "k", "Esc"]) expect(listed).toContain(k);
  });
});
