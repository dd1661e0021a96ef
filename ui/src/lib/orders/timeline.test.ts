import { describe, expect, it } from "vitest";
import { timelineKindLabel } from "./timeline";

describe("timelineKindLabel", () => {
  it("names the entries the mirror writes in words", () => {
    expect(timelineKindLabel("evaluate")).toBe("Evaluate");
    expect(timelineKindLabel("poll")).toBe("Read from the API");
    expect(timelineKindLabel("action:external_cancel")).toBe("Cancel by merchant id");
  });

  it("keeps the event name of a webhook, known or not", () => {
    expect(timelineKindLabel("webhook:order.refunded")).toBe("Webhook order.refunded");
    expect(timelineKindLabel("webhook:order.teleported")).toBe("Webhook order.teleported");
  });

  it("shows a kind it does not know as it is", () => {
    expect(timelineKindLabel("sync:something-new")).toBe("sync:something-new");
  });
});
