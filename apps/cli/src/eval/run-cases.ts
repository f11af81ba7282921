import { isDeepStrictEqual } from 'node:util';
import { formatUsd } from '@warden/contracts';
import { z } from 'zod';
import { runTriageDemo } from '../demo/triage-demo.js';
import type { CaseOutcome } from './eval-report.js';
import type { ResolvedCase, TicketFields } from './suite.js';

/*
 * Run cases: the reference triage agent plays one of its scenarios (examples/support-triage
 * workflow/src/scenarios.ts) through a whole stack, in a run of its own, and the case compares
 * what the business sees afterwards: the helpdesk's tickets (read with the token only the
 * executor otherwise holds), the approvals the run waits for, the policies that stopped it, and
 * its cost as the audit log booked it.
 */

/** A stack the reference agent can play on: its NATS, env, agent secret and helpdesk. */
export interface RunTarget {
  /** Where, in words. */
  readonly describe: string;
  readonly servers: string;
  readonly env: string;
  readonly agentSecret: string;
  /** Whether the stack outlives the eval (a running one): its runs' timelines can be read after. */
  readonly lasting: boolean;
  readonly helpdesk: {
    readonly url: string;
    readonly adminToken: string;
    readonly apiToken: string;
  };
}

/** A ticket as the helpdesk API returns it (the fields a case can name, the rest kept as is). */
const HelpdeskTicket = z.looseObject({
  id: z.number(),
  status: z.string(),
  priority: z.string(),
  tags: z.array(z.string()),
  assignee_email: z.string().nullable(),
  notes: z.array(z.unknown()),
});
type HelpdeskTicket = z.infer<typeof HelpdeskTicket>;

/** Every ticket of the helpdesk, by id. */
async function helpdeskTickets(target: RunTarget): Promise<Map<number, HelpdeskTicket>> {
  const response = await fetch(`${target.helpdesk.url}/tickets?limit=100`, {
    headers: { authorization: `Bearer ${target.helpdesk.apiToken}` },
  });
  if (!response.ok) throw new Error(`the helpdesk answered ${response.status} to GET /tickets`);
  const { tickets } = z.object({ tickets: z.array(HelpdeskTicket) }).parse(await response.json());
  return new Map(tickets.map((ticket) => [ticket.id, ticket]));
}

/** Plays one run case on `target` and compares what it left with its expectation. */
export async function evaluateRunCase(
  entry: Extract<ResolvedCase, { kind: 'run' }>,
  target: RunTarget,
): Promise<CaseOutcome> {
  const started = performance.now();
  const { expect } = entry;
  const before = await helpdeskTickets(target);
  const report = await runTriageDemo({
    servers: target.servers,
    env: target.env,
    agentSecret: target.agentSecret,
    helpdesk: target.helpdesk,
    scenarios: [entry.run.scenario],
  });
  const result = report.results[0];
  if (result === undefined) throw new Error(`scenario ${entry.run.scenario} did not run`);
  const after = await helpdeskTickets(target);
  const ran = result.steps.some((step) => step.status === 'executed' || step.status === 'failed');
  const booked = report.costs[result.runId];
  const costUsd = booked === undefined ? (ran ? undefined : 0) : booked / 1_000_000;
  const approvals = result.steps.filter((step) => step.status === 'approval_pending').length;
  const involved = [...new Set(result.steps.flatMap((step) => step.policyIds ?? []))].sort();

  const mismatches: string[] = [];
  if (result.ok !== expect.as_expected) {
    mismatches.push(
      `as_expected: expected the scenario ${expect.as_expected ? 'to' : 'not to'} end as it says (${result.expected}), it ${result.ok ? 'did' : 'did not'}`,
    );
  }
  for (const [id, fields] of Object.entries(expect.helpdesk?.tickets ?? {})) {
    const ticket = after.get(Number(id));
    if (ticket === undefined) mismatches.push(`ticket #${id}: not in the helpdesk`);
    else mismatches.push(...fieldMismatches(Number(id), fields, ticket));
  }
  for (const id of expect.helpdesk?.untouched ?? []) {
    if (!isDeepStrictEqual(before.get(id), after.get(id))) {
      mismatches.push(
        `ticket #${id}: expected untouched, it changed (${changedFields(before.get(id), after.get(id))})`,
      );
    }
  }
  if (expect.approvals !== undefined && approvals !== expect.approvals) {
    mismatches.push(`approvals: expected ${expect.approvals}, got ${approvals}`);
  }
  const missing = (expect.policy_ids ?? []).filter((id) => !involved.includes(id));
  if (missing.length > 0) {
    mismatches.push(`policy_ids: expected ${missing.join(', ')} among [${involved.join(', ')}]`);
  }
  if (expect.cost_max_usd !== undefined) {
    if (costUsd === undefined) {
      mismatches.push(`cost: the audit log holds no settled cost of run ${result.runId}`);
    } else if (costUsd > expect.cost_max_usd) {
      mismatches.push(`cost: expected ≤ $${usd(expect.cost_max_usd)}, got $${usd(costUsd)}`);
    }
  }

  const changed = [...after.keys()].filter(
    (id) => !isDeepStrictEqual(before.get(id), after.get(id)),
  );
  return {
    name: entry.name,
    kind: 'run',
    status: mismatches.length === 0 ? 'passed' : 'failed',
    expected: [
      `${entry.run.scenario}: ${expect.as_expected ? result.expected : `not: ${result.expected}`}`,
      ...(expect.approvals === undefined ? [] : [`${expect.approvals} approval(s)`]),
      ...(expect.cost_max_usd === undefined ? [] : [`cost ≤ $${usd(expect.cost_max_usd)}`]),
      ...(expect.helpdesk?.tickets === undefined
        ? []
        : [
            `tickets ${Object.keys(expect.helpdesk.tickets)
              .map((id) => `#${id}`)
              .join(' ')} set`,
          ]),
      ...(expect.helpdesk?.untouched === undefined
        ? []
        : [`${expect.helpdesk.untouched.length} untouched`]),
    ].join('; '),
    actual: [
      `${result.ok ? 'as expected' : 'NOT as expected'}: ${result.summary}`,
      `${approvals} approval(s)`,
      `cost ${costUsd === undefined ? 'unknown' : `$${usd(costUsd)}`}`,
      `changed ${changed.length === 0 ? 'no ticket' : changed.map((id) => `#${id}`).join(' ')}`,
    ].join('; '),
    policyIds: [...new Set([...involved, ...(expect.policy_ids ?? [])])].sort(),
    mismatches,
    detail: target.lasting
      ? `run ${result.runId}: warden runs timeline ${result.runId} --env ${target.env}`
      : `run ${result.runId} of env ${target.env}, on the embedded stack (gone with the eval)`,
    durationMs: performance.now() - started,
  };
}

/** The fields a case names that the ticket does not hold. Tags compare as a set. */
function fieldMismatches(id: number, fields: TicketFields, ticket: HelpdeskTicket): string[] {
  const out: string[] = [];
  const differs = (field: string, want: unknown, got: unknown) =>
    out.push(
      `ticket #${id} ${field}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`,
    );
  if (fields.status !== undefined && ticket.status !== fields.status)
    differs('status', fields.status, ticket.status);
  if (fields.priority !== undefined && ticket.priority !== fields.priority)
    differs('priority', fields.priority, ticket.priority);
  if (fields.assignee_email !== undefined && ticket.assignee_email !== fields.assignee_email)
    differs('assignee_email', fields.assignee_email, ticket.assignee_email);
  if (
    fields.tags !== undefined &&
    [...new Set(fields.tags)].sort().join('\n') !== [...new Set(ticket.tags)].sort().join('\n')
  )
    differs('tags', fields.tags, ticket.tags);
  if (fields.notes !== undefined && ticket.notes.length !== fields.notes)
    differs('notes', fields.notes, ticket.notes.length);
  return out;
}

/** Which top-level fields differ between two versions of a ticket. */
function changedFields(
  before: HelpdeskTicket | undefined,
  after: HelpdeskTicket | undefined,
): string {
  if (before === undefined || after === undefined) return after === undefined ? 'gone' : 'new';
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  return (
    keys
      .filter((key) => key !== 'updated_at' && !isDeepStrictEqual(before[key], after[key]))
      .join(', ') || 'updated_at'
  );
}

function usd(value: number): string {
  return formatUsd(Math.round(value * 1_000_000));
}
