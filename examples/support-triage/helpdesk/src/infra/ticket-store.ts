import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { AppliedWrite, StoredResponse } from '../domain/idempotency.js';
import { seedTickets } from '../domain/seed.js';
import { Ticket } from '../domain/ticket.js';

/** Everything the helpdesk keeps, in one JSON file. */
export interface HelpdeskData {
  version: 1;
  tickets: Ticket[];
  /** First response per `Idempotency-Key`, kept until a reset. */
  idempotency: Record<string, StoredResponse>;
  writes: AppliedWrite[];
}

// Only the shape is checked on load: a hand-edited or older file fails loudly at start rather
// than with a confusing error on some later request.
const HelpdeskFile = z.object({
  version: z.literal(1),
  tickets: z.array(Ticket),
  idempotency: z.record(
    z.string(),
    z.object({
      fingerprint: z.string(),
      status: z.number(),
      body: z.unknown(),
      created_at: z.string(),
    }),
  ),
  writes: z.array(
    z.object({
      seq: z.number(),
      at: z.string(),
      operation: z.enum(['update_ticket', 'add_note', 'bulk_close']),
      ticket_ids: z.array(z.number()),
      idempotency_key: z.string().nullable(),
    }),
  ),
});

/** The data file's name inside `HELPDESK_DATA_DIR`. */
export const DATA_FILE = 'helpdesk.json';

function seededData(): HelpdeskData {
  return { version: 1, tickets: seedTickets(), idempotency: {}, writes: [] };
}

/**
 * The helpdesk's storage: the data in memory, the JSON file the source of truth on disk.
 *
 * Changes go through {@link transact}, one at a time: the change is made on a copy, the copy is
 * written to a temporary file, synced and renamed over the data file (atomic on POSIX), and only
 * then becomes the data readers see. A crash leaves the old file or the new one, never half of
 * one; a change that throws leaves nothing behind.
 */
export class TicketStore {
  private queue: Promise<unknown> = Promise.resolve();
  private tempCounter = 0;

  private constructor(
    private readonly file: string,
    private current: HelpdeskData,
  ) {}

  /** Opens the data file in `dir`, creating the directory and seeding the file if missing. */
  static async open(dir: string): Promise<TicketStore> {
    await mkdir(dir, { recursive: true });
    const file = join(dir, DATA_FILE);
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (text === undefined) {
      const store = new TicketStore(file, seededData());
      await store.persist(store.current);
      return store;
    }
    const parsed = HelpdeskFile.safeParse(JSON.parse(text));
    if (!parsed.success) {
      throw new Error(`${file} is not a helpdesk data file: ${z.prettifyError(parsed.error)}`, {
        cause: parsed.error,
      });
    }
    return new TicketStore(file, parsed.data);
  }

  /** The data as of the last committed change. Do not mutate it: use {@link transact}. */
  get data(): Readonly<HelpdeskData> {
    return this.current;
  }

  /**
   * Runs `change` on a copy of the data and commits the copy; resolves to what `change` returned.
   * Changes are serialized, so a read-check-write inside `change` is atomic.
   */
  transact<T>(change: (draft: HelpdeskData) => T): Promise<T> {
    const run = this.queue.then(async () => {
      const draft = structuredClone(this.current);
      const result = change(draft);
      await this.persist(draft);
      this.current = draft;
      return result;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Puts the seeded queue back and forgets idempotency keys and the write log. */
  reset(): Promise<void> {
    return this.transact((draft) => {
      Object.assign(draft, seededData());
    });
  }

  /** Resolves once every change started so far is on disk. */
  async flushed(): Promise<void> {
    await this.queue;
  }

  private async persist(data: HelpdeskData): Promise<void> {
    const temp = `${this.file}.${process.pid}.${++this.tempCounter}.tmp`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(`${JSON.stringify(data, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, this.file);
  }
}
