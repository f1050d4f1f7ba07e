/** Side-by-side tables: one column per server, one row per figure. */

export type Cell = string | number | null | undefined;

export function fmt(value: Cell, digits = 1): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return '-';
  return value.toFixed(digits);
}

export interface Row {
  label: string;
  cells: Cell[];
  digits?: number;
}

export function table(title: string, columns: string[], rows: Row[]): string {
  const text = rows.map((row) => [row.label, ...row.cells.map((cell) => fmt(cell, row.digits ?? 1))]);
  const header = ['', ...columns];
  const widths = header.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [`\n== ${title}`, line(header), line(widths.map((w) => '-'.repeat(w))), ...text.map(line)].join('\n');
}

/** "nginx/rxrtmp CPU per MB 0.21×" lines: each other column's figure over the first one's. */
export function ratios(columns: string[], rows: { label: string; values: Cell[] }[]): string {
  const lines: string[] = [];
  for (const row of rows) {
    const base = row.values[0];
    if (typeof base !== 'number' || !Number.isFinite(base) || base === 0) continue;
    const parts: string[] = [];
    row.values.forEach((value, i) => {
      if (i === 0 || typeof value !== 'number' || !Number.isFinite(value)) return;
      parts.push(`${shortName(columns[i]!)}/${shortName(columns[0]!)} ${(value / base).toFixed(2)}x`);
    });
    if (parts.length > 0) lines.push(`  ${row.label}: ${parts.join(', ')}`);
  }
  return lines.length > 0 ? `ratios vs ${shortName(columns[0]!)}:\n${lines.join('\n')}` : '';
}

export function shortName(name: string): string {
  if (name.startsWith('nginx')) return 'nginx';
  if (name.startsWith('node-media-server')) return 'nms';
  return name;
}
