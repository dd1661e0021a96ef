// Review queue: challenge progress from the `challenge.*` webhooks, the last decision, and
// what each decision does, in plain words.
import type { ActionOutcome, ReviewDecisionKind } from "../ipc/bindings";

export const CHALLENGE_STEPS = ["presented", "attempted", "passed"] as const;

export type ChallengeProgress = {
  /** The newest step reached: presented, attempted, passed, failed; null with no webhook yet. */
  step: string | null;
  /** How many of presented → attempted → passed/failed are done (0..3). */
  reached: number;
  failed: boolean;
  label: string;
};

/** Reads "challenge.attempted" (or "attempted") into a progress summary. */
export function challengeProgress(progress: string | null): ChallengeProgress {
  if (progress === null || progress === "") {
    return { step: null, reached: 0, failed: false, label: "No challenge activity yet" };
  }
  const step = progress.replace(/^webhook:/, "").replace(/^challenge\./, "").toLowerCase();
  const reached = step === "presented" ? 1 : step === "attempted" ? 2 : step === "passed" || step === "failed" ? 3 : 0;
  const label =
    step === "presented"
      ? "Challenge shown to the customer"
      : step === "attempted"
        ? "Customer attempted the challenge"
        : step === "passed"
          ? "Customer passed the challenge"
          : step === "failed"
            ? "Customer failed the challenge"
            : `Challenge: ${step}`;
  return { step, reached, failed: step === "failed", label };
}

/** The app core writes the last decision as "<decision>: <reason>". */
export function splitDecision(lastDecision: string | null): { decision: string; reason: string } | null {
  if (lastDecision === null || lastDecision === "") return null;
  const at = lastDecision.indexOf(": ");
  if (at < 0) return { decision: lastDecision, reason: "" };
  return { decision: lastDecision.slice(0, at), reason: lastDecision.slice(at + 2) };
}

export const DECISIONS: readonly { id: ReviewDecisionKind; label: string; explains: string }[] = [
  { id: "capture", label: "Capture", explains: "Captures the payment at FlexFactor: the customer is charged." },
  { id: "cancel", label: "Cancel", explains: "Cancels the order at FlexFactor: the customer is not charged." },
  { id: "followUp", label: "Follow up", explains: "Records that someone will follow up; nothing is sent to FlexFactor." },
  {
    id: "markReviewed",
    label: "Mark reviewed",
    explains: "Records that the order was reviewed; nothing is sent to FlexFactor.",
  },
];

export function decisionLabel(id: ReviewDecisionKind): string {
  return DECISIONS.find((d) => d.id === id)?.label ?? id;
}

/** A plain sentence for what came of a decision. */
export function decisionOutcomeText(decision: ReviewDecisionKind, outcome: ActionOutcome | null): string {
  if (outcome === null) {
    return decision === "followUp" ? "Recorded: this order needs a follow-up." : "Recorded: this order was reviewed.";
  }
  switch (outcome.status) {
    case "confirmed":
      return decision === "capture" ? `Captured. ${outcome.message}` : `Cancelled. ${outcome.message}`;
    case "rejected":
      return `Not done. ${outcome.message}`;
    case "awaitingConfirmation":
      return `Awaiting confirmation from FlexFactor. ${outcome.message}`;
    case "inProgress":
      return `Still in progress. ${outcome.message}`;
  }
}
