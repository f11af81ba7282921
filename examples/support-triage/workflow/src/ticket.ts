import { z } from 'zod';

/**
 * A helpdesk ticket as the agent reads it from a tool's output. The agent checks what it is
 * given like any other input: an upstream that answers something else is a failed read, not a
 * crash three steps later.
 */
export const Ticket = z.object({
  id: z.number().int().positive(),
  subject: z.string(),
  description: z.string(),
  status: z.enum(['new', 'open', 'pending', 'hold', 'solved', 'closed']),
  priority: z.enum(['low', 'normal', 'high', 'urgent']),
  tags: z.array(z.string()),
  requester_email: z.string(),
});
export type Ticket = z.infer<typeof Ticket>;

/** `zendesk.get_ticket`'s output. */
export const TicketOutput = z.object({ ticket: Ticket });
/** `zendesk.search_tickets`'s output. */
export const TicketsOutput = z.object({ tickets: z.array(Ticket) });

/** Statuses a triage still acts on. */
export function isOpen(ticket: Ticket): boolean {
  return ticket.status === 'new' || ticket.status === 'open' || ticket.status === 'pending';
}
