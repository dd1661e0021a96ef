import { describe, expect, it } from "vitest";
import { challengeProgress, decisionOutcomeText, splitDecision } from "./review";

describe("challengeProgress", () => {
  it("reads each challenge webhook as a step", () => {
    expect(challengeProgress("challenge.presented")).toMatchObject({ step: "presented", reached: 1, failed: false });
    expect(challengeProgress("challenge.attempted")).toMatchObject({ step: "attempted", reached: 2 });
    expect(challengeProgress("challenge.passed")).toMatchObject({ step: "passed", reached: 3, failed: false });
    expect(challengeProgress("challenge.failed")).toMatchObject({ step: "failed", reached: 3, failed: true });
  });
  it("says when there is no challenge activity", () => {
    expect(challengeProgress(null)).toMatchObject({ step: null, reached: 0, label: "No challenge activity yet" });
  });
});

describe("splitDecision", () => {
  it("splits the decision from its reason at the first colon", () => {
    expect(splitDecision("follow up: call back: Tuesday")).toEqual({ decision: "follow up", reason: "call back: Tuesday" });
    expect(splitDecision(null)).toBeNull();
  });
});

describe("decisionOutcomeText", () => {
  it("explains record-only decisions and action outcomes in plain words", () => {
    expect(decisionOutcomeText("followUp", null)).toContain("follow-up");
    const outcome = {
      intentKey: "k",
      orderSessionKey: "o",
      status: "rejected" as const,
      message: "The order is already final.",
      remainingRefundableCents: null,
    };
    expect(decisionOutcomeText("cancel", outcome)).toBe("Not done. The order is already final.");
  });
});
