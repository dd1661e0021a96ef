// How each environment is presented: banner text and tone, and the default API base URL.
import type { Environment } from "../ipc/bindings";

type EnvironmentPresentation = { label: string; banner: string };

const PRESENTATION: Record<Environment, EnvironmentPresentation> = {
  demo: { label: "Demo", banner: "DEMO — sandbox data" },
  sandbox: { label: "Sandbox", banner: "SANDBOX — test credentials, no real money" },
  production: { label: "Production", banner: "PRODUCTION — live money" },
  custom: { label: "Custom", banner: "CUSTOM ENVIRONMENT" },
};

/** Environments a person can add an account for (the demo account is built in). */
export const ADDABLE_ENVIRONMENTS: readonly Environment[] = ["sandbox", "production", "custom"];

export function environmentLabel(env: Environment): string {
  return PRESENTATION[env].label;
}

export function environmentBanner(env: Environment): string {
  return PRESENTATION[env].banner;
}

/** The FlexFactor API base URL for an environment; "" when the user must supply one. */
export function defaultBaseUrl(env: Environment): string {
  switch (env) {
    case "sandbox":
      return "https://api-sandbox.flexfactor.io/v1";
    case "production":
      return "https://api.flexfactor.io/v1";
    case "demo":
    case "custom":
      return "";
  }
}

/**
 * The base URL to show after the environment select changes: the new default, unless the user
 * typed their own URL (anything that is not a known default), which is kept.
 */
export function baseUrlAfterEnvironmentChange(current: string, next: Environment): string {
  const known = ADDABLE_ENVIRONMENTS.map(defaultBaseUrl).filter((u) => u !== "");
  const untouched = current.trim() === "" || known.includes(current.trim());
  return untouched ? defaultBaseUrl(next) : current;
}

export function parseEnvironment(value: string): Environment | null {
  const all: readonly Environment[] = ["demo", "sandbox", "production", "custom"];
  return all.find((e) => e === value) ?? null;
}
