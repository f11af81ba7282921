import { z } from 'zod';

/** A ticket's lifecycle, as Zendesk names it. `closed` is final: a closed ticket never changes. */
export const TICKET_STATUSES = ['new', 'open', 'pending', 'hold', 'solved', 'closed'] as const;
export type TicketStatus = (typeof TICKET_STATUSES)[number];

export const TICKET_PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export type TicketPriority = (typeof TICKET_PRIORITIES)[number];

const Tag = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'a tag is lowercase letters, digits, "-" and "_"')
  .max(64);
const NoteBody = z.string().trim().min(1, 'a note body cannot be empty').max(4000);

/** One comment on a ticket: public ones are sent to the requester, private ones are internal. */
export const Note = z.object({
  id: z.number().int().positive(),
  body: z.string(),
  public: z.boolean(),
  created_at: z.string(),
});
export type Note = z.infer<typeof Note>;

/** A support ticket as stored and as the API returns it. */
export const Ticket = z.object({
  id: z.number().int().positive(),
  subject: z.string(),
  description: z.string(),
  requester_email: z.string(),
  status: z.enum(TICKET_STATUSES),
  priority: z.enum(TICKET_PRIORITIES),
  tags: z.array(z.string()),
  assignee_email: z.string().nullable(),
  notes: z.array(Note),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Ticket = z.infer<typeof Ticket>;

/** A note to add (`POST /tickets/{id}/notes`, or `comment` of a PATCH). Private by default. */
export const NoteInput = z.strictObject({
  body: NoteBody,
  public: z.boolean().default(false),
});
export type NoteInput = z.infer<typeof NoteInput>;

/** The fields `PATCH /tickets/{id}` may change; any other field is refused. */
export const TicketPatch = z
  .strictObject({
    status: z.enum(TICKET_STATUSES).optional(),
    priority: z.enum(TICKET_PRIORITIES).optional(),
    assignee_email: z.email().max(254).nullable().optional(),
    tags: z.array(Tag).max(20).optional(),
    comment: NoteInput.optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, 'nothing to update: send at least one field');
export type TicketPatch = z.infer<typeof TicketPatch>;

/** Fields of {@link TicketPatch}, for the message that lists what is allowed. */
export const PATCHABLE_FIELDS = ['status', 'priority', 'assignee_email', 'tags', 'comment'];

/** `POST /tickets/bulk_close`: every ticket named is closed, or none is (one missing id fails all). */
export const BulkClose = z.strictObject({
  ticket_ids: z.array(z.number().int().positive()).min(1).max(100),
  reason: z.string().trim().min(1).max(200),
  note: NoteBody.optional(),
});
export type BulkClose = z.infer<typeof BulkClose>;

/** `GET /tickets` filters. */
export const TicketSearch = z.strictObject({
  query: z.string().max(512).default(''),
  status: z.enum(TICKET_STATUSES).optional(),
  /** Comma-separated; a ticket must carry every tag named. */
  tags: z
    .string()
    .transform((value) => value.split(',').filter((tag) => tag !== ''))
    .optional(),
  limit: z.coerce.number().int().min(1).max(100).default(25),
});
export type TicketSearch = z.infer<typeof TicketSearch>;

/** Why a change to a ticket cannot be made (the ticket exists and the request is well formed). */
export type TicketRefusal = { readonly kind: 'closed'; readonly ticketId: number };

function appendNote(ticket: Ticket, input: NoteInput, now: string): Note[] {
  const id = (ticket.notes.at(-1)?.id ?? 0) + 1;
  return [...ticket.notes, { id, body: input.body, public: input.public, created_at: now }];
}

/** Applies a patch: a new ticket, or a refusal when the ticket is closed. */
export function updateTicket(
  ticket: Ticket,
  patch: TicketPatch,
  now: string,
): Ticket | TicketRefusal {
  if (ticket.status === 'closed') return { kind: 'closed', ticketId: ticket.id };
  const { comment, ...fields } = patch;
  return {
    ...ticket,
    ...fields,
    notes: comment ? appendNote(ticket, comment, now) : ticket.notes,
    updated_at: now,
  };
}

/** Adds a note. A closed ticket still takes notes (Zendesk allows follow-up comments). */
export function addNote(ticket: Ticket, input: NoteInput, now: string): Ticket {
  return { ...ticket, notes: appendNote(ticket, input, now), updated_at: now };
}

/** Closes one ticket with a private note giving the reason; a closed ticket is left as it is. */
export function closeTicket(
  ticket: Ticket,
  reason: string,
  note: string | undefined,
  now: string,
): Ticket {
  if (ticket.status === 'closed') return ticket;
  const body = note === undefined ? `Closed: ${reason}` : `Closed: ${reason}\n\n${note}`;
  return { ...addNote(ticket, { body, public: false }, now), status: 'closed' };
}

/** The tickets matching a search, by id, at most `limit`: text in the subject or description. */
export function searchTickets(tickets: readonly Ticket[], search: TicketSearch): Ticket[] {
  const needle = search.query.trim().toLowerCase();
  const tags = search.tags ?? [];
  return tickets
    .filter(
      (ticket) =>
        (needle === '' ||
          ticket.subject.toLowerCase().includes(needle) ||
          ticket.description.toLowerCase().includes(needle)) &&
        (search.status === undefined || ticket.status === search.status) &&
        tags.every((tag) => ticket.tags.includes(tag)),
    )
    .sort((a, b) => a.id - b.id)
    .slice(0, search.limit);
}
