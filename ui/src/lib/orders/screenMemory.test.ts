import { describe, expect, it } from "vitest";
import { emptyForm } from "./filters";
import { keepOrdersScreen, takeOrdersScreen, type OrdersScreenMemory } from "./screenMemory";

function memory(accountId: string): OrdersScreenMemory {
  return {
    accountId,
    form: { ...emptyForm(), state: "challenge" },
    searchText: "ord-1",
    presetStates: null,
    presetUnreadable: false,
    presetTitle: null,
    presetTimes: null,
    filtersOpen: true,
    detailKey: "key-1",
    selected: 4,
    selectedKey: "key-1",
    scrollTop: 900,
    place: { index: 30, key: "key-30", offset: 0, total: 500 },
  };
}

describe("Orders screen memory", () => {
  it("gives the same account its screen back once, as a copy", () => {
    const kept = memory("acct-a");
    keepOrdersScreen(kept);
    kept.form.state = "approved";
    const back = takeOrdersScreen("acct-a");
    expect(back?.form.state).toBe("challenge");
    expect(back?.scrollTop).toBe(900);
    expect(takeOrdersScreen("acct-a")).toBeNull();
  });

  it("starts another account fresh and forgets the kept screen", () => {
    keepOrdersScreen(memory("acct-a"));
    expect(takeOrdersScreen("acct-b")).toBeNull();
    expect(takeOrdersScreen("acct-a")).toBeNull();
  });
});
