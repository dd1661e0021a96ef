// Hand-written companion to the generated bindings: every command rejects with an IpcError
// `{ code, message }`. The UI branches on `code` only and shows `message` to people.
import type { ErrorCode, IpcError } from "./bindings";

// Every code, as the keys of a record typed by the generated union: a code added on the
// Rust side fails the type check here until it is listed (and given a headline below).
const KNOWN_CODES: Record<ErrorCode, true> = {
  keychain_unavailable: true,
  credentials_rejected: true,
  network: true,
  api: true,
  storage: true,
  invalid_input: true,
  not_found: true,
  no_account: true,
  data_from_newer_version: true,
  disk_full: true,
  internal: true,
};
const ERROR_CODES: ReadonlySet<string> = new Set(Object.keys(KNOWN_CODES));

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && ERROR_CODES.has(value);
}

/** True when `value` already has the IpcError shape with a known code. */
export function isIpcError(value: unknown): value is IpcError {
  if (typeof value !== "object" || value === null) return false;
  const code: unknown = Reflect.get(value, "code");
  const message: unknown = Reflect.get(value, "message");
  return isErrorCode(code) && typeof message === "string";
}

/**
 * Normalises anything a command (or our own code) threw into an IpcError.
 * Unknown shapes become code "internal" with their string form as the message.
 */
export function toIpcError(e: unknown): IpcError {
  if (isIpcError(e)) return { code: e.code, message: e.message };
  if (e instanceof Error) return { code: "internal", message: e.message || String(e) };
  return { code: "internal", message: String(e) };
}

/** A short, plain-language headline for each error code; the message carries the detail. */
export function errorHeadline(code: ErrorCode): string {
  switch (code) {
    case "keychain_unavailable":
      return "The system keychain is not available";
    case "credentials_rejected":
      return "Credentials rejected";
    case "network":
      return "Can't reach FlexFactor";
    case "api":
      return "FlexFactor returned an error";
    case "storage":
      return "Local database problem";
    case "invalid_input":
      return "Please check the input";
    case "not_found":
      return "Not found";
    case "no_account":
      return "No account selected";
    case "data_from_newer_version":
      return "This data belongs to a newer FlexDesk";
    case "disk_full":
      return "The disk is full";
    case "internal":
      return "Something went wrong";
  }
}
