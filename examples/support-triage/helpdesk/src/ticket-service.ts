import { HelpdeskError } from './helpdesk.errors.js';
import type { AppliedWrite } from './domain/idempotency.js';
import {
  addNote,
  type BulkClose,
  closeTicket,
  type NoteInput,
  searchTickets,
  type Ticket,
  type TicketPatch,
  type TicketSearch,
  updateTicket,
} from './domain/ticket.js';
import type { HelpdeskData, TicketStore } from './infra/ticket-store.js';

/** Who asked for a write, as far as idempotency goes. */
export interface WriteRequest {
  /** The `Idempotency-Key` header, if sent. */
  readonly idempotencyKey: string | undefined;
  /** {@link requestFingerprint} of the request. */
  readonly fingerprint: string;
}

/** A write's answer; `replayed` when it is the stored first answer to the same key. */
export interface WriteResult {
  readonly status: number;
  readonly body: unknown;
  readonly replayed: boolean;
}

interface Applied {
  status: number;
  body: unknown;
  ticketIds: number[];
}

function ticketIn(data: Readonly<HelpdeskData>, id: number): Ticket {
  const ticket = data.tickets.find((candidate) => candidate.id === id);
  if (!ticket) throw HelpdeskError.notFound(`ticket ${id}`);
  return ticket;
}

function replace(draft: HelpdeskData, ticket: Ticket): void {
  draft.tickets = draft.tickets.map((current) => (current.id === ticket.id ? ticket : current));
}

/** The helpdesk's operations: reads from the store, writes applied at most once per key. */
export class TicketService {
  constructor(
    private readonly store: TicketStore,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  get(id: number): Ticket {
    return ticketIn(this.store.data, id);
  }

  search(search: TicketSearch): Ticket[] {
    return searchTickets(this.store.data.tickets, search);
  }

  writes(): readonly AppliedWrite[] {
    return this.store.data.writes;
  }

  update(id: number, patch: TicketPatch, request: WriteRequest): Promise<WriteResult> {
    return this.write(request, 'update_ticket', (draft, now) => {
      const updated = updateTicket(ticketIn(draft, id), patch, now);
      if ('kind' in updated) {
        throw new HelpdeskError('ticket_closed', `ticket ${id} is closed and cannot be changed`);
      }
      replace(draft, updated);
      return { status: 200, body: { ticket: updated }, ticketIds: [id] };
    });
  }

  addNote(id: number, input: NoteInput, request: WriteRequest): Promise<WriteResult> {
    return this.write(request, 'add_note', (draft, now) => {
      const updated = addNote(ticketIn(draft, id), input, now);
      replace(draft, updated);
      return {
        status: 201,
        body: { note: updated.notes.at(-1), ticket: updated },
        ticketIds: [id],
      };
    });
  }

  /** Closes every ticket named, or none: one unknown id fails the whole request. */
  bulkClose(input: BulkClose, request: WriteRequest): Promise<WriteResult> {
    return this.write(request, 'bulk_close', (draft, now) => {
      const ids = [...new Set(input.ticket_ids)];
      const missing = ids.filter((id) => !draft.tickets.some((ticket) => ticket.id === id));
      if (missing.length > 0) {
        throw HelpdeskError.notFound(
          `ticket${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
        );
      }
      const closed: number[] = [];
      const alreadyClosed: number[] = [];
      for (const id of ids) {
        const ticket = ticketIn(draft, id);
        (ticket.status === 'closed' ? alreadyClosed : closed).push(id);
        replace(draft, closeTicket(ticket, input.reason, input.note, now));
      }
      return { status: 200, body: { closed, already_closed: alreadyClosed }, ticketIds: closed };
    });
  }

  // Check, apply and record in one store transaction, so two requests with the same key (a
  // retry that arrives while the first is still held) apply once: the second sees the first's
  // record. Refusals throw and leave no record, so a corrected retry may reuse the key.
  private write(
    request: WriteRequest,
    operation: AppliedWrite['operation'],
    apply: (draft: HelpdeskData, now: string) => Applied,
  ): Promise<WriteResult> {
    return this.store.transact((draft) => {
      const key = request.idempotencyKey;
      const prior = key === undefined ? undefined : draft.idempotency[key];
      if (prior) {
        if (prior.fingerprint !== request.fingerprint) {
          throw new HelpdeskError(
            'idempotency_key_reused',
            'this Idempotency-Key was first used with a different request; use a new key',
          );
        }
        return { status: prior.status, body: prior.body, replayed: true };
      }
      const now = this.clock().toISOString();
      const { status, body, ticketIds } = apply(draft, now);
      draft.writes.push({
        seq: (draft.writes.at(-1)?.seq ?? 0) + 1,
        at: now,
        operation,
        ticket_ids: ticketIds,
        idempotency_key: key ?? null,
      });
      if (key !== undefined) {
        draft.idempotency[key] = {
          fingerprint: request.fingerprint,
          status,
          body,
          created_at: now,
        };
      }
      return { status, body, replayed: false };
    });
  }
}
