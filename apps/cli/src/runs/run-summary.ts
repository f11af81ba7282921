import { envFlagFor } from '../commands/common-options.js';
import { shortTime, statusText, text, usd } from './run-queries.js';

/*
 * `warden runs show`: one run in a screen, built from the rows of run_overview, tool_calls,
 * run_denials and approvals (see run-queries.ts). Pure: rows in, summary and text out.
 */

type Row = Record<string, unknown>;

/** The outcomes a tool call can have in `tool_calls.status`, in the order they are shown. */
const CALL_STATUSES = ['executed', 'failed', 'denied', 'rejected', 'in_doubt', 'pending'] as const;

/** Calls of one tool by outcome. */
export type ToolCounts = { tool: string } & Record<(typeof CALL_STATUSES)[number], number>;

/** One intent Warden refused, and why. */
export interface Denial {
  intent_id: string;
  tool: string;
  step: number | null;
  at: string;
  status: string;
  stage: string;
  reason: string;
  message: string;
  /** What policy decided before the refusal: allow, deny, approval_required ('' if it never did). */
  effect: string;
  policy_ids: string[];
  policy_version: number | null;
}

/** One approval request and its answer. */
export interface ApprovalLine {
  intent_id: string;
  tool: string;
  outcome: string;
  approver: string;
  comment: string;
  requested_at: string;
  answered_at: string | null;
}

/** What `warden runs show --json` prints. */
export interface RunSummary {
  run_id: string;
  agent_id: string;
  workflow: string;
  /** running, halted, succeeded, failed, cancelled or ended. */
  status: string;
  outcome: string;
  started_at: string;
  ended_at: string | null;
  halted: { at: string | null; reason: string; by: string; message: string } | null;
  /** The limits the agent declared on run.started (the governor may have tightened them). */
  declared_limits: Record<string, unknown> | null;
  /** The step cap the governor reported, when it reserved a step. */
  max_steps: number | null;
  steps: number;
  intents: number;
  /** What the run's settlements booked, micro-USD, as a decimal string (a 64-bit sum). */
  spend_micro_usd: string;
  tools: ToolCounts[];
  denials: Denial[];
  approvals: ApprovalLine[];
  /** Commands to look further. */
  next: string[];
}

/** Builds the summary of one run from its view rows. */
export function buildRunSummary(input: {
  env: string;
  overview: Row;
  tools: readonly Row[];
  denials: readonly Row[];
  approvals: readonly Row[];
}): RunSummary {
  const { overview } = input;
  const runId = String(overview.run_id);
  const status = String(overview.status);
  const haltReason = text(overview.halt_reason);
  const approvals = input.approvals.map((row): ApprovalLine => ({
    intent_id: String(row.intent_id),
    tool: text(row.tool),
    outcome: String(row.outcome),
    approver: text(row.approver),
    comment: text(row.comment),
    requested_at: shortTime(row.requested_at),
    answered_at: row.answered_at == null ? null : shortTime(row.answered_at),
  }));
  const envFlag = envFlagFor(input.env);
  const next = [`warden runs timeline ${runId}${envFlag}`];
  if (approvals.some((approval) => approval.outcome === 'pending'))
    next.push(`warden approvals list --status pending${envFlag}`);
  next.push(
    `warden audit sql "SELECT * FROM tool_calls WHERE run_id = {run:String}" --param run=${runId}${envFlag}`,
  );
  return {
    run_id: runId,
    agent_id: text(overview.agent_id),
    workflow: text(overview.workflow),
    status,
    outcome: text(overview.outcome),
    started_at: shortTime(overview.started_at),
    ended_at: overview.ended_at == null ? null : shortTime(overview.ended_at),
    halted:
      haltReason === ''
        ? null
        : {
            at: overview.halted_at == null ? null : shortTime(overview.halted_at),
            reason: haltReason,
            by: text(overview.halted_by),
            message: text(overview.halt_message),
          },
    declared_limits: parseLimits(overview.declared_limits),
    max_steps: positive(overview.max_steps),
    steps: Number(overview.steps ?? 0),
    intents: Number(overview.intents ?? 0),
    spend_micro_usd: text(overview.cost_micro_usd) || '0',
    tools: pivotTools(input.tools),
    denials: input.denials.map((row): Denial => ({
      intent_id: String(row.intent_id),
      tool: text(row.tool),
      step: positive(row.step),
      at: shortTime(row.resolved_at),
      status: String(row.status),
      stage: text(row.stage),
      reason: text(row.reason),
      message: text(row.message),
      effect: text(row.effect),
      policy_ids: Array.isArray(row.policy_ids) ? row.policy_ids.map(String) : [],
      policy_version: positive(row.policy_version),
    })),
    approvals,
    next,
  };
}

/** The summary as text: the run's facts, then (after the per-tool table) denials, approvals, next. */
export function renderRunSummary(summary: RunSummary): {
  head: string;
  toolTable: { columns: string[]; rows: Record<string, string>[] };
  tail: string;
} {
  const budget = summary.declared_limits?.budget_micro_usd;
  const stepCap = summary.max_steps ?? positive(summary.declared_limits?.max_steps);
  const facts: [string, string][] = [
    ['agent', summary.agent_id],
    ['workflow', summary.workflow || '(none)'],
    [
      'status',
      `${statusText(summary.status, summary.halted?.reason)}${summary.outcome ? `: ${summary.outcome}` : ''}`,
    ],
    ['started', summary.started_at],
  ];
  if (summary.ended_at !== null) facts.push(['ended', summary.ended_at]);
  if (summary.halted !== null) {
    const { at, by, message, reason } = summary.halted;
    facts.push([
      'halted',
      [reason, by && `by ${by}`, at, message].filter((part) => part).join(' · '),
    ]);
  }
  facts.push([
    'steps',
    `${summary.steps}${stepCap === null ? '' : ` of ${stepCap}`} (${summary.intents} tool calls proposed)`,
  ]);
  facts.push([
    'spend',
    `$${usd(summary.spend_micro_usd)}${budget === undefined ? '' : ` of a declared $${usd(budget)}`}`,
  ]);
  const width = Math.max(...facts.map(([label]) => label.length));
  const head = [
    `Run ${summary.run_id}`,
    ...facts.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
    '',
    summary.tools.length === 0 ? 'No tool calls.' : 'Calls by tool:',
  ].join('\n');

  const tail: string[] = [];
  if (summary.denials.length > 0) {
    tail.push('Denied or rejected:');
    for (const denial of summary.denials) {
      const why = [
        `${denial.status} at ${denial.stage}`,
        denial.reason,
        denial.policy_ids.length > 0 &&
          // A call policy allowed and a later stage refused: name the policies as what they were.
          `${denial.effect === 'allow' ? 'allowed by' : 'policies'} ${denial.policy_ids.join(', ')}${denial.policy_version === null ? '' : ` (v${denial.policy_version})`}`,
        denial.message,
      ].filter((part) => part);
      tail.push(`  ${stepLabel(denial.step)}${denial.tool}  ${why.join(' · ')}`);
    }
    tail.push('');
  }
  if (summary.approvals.length > 0) {
    tail.push('Approvals:');
    for (const approval of summary.approvals) {
      const answer =
        approval.outcome === 'pending' || approval.outcome === 'expired'
          ? `${approval.outcome} (requested ${approval.requested_at})`
          : `${approval.outcome} by ${approval.approver || 'unknown'}${approval.comment ? `: "${approval.comment}"` : ''} (${approval.answered_at ?? ''})`;
      tail.push(`  ${approval.tool}  ${answer}`);
    }
    tail.push('');
  }
  tail.push('Next:', ...summary.next.map((command) => `  ${command}`));
  return {
    head,
    toolTable: {
      columns: ['tool', ...CALL_STATUSES],
      rows: summary.tools.map((counts) => ({
        tool: counts.tool,
        ...Object.fromEntries(CALL_STATUSES.map((status) => [status, String(counts[status])])),
      })),
    },
    tail: `${tail.join('\n')}\n`,
  };
}

function stepLabel(step: number | null): string {
  return step === null ? '' : `step ${step}  `;
}

function pivotTools(rows: readonly Row[]): ToolCounts[] {
  const byTool = new Map<string, ToolCounts>();
  for (const row of rows) {
    const tool = String(row.tool);
    let counts = byTool.get(tool);
    if (counts === undefined) {
      counts = {
        tool,
        executed: 0,
        failed: 0,
        denied: 0,
        rejected: 0,
        in_doubt: 0,
        pending: 0,
      };
      byTool.set(tool, counts);
    }
    const status = String(row.status);
    if ((CALL_STATUSES as readonly string[]).includes(status))
      counts[status as (typeof CALL_STATUSES)[number]] += Number(row.calls ?? 0);
  }
  return [...byTool.values()];
}

function parseLimits(value: unknown): Record<string, unknown> | null {
  if (typeof value !== 'string' || value === '') return null;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** A count or id from a view (UInt64 arrives as a string), null when zero or absent. */
function positive(value: unknown): number | null {
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}
