// The audit log's last verification, shared by the Audit screen and the command palette's
// "Verify audit log" command.
import { commands, type AuditVerificationDto, type IpcError } from "../ipc/bindings";
import { toIpcError } from "../ipc/errors";
import { verdictText } from "./audit";
import { toasts } from "../toasts.svelte";

export class AuditVerifier {
  result = $state<AuditVerificationDto | null>(null);
  error = $state<IpcError | null>(null);
  running = $state(false);
  /** When the last verification finished (ms since the epoch). */
  at = $state<number | null>(null);

  async verify(): Promise<void> {
    this.running = true;
    try {
      const result = await commands.verifyAudit();
      this.result = result;
      this.error = null;
      const verdict = verdictText(result);
      if (result.ok) toasts.success(verdict.headline, verdict.detail);
      else toasts.push("error", verdict.headline, verdict.detail, "audit_tampered");
    } catch (e) {
      this.error = toIpcError(e);
      toasts.error(this.error, "Verifying the audit log");
    } finally {
      this.running = false;
      this.at = Date.now();
    }
  }
}

export const auditVerifier = new AuditVerifier();
