import { describe, expect, it } from 'vitest';
import { seedTickets } from './seed.js';
import { closeTicket, searchTickets, TicketPatch, TicketSearch, updateTicket } from './ticket.js';

const NOW = '2025-12-01T10:00:00.000Z';
const search = (input: Record<string, string>) =>
  searchTickets(seedTickets(), TicketSearch.parse(input));

describe('tickets', () => {
  it('seeds the same 23 tickets every time', () => {
    expect(seedTickets()).toEqual(seedTickets());
    expect(seedTickets()).toHaveLength(23);
  });

  it('searches subject and description, whatever the case', () => {
    expect(search({ query: 'Payroll' }).map((t) => t.id)).toEqual([7]);
    expect(search({ query: 'GATEWAY TIMEOUT' }).map((t) => t.id)).toEqual([3]);
    expect(search({ limit: '3' })).toHaveLength(3);
  });

  it('applies a patch and stamps the update time', () => {
    const ticket = seedTickets()[1]!;
    const patch = TicketPatch.parse({ status: 'open', comment: { body: 'On it.' } });
    expect(updateTicket(ticket, patch, NOW)).toMatchObject({
      status: 'open',
      updated_at: NOW,
      notes: [{ id: 1, body: 'On it.', public: false, created_at: NOW }],
    });
  });

  it('refuses to change a closed ticket', () => {
    const closed = closeTicket(seedTickets()[4]!, 'spam', undefined, NOW);
    expect(closed).toMatchObject({ status: 'closed', notes: [{ body: 'Closed: spam' }] });
    expect(updateTicket(closed, TicketPatch.parse({ status: 'open' }), NOW)).toEqual({
      kind: 'closed',
      ticketId: 5,
    });
    expect(closeTicket(closed, 'duplicate', undefined, NOW)).toBe(closed);
  });
});
