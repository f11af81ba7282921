import Table from 'cli-table3';

/** Prints rows as a readable table: one column per key, values as compact text. */
export function printTable(
  columns: readonly string[],
  rows: readonly Record<string, unknown>[],
): void {
  const table = new Table({ head: [...columns], style: { head: ['cyan'] }, wordWrap: true });
  for (const row of rows) table.push(columns.map((column) => cell(row[column])));
  process.stdout.write(`${table.toString()}\n`);
}

/** Prints a value as indented JSON, for scripts (`--json`). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** An error the CLI reports as one clear message (and a hint) with a non-zero exit, never a stack trace. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
