// One intent key per money-moving dialog: generated when the dialog opens and reused for every
// submit of that dialog (double clicks, retries, "Check again"), so the backend's outbox lands
// every attempt on the same row (DESIGN.md §4).
export function newIntentKey(): string {
  return crypto.randomUUID();
}
