import { describe, expect, it } from "vitest";
import { driftKindLabel, prettyPayload } from "./payload";

describe("prettyPayload", () => {
  it("indents JSON and keeps other text as is", () => {
    expect(prettyPayload('{"a":1}')).toBe('{\n  "a": 1\n}');
    expect(prettyPayload("not json")).toBe("not json");
    expect(prettyPayload(null)).toBe("(no payload stored)");
  });
});

describe("driftKindLabel", () => {
  it("names the known drift kinds in plain words", () => {
    expect(driftKindLabel("missing_webhook")).toBe("Webhook never arrived");
    expect(driftKindLabel("unknown_order")).toBe("Unknown order");
    expect(driftKindLabel("something_new")).toBe("something new");
  });
});
