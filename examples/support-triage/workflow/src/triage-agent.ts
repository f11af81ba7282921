import { ApprovalPendingError, isWardenCallError, type Run } from '@warden/sdk';
import type { z } from 'zod';
import { isOpen, TicketOutput, TicketsOutput, type Ticket } from './ticket.js';
import { RULES, type Classifier } from './model-classifier.js';
import type { TicketAction } from './triage-rules.js';

/** How often a call that timed out is asked again before the agent gives up on it. */
const TIMEOUT_RETRIES = 3;

/** How one call ended, as the agent saw it. */
export type StepStatus =
  'executed' | 'failed' | 'denied' | 'rejected' | 'in_doubt' | 'timeout' | 'approval_pending';

/** One call of the agent, and Warden's answer. */
export interface Step {
  readonly tool: string;
  readonly args: Readonly<Record<string, unknown>>;
  readonly intentId: string;
  readonly status: StepStatus;
  /** Why, when it did not execute (`not_permitted`, `loop`, `run_budget`…). */
  readonly reason?: string;
  /** The policies that decided a denial or an approval. */
  readonly policyIds?: readonly string[];
  /** For `approval_pending`: the approval a person must answer. */
  readonly approvalId?: string;
  readonly output?: unknown;
}

/**
 * The reference support-triage agent (issue 8 §2): reads the helpdesk's queue through Warden and
 * acts on each ticket by the rules of `triage-rules.ts`. It never throws for Warden's answers:
 * a denial, a halt or an approval to wait for is a step with a status, which the caller reports.
 * Errors that are no answer (a closed connection, a broken contract) still throw.
 */
export class TriageAgent {
  /** Every call so far, in order. */
  readonly steps: Step[] = [];

  /** `classifier`: how tickets are decided; the rules unless a model is configured. */
  constructor(
    readonly run: Run,
    private readonly classifier: Classifier = RULES,
  ) {}

  /**
   * One governed call; its answer recorded as a step. A call that timed out is asked again
   * under the same intent id (safe: Warden runs it at most once, and answers with its outcome),
   * so a Warden service restarting meanwhile costs time, not a step.
   */
  async act(
    tool: string,
    args: Record<string, unknown>,
    options: { intentId?: string } = {},
  ): Promise<Step> {
    let step = await this.attempt(tool, args, options);
    for (let retry = 0; retry < TIMEOUT_RETRIES && step.status === 'timeout'; retry++) {
      step = await this.attempt(tool, args, { intentId: step.intentId });
    }
    this.steps.push(step);
    return step;
  }

  /** The queue: open tickets matching `filter` (read with `zendesk.search_tickets`). */
  async readQueue(filter: { status?: string } = {}): Promise<Ticket[]> {
    return this.run.span('read queue', { kind: 'retrieval', ...filter }, async () => {
      const step = await this.act('zendesk.search_tickets', { ...filter, limit: 100 });
      return parsed(step, TicketsOutput)?.tickets.filter(isOpen) ?? [];
    });
  }

  /** One ticket, fresh (`zendesk.get_ticket`); `undefined` when the read did not execute. */
  async readTicket(id: number): Promise<Ticket | undefined> {
    const step = await this.act('zendesk.get_ticket', { ticket_id: id });
    return parsed(step, TicketOutput)?.ticket;
  }

  /** Decides, within a span so the run's timeline shows why each ticket got its action. */
  async decide(ticket: Ticket, queue: readonly Ticket[]): Promise<TicketAction> {
    return this.run.span('classify ticket', { kind: 'prompt', ticket_id: ticket.id }, () =>
      this.classifier.decide(ticket, queue, this.run),
    );
  }

  /**
   * Routine triage of the queue: every new or open ticket read and updated by its rule,
   * follow-ups marked solved as duplicates, spam closed in one small bulk close. Tickets that ask
   * for something else (`obey`, `payroll`) are returned for the caller, not acted on.
   */
  async triageQueue(): Promise<Ticket[]> {
    const queue = [
      ...(await this.readQueue({ status: 'new' })),
      ...(await this.readQueue({ status: 'open' })),
    ].sort((a, b) => a.id - b.id);
    const spam: number[] = [];
    const special: Ticket[] = [];
    for (const listed of queue) {
      const ticket = await this.readTicket(listed.id);
      if (ticket === undefined) continue;
      const action = await this.decide(ticket, queue);
      switch (action.kind) {
        case 'update':
          await this.act('zendesk.update_ticket', { ticket_id: ticket.id, ...action.patch });
          break;
        case 'duplicate':
          await this.act('zendesk.update_ticket', {
            ticket_id: ticket.id,
            status: 'solved',
            tags: [...new Set([...ticket.tags, 'duplicate'])],
            comment: { body: `Duplicate of #${action.of}.`, public: false },
          });
          break;
        case 'spam':
          spam.push(ticket.id);
          break;
        case 'obey':
        case 'payroll':
          special.push(ticket);
          break;
        case 'skip':
          break;
      }
    }
    if (spam.length > 0) {
      await this.act('zendesk.bulk_close', { ticket_ids: spam, reason: 'spam' });
    }
    return special;
  }

  private async attempt(
    tool: string,
    args: Record<string, unknown>,
    options: { intentId?: string },
  ): Promise<Step> {
    try {
      const result = await this.run.call(tool, args, options);
      return {
        tool,
        args,
        intentId: result.intentId,
        status: result.status,
        ...(result.reason === undefined ? {} : { reason: result.reason }),
        output: result.output,
      };
    } catch (error) {
      if (error instanceof ApprovalPendingError) {
        return {
          tool,
          args,
          intentId: error.intentId,
          status: 'approval_pending',
          approvalId: error.approvalId,
          policyIds: error.policyIds,
        };
      }
      if (!isWardenCallError(error)) throw error;
      const policyIds = 'policyIds' in error ? (error.policyIds as readonly string[]) : undefined;
      return {
        tool,
        args,
        intentId: error.intentId,
        status: error.status as StepStatus,
        ...(error.reason === undefined ? {} : { reason: error.reason }),
        ...(policyIds === undefined || policyIds.length === 0 ? {} : { policyIds }),
      };
    }
  }
}

/** A step's output checked against what the tool should answer; `undefined` if it did not run. */
function parsed<S extends z.ZodType>(step: Step, schema: S): z.infer<S> | undefined {
  if (step.status !== 'executed') return undefined;
  const output = schema.safeParse(step.output);
  if (!output.success) {
    throw new Error(
      `${step.tool} answered something that is no ticket list: ${output.error.message}`,
    );
  }
  return output.data;
}
