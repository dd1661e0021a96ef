// Live refresh for the workflow screens: reload when the mirror changes, at most once per
// interval (a backfill emits many changes a second).
import { events } from "../ipc/bindings";

/**
 * Wraps `fn` so calls within `intervalMs` of the last run collapse into one trailing call.
 * `cancel` drops a scheduled call.
 */
export function throttle(fn: () => void, intervalMs: number, now: () => number = Date.now) {
  let last = -Infinity;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const run = () => {
    timer = null;
    last = now();
    fn();
  };
  const call = () => {
    if (timer !== null) return;
    const wait = last + intervalMs - now();
    if (wait <= 0) run();
    else timer = setTimeout(run, wait);
  };
  call.cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  return call;
}

/** Calls `reload` (throttled) whenever the backend reports a mirror change; returns the cleanup. */
export function onMirrorChangedThrottled(reload: () => void, intervalMs = 1500): () => void {
  const throttled = throttle(reload, intervalMs);
  let unlisten: (() => void) | null = null;
  let stopped = false;
  events
    .onMirrorChanged(() => throttled())
    .then((fn) => (stopped ? fn() : (unlisten = fn)))
    .catch(() => {
      /* not inside Tauri (unit tests): the screen still loads when it opens */
    });
  return () => {
    stopped = true;
    throttled.cancel();
    unlisten?.();
  };
}
