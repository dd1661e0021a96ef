import { describe, expect, it } from "vitest";
import { baseUrlAfterEnvironmentChange, defaultBaseUrl, environmentBanner } from "./environments";

describe("environments", () => {
  it("prefills the FlexFactor base URL for sandbox and production", () => {
    expect(defaultBaseUrl("sandbox")).toBe("https://api-sandbox.flexfactor.io/v1");
    expect(defaultBaseUrl("production")).toBe("https://api.flexfactor.io/v1");
  });

  it("swaps an untouched default when the environment changes", () => {
    expect(baseUrlAfterEnvironmentChange(defaultBaseUrl("sandbox"), "production")).toBe(defaultBaseUrl("production"));
    expect(baseUrlAfterEnvironmentChange(defaultBaseUrl("production"), "custom")).toBe("");
  });

  it("keeps a URL the user typed", () => {
    expect(baseUrlAfterEnvironmentChange("https://ff.internal/v1", "production")).toBe("https://ff.internal/v1");
  });

  it("labels production as live money and demo as sandbox data", () => {
    expect(environmentBanner("production")).toBe("PRODUCTION — live money");
    expect(environmentBanner("demo")).toBe("DEMO — sandbox data");
  });
});
