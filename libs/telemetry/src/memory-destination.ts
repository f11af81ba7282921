import type { DestinationStream } from 'pino';

/** A log destination that keeps lines in memory; see {@link memoryDestination}. */
export interface MemoryDestination extends DestinationStream {
  /** Every line written so far, parsed. */
  readonly records: Record<string, unknown>[];
}

/**
 * A destination for {@link createLogger} that keeps every line in memory, parsed: for tests that
 * assert on what a component logs (and on what it must not log).
 */
export function memoryDestination(): MemoryDestination {
  const records: Record<string, unknown>[] = [];
  return {
    records,
    write(line: string) {
      records.push(JSON.parse(line) as Record<string, unknown>);
    },
  };
}
