// The SFTP settings panel's logic: what a connection test result means and what the
// person can do next. The panel branches on `outcome` only; `message` is for people.
import type { SftpSettingsInput, SftpSettingsView, SftpTestOutcome, SftpTestResult } from "../ipc/bindings";

/** A short headline for a connection test outcome. */
export function sftpOutcomeHeadline(outcome: SftpTestOutcome): string {
  switch (outcome) {
    case "ok":
      return "Connection works";
    case "host_key_unpinned":
      return "Connected: pin the server's host key";
    case "host_key_mismatch":
      return "Host key changed: nothing was sent";
    case "unreachable":
      return "Server not reachable";
    case "auth_failed":
      return "Key refused";
    case "key_unreadable":
      return "Private key could not be loaded";
    case "folder_missing":
      return "Folder missing";
    case "settings":
      return "Settings incomplete";
    case "failed":
      return "Connection failed";
  }
}

/** "good" when uploads can go ahead, "warn" when one step (pinning) is left, else "bad". */
export function sftpOutcomeTone(outcome: SftpTestOutcome): "good" | "warn" | "bad" {
  if (outcome === "ok") return "good";
  if (outcome === "host_key_unpinned") return "warn";
  return "bad";
}

/**
 * What pinning the shown key means, or null when there is nothing to pin. A first pin is
 * offered plainly; replacing a pinned key after a mismatch needs an explicit confirmation.
 */
export function pinOffer(result: SftpTestResult | null): { hostKey: string; replaces: boolean } | null {
  if (result === null || result.hostKey === null) return null;
  if (result.outcome === "host_key_unpinned") return { hostKey: result.hostKey, replaces: false };
  if (result.outcome === "host_key_mismatch") return { hostKey: result.hostKey, replaces: true };
  return null;
}

/** The form's starting values from the saved settings (the passphrase is never read back). */
export function formFromView(view: SftpSettingsView): SftpSettingsInput {
  return {
    host: view.host,
    port: view.port || 22,
    user: view.user,
    keyPath: view.keyPath,
    hostKey: "",
    inboundDir: view.inboundDir,
    outboundDir: view.outboundDir,
    passphrase: null,
  };
}

/** The names of required fields left empty (the Save button says which). */
export function missingFields(input: SftpSettingsInput): string[] {
  const missing: string[] = [];
  if (input.host.trim() === "") missing.push("host");
  if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65535) missing.push("port");
  if (input.user.trim() === "") missing.push("user");
  if (input.keyPath.trim() === "") missing.push("private key file");
  if (input.inboundDir.trim() === "") missing.push("inbound folder");
  if (input.outboundDir.trim() === "") missing.push("outbound folder");
  return missing;
}
