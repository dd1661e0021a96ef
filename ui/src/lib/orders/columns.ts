// The Orders table's optional columns, and the per-account column choice kept in localStorage.

export type ColumnId = "created" | "orderId" | "merchantOrderId" | "customer" | "type" | "state" | "amount" | "card";

export type ColumnDef = { id: ColumnId; label: string; width: string; sort?: "created" | "amount" };

export const COLUMNS: readonly ColumnDef[] = [
  { id: "created", label: "Created", width: "150px", sort: "created" },
  { id: "orderId", label: "FlexFactor id", width: "80px" },
  { id: "merchantOrderId", label: "Merchant order id", width: "minmax(150px, 1fr)" },
  { id: "customer", label: "Customer", width: "minmax(200px, 2fr)" },
  { id: "type", label: "Type", width: "56px" },
  { id: "state", label: "State", width: "170px" },
  { id: "amount", label: "Amount", width: "110px", sort: "amount" },
  { id: "card", label: "Card", width: "100px" },
];

export const DEFAULT_COLUMNS: readonly ColumnId[] = COLUMNS.map((c) => c.id);

function isColumnId(value: unknown): value is ColumnId {
  return typeof value === "string" && COLUMNS.some((c) => c.id === value);
}

/** Known column ids from anything (a saved view, localStorage), in table order; never empty. */
export function normalizeColumns(value: unknown): ColumnId[] {
  if (!Array.isArray(value)) return [...DEFAULT_COLUMNS];
  const chosen = new Set(value.filter(isColumnId));
  const ordered = DEFAULT_COLUMNS.filter((id) => chosen.has(id));
  return ordered.length > 0 ? ordered : [...DEFAULT_COLUMNS];
}

function storageKey(accountId: string): string {
  return `flexdesk.columns.${accountId}`;
}

export function loadColumns(accountId: string | null, storage: Pick<Storage, "getItem"> | null = globalThis.localStorage ?? null): ColumnId[] {
  if (!accountId || !storage) return [...DEFAULT_COLUMNS];
  try {
    const raw = storage.getItem(storageKey(accountId));
    return raw === null ? [...DEFAULT_COLUMNS] : normalizeColumns(JSON.parse(raw));
  } catch {
    return [...DEFAULT_COLUMNS];
  }
}

export function storeColumns(
  accountId: string | null,
  columns: readonly ColumnId[],
  storage: Pick<Storage, "setItem"> | null = globalThis.localStorage ?? null,
): void {
  if (!accountId || !storage) return;
  storage.setItem(storageKey(accountId), JSON.stringify(columns));
}

export function gridTemplate(columns: readonly ColumnId[]): string {
  return ["32px", ...COLUMNS.filter((c) => columns.includes(c.id)).map((c) => c.width)].join(" ");
}
