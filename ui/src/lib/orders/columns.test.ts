import { describe, expect, it } from "vitest";
import { DEFAULT_COLUMNS, loadColumns, normalizeColumns, storeColumns } from "./columns";

describe("columns", () => {
  it("keeps known ids in table order and never ends up empty", () => {
    expect(normalizeColumns(["amount", "bogus", "created"])).toEqual(["created", "amount"]);
    expect(normalizeColumns([])).toEqual([...DEFAULT_COLUMNS]);
    expect(normalizeColumns("x")).toEqual([...DEFAULT_COLUMNS]);
  });

  it("is stored per account", () => {
    const map = new Map<string, string>();
    const storage = { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v) };
    storeColumns("a", ["created", "state"], storage);
    expect(loadColumns("a", storage)).toEqual(["created", "state"]);
    expect(loadColumns("b", storage)).toEqual([...DEFAULT_COLUMNS]);
  });
});
