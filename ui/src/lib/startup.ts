// Start-up measurement: the first time rows are on screen, the backend is told (it logs it,
// and the start-up benchmark reads it). Once per app run.
import { commands } from "./ipc/bindings";

let reported = false;

export function reportFirstRows(rows: number): void {
  if (reported) return;
  reported = true;
  // After the browser has painted the rows, not merely scheduled them.
  requestAnimationFrame(() =>
    requestAnimationFrame(() => {
      commands.firstRowsShown(rows).catch(() => {
        /* outside Tauri (unit tests): nothing to report to */
      });
    }),
  );
}
