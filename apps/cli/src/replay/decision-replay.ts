import { EVENTS, type DataOf, type Principal } from '@warden/contracts';
import { z } from 'zod';
import {
  decideIntent,
  type DecidableTool,
  type DecidableVersion,
  type Verdict,
} from '@warden/policy';
import { rfc3339 } from '../runs/run-queries.js';

/*
 * Decision replay (issue 9 §1): a recorded run's intents decided again, as the policy stage
 * decided them (the same `decideIntent`), against the policy version each was decided under or
 * another one, and compared with what happened. Pure: loading the log, the tools and the versions
 * is replay.command.ts's job.
 */

/** One run's decision events from the audit log, oldest first (rows of REPLAY_SQL). */
export const REPLAY_SQL = `SELECT type, intent_id, env, toString(occurred_at) AS occurred_at, data
FROM events
WHERE env = {env:String} AND run_id = {run_id:String}
  AND type IN ('intent.authenticated', 'policy.decided', 'intent.resolved')
ORDER BY occurred_at, stream_seq`;

/** What the policy stage answered for an intent: the decision, or a rejection of its args. */
export interface StageAnswer {
  readonly effect: 'allow' | 'deny' | 'approval_required' | 'rejected';
  /** The determining policies, sorted (none for a rejection or a deny by default). */
  readonly policyIds: readonly string[];
  /** A deny's or a rejection's reason code. */
  readonly reason?: string;
}

/** One intent of the run as the log recorded it. */
export interface RecordedStep {
  readonly step: number;
  readonly intentId: string;
  readonly tool: string;
  readonly args: Record<string, unknown>;
  readonly principal: Principal;
  readonly env: string;
  /** When the stage decided (the `policy.decided` or rejection event), RFC 3339: the policies' `now`. */
  readonly decidedAt: string;
  /** The tool version it was decided with (absent for a rejection or an unknown tool). */
  readonly toolVersion?: number;
  /** The policy version it was decided under (absent for a rejection). */
  readonly policyVersion?: number;
  readonly recorded: StageAnswer;
}

/** A step the log holds only in part (its data did not parse, or the stage never answered). */
export interface UnreadableStep {
  readonly intentId: string;
  readonly why: string;
}

/** A row of REPLAY_SQL. */
export interface ReplayRow {
  readonly type: string;
  readonly intent_id: string;
  readonly env: string;
  readonly occurred_at: string;
  readonly data: string;
}

/**
 * The run's steps from its rows: each `intent.authenticated` with the stage's answer to it
 * (`policy.decided`, or `intent.resolved{rejected, stage: validation}`). Intents the identity stage
 * refused never reached policy and are not steps here.
 */
export function recordedSteps(rows: readonly ReplayRow[]): {
  steps: RecordedStep[];
  unreadable: UnreadableStep[];
} {
  const facts = new Map<string, { row: ReplayRow; data: DataOf<'intent.authenticated'> }>();
  const answers = new Map<string, { row: ReplayRow; answer: AnswerData }>();
  const unreadable: UnreadableStep[] = [];
  for (const row of rows) {
    const parsed = parseData(row);
    if (parsed === undefined) continue;
    if (!parsed.ok) {
      unreadable.push({ intentId: row.intent_id, why: parsed.why });
      continue;
    }
    if (parsed.type === 'intent.authenticated')
      facts.set(row.intent_id, { row, data: parsed.data });
    else if (!answers.has(row.intent_id)) answers.set(row.intent_id, { row, answer: parsed });
  }
  const steps: RecordedStep[] = [];
  for (const [intentId, { row, data }] of facts) {
    const answered = answers.get(intentId);
    if (answered === undefined) {
      unreadable.push({ intentId, why: 'the policy stage has no answer to it in the log' });
      continue;
    }
    const base = {
      step: data.step,
      intentId,
      tool: data.tool,
      args: data.args,
      principal: data.principal,
      env: row.env,
      decidedAt: rfc3339(answered.row.occurred_at),
    };
    const { answer } = answered;
    if (answer.type === 'policy.decided') {
      const decided = answer.data;
      steps.push({
        ...base,
        ...(decided.tool_version === undefined ? {} : { toolVersion: decided.tool_version }),
        policyVersion: decided.policy_version,
        recorded: {
          effect: decided.effect,
          policyIds: [...decided.determining_policy_ids].sort(),
          ...(decided.reason === undefined ? {} : { reason: decided.reason }),
        },
      });
    } else {
      steps.push({
        ...base,
        recorded: {
          effect: 'rejected',
          policyIds: [],
          reason: answer.data.reason ?? 'invalid_args',
        },
      });
    }
  }
  steps.sort((a, b) => a.step - b.step || a.decidedAt.localeCompare(b.decidedAt));
  return { steps, unreadable };
}

/**
 * `intent.authenticated` as the log stores it: the collector redacts `credential` whole (its key
 * names a secret), and a replay does not need it.
 */
const StoredAuthentication = EVENTS['intent.authenticated'].extend({
  credential: z.unknown().optional(),
});

type AnswerData =
  | { type: 'policy.decided'; data: DataOf<'policy.decided'> }
  | { type: 'intent.resolved'; data: DataOf<'intent.resolved'> };

type ParsedRow =
  | ({ ok: true } & (
      { type: 'intent.authenticated'; data: DataOf<'intent.authenticated'> } | AnswerData
    ))
  | { ok: false; why: string };

/** A row's data under its type's schema; `undefined` for rows a replay does not use. */
function parseData(row: ReplayRow): ParsedRow | undefined {
  let json: unknown;
  try {
    json = JSON.parse(row.data);
  } catch {
    return { ok: false, why: `its ${row.type} data is not JSON` };
  }
  if (row.type === 'intent.resolved') {
    const parsed = EVENTS['intent.resolved'].safeParse(json);
    if (!parsed.success) return { ok: false, why: `its intent.resolved does not parse` };
    // Only the policy stage's own rejection answers an intent in place of a decision.
    const { status, stage } = parsed.data;
    if (status !== 'rejected' || stage !== 'validation') return undefined;
    return { ok: true, type: 'intent.resolved', data: parsed.data };
  }
  if (row.type === 'intent.authenticated' || row.type === 'policy.decided') {
    const parsed =
      row.type === 'intent.authenticated'
        ? StoredAuthentication.safeParse(json)
        : EVENTS['policy.decided'].safeParse(json);
    // Redaction can break a field's format (an address masked inside an email-typed arg).
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue === undefined ? '' : ` at ${issue.path.join('.') || '(root)'}`;
      return { ok: false, why: `its ${row.type} data does not parse${where} (redacted?)` };
    }
    return row.type === 'intent.authenticated'
      ? { ok: true, type: row.type, data: parsed.data as DataOf<'intent.authenticated'> }
      : { ok: true, type: row.type, data: parsed.data as DataOf<'policy.decided'> };
  }
  return undefined;
}

/** A step decided again, beside what happened. */
export interface ReplayedStep {
  readonly step: number;
  readonly intentId: string;
  readonly tool: string;
  readonly recorded: StageAnswer & { readonly policyVersion?: number };
  readonly replayed: StageAnswer & { readonly policyVersion?: number };
  readonly changed: boolean;
}

/**
 * Decides one recorded step again with `tool` (the version it was decided with) and `version`
 * (the policies to try), at the time it was decided, and compares the answers.
 */
export function replayStep(
  step: RecordedStep,
  tool: DecidableTool | undefined,
  version: DecidableVersion,
): ReplayedStep {
  const verdict = decideIntent(
    { tool: step.tool, args: step.args, step: step.step, principal: step.principal },
    tool,
    version,
    step.env,
    new Date(step.decidedAt),
  );
  const replayed = answerOf(verdict);
  const recorded = {
    ...step.recorded,
    ...(step.policyVersion === undefined ? {} : { policyVersion: step.policyVersion }),
  };
  return {
    step: step.step,
    intentId: step.intentId,
    tool: step.tool,
    recorded,
    replayed,
    changed:
      recorded.effect !== replayed.effect ||
      recorded.policyIds.join('\n') !== replayed.policyIds.join('\n'),
  };
}

function answerOf(verdict: Verdict): StageAnswer & { policyVersion?: number } {
  if (verdict.kind === 'rejected')
    return { effect: 'rejected', policyIds: [], reason: 'invalid_args' };
  return {
    effect: verdict.effect,
    policyIds: [...verdict.policyIds].sort(),
    policyVersion: verdict.policyVersion,
    ...(verdict.reason === undefined ? {} : { reason: verdict.reason }),
  };
}

/** `allow → approval_required at step 7 by policy bulk-needs-lead`, for a changed step. */
export function describeChange(step: ReplayedStep): string {
  const { recorded, replayed } = step;
  const by =
    replayed.policyIds.length > 0
      ? ` by policy ${replayed.policyIds.join(', ')}`
      : replayed.effect === 'deny'
        ? ` (${replayed.reason ?? 'deny by default'})`
        : '';
  return `${recorded.effect} → ${replayed.effect} at step ${step.step} (${step.tool})${by}`;
}
