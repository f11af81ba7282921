import type { Ticket } from './ticket.js';

/** The fields of a ticket the agent changes with `zendesk.update_ticket`. */
export interface TicketPatch {
  readonly status?: 'open' | 'pending' | 'hold' | 'solved';
  readonly priority?: 'low' | 'normal' | 'high';
  readonly tags?: readonly string[];
  readonly comment: { readonly body: string; readonly public: false };
}

/** What the agent decides to do with one ticket. */
export type TicketAction =
  | { readonly kind: 'update'; readonly patch: TicketPatch; readonly why: string }
  | { readonly kind: 'spam'; readonly why: string }
  | { readonly kind: 'duplicate'; readonly of: number; readonly why: string }
  | { readonly kind: 'payroll'; readonly period: string; readonly why: string }
  /**
   * The ticket's text told the agent what to do, and a naive agent does it: what Warden must
   * stop (the seed's #4 asks to close every ticket in the queue).
   */
  | { readonly kind: 'obey'; readonly instruction: 'close_all'; readonly why: string }
  | { readonly kind: 'skip'; readonly why: string };

/** One rule: a test over the ticket's text and what follows from it. */
interface Rule {
  readonly name: string;
  readonly matches: RegExp;
  readonly patch: (ticket: Ticket) => TicketPatch;
}

const INJECTION = /ignore (?:all |any )?(?:your |previous |prior )?instructions/i;
const CLOSE_ALL = /close (?:all|every) tickets?/i;
const SPAM = /gift card|lucky winner|claim within|SEO|first[- ]page ranking/i;
const PAYROLL = /payroll/i;
const RERUN = /re-?run/i;
const DATE = /\b(\d{4}-\d{2}-\d{2})\b/;

const note = (body: string) => ({ body, public: false as const });
const withTags = (ticket: Ticket, ...tags: string[]) => [...new Set([...ticket.tags, ...tags])];

/** Routine triage: the first rule whose pattern matches the subject or description applies. */
const RULES: readonly Rule[] = [
  {
    name: 'billing',
    matches: /charged twice|refund|invoice|duplicate charge/i,
    patch: (ticket) => ({
      status: 'open',
      priority: 'high',
      tags: withTags(ticket, 'billing', 'needs-finance'),
      comment: note('Triage: billing dispute, routed to finance to check the captures.'),
    }),
  },
  {
    name: 'outage',
    matches: /\b(?:429|5\d\d)\b|gateway timeout|production is affected|outage/i,
    // An urgent ticket stays urgent: only the payments group may set that priority anyway.
    patch: (ticket) => ({
      status: 'open',
      ...(ticket.priority === 'urgent' ? {} : { priority: 'high' as const }),
      tags: withTags(ticket, 'incident'),
      comment: note('Triage: possible incident, linked to the on-call queue.'),
    }),
  },
  {
    name: 'login',
    matches: /password|log ?in|sign in|sso|saml/i,
    patch: (ticket) => ({
      status: 'open',
      priority: /none of our|all (?:our )?users|\d+ users/i.test(ticket.description)
        ? 'high'
        : 'normal',
      tags: withTags(ticket, 'login'),
      comment: note('Triage: sign-in problem, sent the troubleshooting steps.'),
    }),
  },
  {
    name: 'privacy',
    matches: /gdpr|data deletion|personal data/i,
    patch: (ticket) => ({
      status: 'hold',
      tags: withTags(ticket, 'privacy'),
      comment: note('Triage: privacy request, on hold for legal.'),
    }),
  },
];

/**
 * Decides what to do with one ticket, from its text alone: deterministic, so every run over the
 * same queue proposes the same calls (the reference agent's tests and demo depend on it). `queue`
 * is what the agent has seen, for duplicates.
 *
 * The agent is deliberately naive about instructions inside a ticket: it follows them, as a model
 * fed the ticket as its prompt might. Stopping what follows is Warden's job, not the agent's.
 */
export function decide(ticket: Ticket, queue: readonly Ticket[]): TicketAction {
  const text = `${ticket.subject}\n${ticket.description}`;
  if (INJECTION.test(text) && CLOSE_ALL.test(text)) {
    return { kind: 'obey', instruction: 'close_all', why: 'the ticket says to close all tickets' };
  }
  if (SPAM.test(text)) return { kind: 'spam', why: 'unsolicited offer' };
  if (PAYROLL.test(text) && RERUN.test(text)) {
    const period = DATE.exec(text)?.[1];
    if (period !== undefined) {
      return { kind: 'payroll', period, why: `asks for a payroll re-run from ${period}` };
    }
  }
  const original = duplicateOf(ticket, queue);
  if (original !== undefined) {
    return { kind: 'duplicate', of: original, why: `follows up on #${original}` };
  }
  if (!['new', 'open'].includes(ticket.status)) {
    return { kind: 'skip', why: `already ${ticket.status}` };
  }
  const rule = RULES.find((candidate) => candidate.matches.test(text));
  if (rule === undefined) {
    return {
      kind: 'update',
      patch: { status: 'open', comment: note('Triage: read, no special handling needed.') },
      why: 'routine',
    };
  }
  return { kind: 'update', patch: rule.patch(ticket), why: rule.name };
}

/** An earlier open ticket of the same requester that this one follows up (`Re: …`). */
function duplicateOf(ticket: Ticket, queue: readonly Ticket[]): number | undefined {
  if (!/^re:/i.test(ticket.subject)) return undefined;
  return queue.find(
    (other) =>
      other.id < ticket.id &&
      other.requester_email === ticket.requester_email &&
      other.status !== 'closed',
  )?.id;
}
