// Polls appStatus(): every 500 ms while a sync is running, every 3 s otherwise.
// Responses from an older request never overwrite a newer one.
import type { AppStatus, IpcError, SyncPhase } from "../ipc/bindings";
import { toIpcError } from "../ipc/errors";

export const FAST_POLL_MS = 500;
export const SLOW_POLL_MS = 3000;

/** How long to wait before the next status poll, given the current sync phase. */
export function pollIntervalMs(phase: SyncPhase | null): number {
  return phase === "backfilling" || phase === "syncing" ? FAST_POLL_MS : SLOW_POLL_MS;
}

/** Backfill progress as shown to people, or null when no backfill is running. */
export function backfillProgress(status: AppStatus | null): { fetched: number; expected: number | null } | null {
  if (!status || status.sync.phase !== "backfilling") return null;
  const { fetched, expected } = status.sync;
  return { fetched, expected: expected !== null && expected >= 0 ? Math.max(expected, fetched) : null };
}

export class AppStatusStore {
  current = $state<AppStatus | null>(null);
  /** Set while the last poll failed; cleared by the next success. */
  pollError = $state<IpcError | null>(null);

  #fetch: () => Promise<AppStatus>;
  #onNewError: (error: IpcError) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #issued = 0;
  #applied = 0;

  /** `onNewError` fires once per distinct failure code, not on every failed poll. */
  constructor(fetch: () => Promise<AppStatus>, onNewError: (error: IpcError) => void) {
    this.#fetch = fetch;
    this.#onNewError = onNewError;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    void this.refresh();
  }

  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Polls right away (after a command that changes status) and restarts the timer. */
  async refresh(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const request = ++this.#issued;
    try {
      const status = await this.#fetch();
      if (request > this.#applied) {
        this.#applied = request;
        this.current = status;
        this.pollError = null;
      }
    } catch (e) {
      if (request !== this.#issued) return; // a newer poll will report
      const error = toIpcError(e);
      if (this.pollError?.code !== error.code) this.#onNewError(error);
      this.pollError = error;
    } finally {
      if (request === this.#issued) this.#schedule();
    }
  }

  #schedule(): void {
    if (!this.#running) return;
    const interval = pollIntervalMs(this.current?.sync.phase ?? null);
    this.#timer = setTimeout(() => void this.refresh(), interval);
  }
}
