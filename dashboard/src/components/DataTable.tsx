// A sortable table over rows already filtered by the page. Shows at most
// `limit` rows and says how many were left out.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";

export interface Column<T> {
  key: string;
  title: string;
  render: (row: T) => ComponentChildren;
  /** The value sorted on; the column is not sortable without one. */
  sort?: (row: T) => string | number | null | undefined;
  class?: string;
}

interface SortState {
  key: string;
  descending: boolean;
}

function compare(a: string | number | null | undefined, b: string | number | null | undefined): number {
  if (a == null || a === "") return b == null || b === "" ? 0 : 1;
  if (b == null || b === "") return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

export function DataTable<T>({
  columns,
  rows,
  rowKey,
  initialSort,
  limit = 500,
  empty = "Nothing to show.",
  testId,
}: {
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  initialSort?: SortState;
  limit?: number;
  empty?: ComponentChildren;
  testId?: string;
}) {
  const [sort, setSort] = useState<SortState | undefined>(initialSort);
  const column = sort && columns.find((c) => c.key === sort.key);
  let sorted = rows;
  if (column?.sort) {
    const value = column.sort;
    const sign = sort!.descending ? -1 : 1;
    sorted = [...rows].sort((a, b) => sign * compare(value(a), value(b)));
  }
  const shown = sorted.slice(0, limit);

  const toggle = (key: string) =>
    setSort((s) => (s?.key === key ? { key, descending: !s.descending } : { key, descending: false }));

  return (
    <div class="table-wrap">
      <table class="data-table" data-testid={testId}>
        <thead>
          <tr>
            {columns.map((c) => (
              <th
                key={c.key}
                class={`${c.class ?? ""} ${c.sort ? "sortable" : ""}`}
                onClick={c.sort ? () => toggle(c.key) : undefined}
                aria-sort={sort?.key === c.key ? (sort.descending ? "descending" : "ascending") : undefined}
              >
                {c.title}
                {sort?.key === c.key && <span class="sort-arrow">{sort.descending ? " ▼" : " ▲"}</span>}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {shown.map((row) => (
            <tr key={rowKey(row)}>
              {columns.map((c) => (
                <td key={c.key} class={c.class}>
                  {c.render(row)}
                </td>
              ))}
            </tr>
          ))}
          {shown.length === 0 && (
            <tr>
              <td class="table-empty" colSpan={columns.length}>
                {empty}
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {sorted.length > shown.length && (
        <div class="table-note">
          Showing {shown.length} of {sorted.length} rows; narrow the filter to see the rest.
        </div>
      )}
    </div>
  );
}

/** Keeps the rows where any of fields(row) contains the text (case-insensitive). */
export function filterRows<T>(rows: T[], text: string, fields: (row: T) => unknown[]): T[] {
  const needle = text.trim().toLowerCase();
  if (!needle) return rows;
  return rows.filter((row) =>
    fields(row).some((v) => v != null && String(v).toLowerCase().includes(needle)),
  );
}

export function FilterBox({
  value,
  onInput,
  placeholder,
}: {
  value: string;
  onInput: (value: string) => void;
  placeholder: string;
}) {
  return (
    <input
      class="filter-box"
      type="search"
      value={value}
      placeholder={placeholder}
      aria-label={placeholder}
      onInput={(e) => onInput((e.target as HTMLInputElement).value)}
    />
  );
}

export function StateSelect({
  value,
  options,
  onChange,
  label = "State",
  allLabel = "All states",
}: {
  value: string;
  options: string[];
  onChange: (value: string) => void;
  label?: string;
  allLabel?: string;
}) {
  return (
    <select
      class="state-select"
      value={value}
      aria-label={label}
      onChange={(e) => onChange((e.target as HTMLSelectElement).value)}
    >
      <option value="">{allLabel}</option>
      {options.map((o) => (
        <option key={o} value={o}>
          {o}
        </option>
      ))}
    </select>
  );
}
