// Transient notifications for command results. Rendered by components/Toasts.svelte in an
// aria-live region. Identical toasts are merged so a repeating failure does not pile up.
import type { IpcError } from "./ipc/bindings";
import { errorHeadline } from "./ipc/errors";

export type ToastKind = "success" | "info" | "error";

export type Toast = {
  id: number;
  kind: ToastKind;
  title: string;
  message: string;
  /** Error code for error toasts, exposed as data-code. */
  code: string | null;
};

const DURATION_MS: Record<ToastKind, number> = { success: 4000, info: 4000, error: 8000 };

export class ToastStore {
  items = $state<Toast[]>([]);
  #nextId = 1;
  #timers = new Map<number, ReturnType<typeof setTimeout>>();

  push(kind: ToastKind, title: string, message = "", code: string | null = null): void {
    const existing = this.items.find((t) => t.kind === kind && t.title === title && t.message === message);
    if (existing) {
      this.#schedule(existing.id, kind);
      return;
    }
    const toast: Toast = { id: this.#nextId++, kind, title, message, code };
    this.items = [...this.items.slice(-4), toast];
    this.#schedule(toast.id, kind);
  }

  success(title: string, message = ""): void {
    this.push("success", title, message);
  }

  info(title: string, message = ""): void {
    this.push("info", title, message);
  }

  /** A failed command: headline from the code, detail from the message. */
  error(error: IpcError, context?: string): void {
    const title = context ? `${context}: ${errorHeadline(error.code)}` : errorHeadline(error.code);
    this.push("error", title, error.message, error.code);
  }

  dismiss(id: number): void {
    const timer = this.#timers.get(id);
    if (timer !== undefined) clearTimeout(timer);
    this.#timers.delete(id);
    this.items = this.items.filter((t) => t.id !== id);
  }

  #schedule(id: number, kind: ToastKind): void {
    const previous = this.#timers.get(id);
    if (previous !== undefined) clearTimeout(previous);
    this.#timers.set(
      id,
      setTimeout(() => this.dismiss(id), DURATION_MS[kind]),
    );
  }
}

export const toasts = new ToastStore();
