import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVENTS, type DataOf, type EventType } from '@warden/contracts';
import {
  compileArgs,
  compilePolicyEngine,
  decideIntent,
  loadPolicyFiles,
  parseToolDeclaration,
  policyDecidedData,
  shippedSchemaText,
  type DecidableTool,
  type DecidableVersion,
} from '@warden/policy';
import { redact } from '@warden/redaction';
import { POLICIES_DIR, TOOLS_DIR, TRIAGE_AGENT } from '@warden/support-triage';
import { describe, expect, it } from 'vitest';
import { describeChange, recordedSteps, replayStep, type ReplayRow } from './decision-replay.js';

const TOOLS = new Map<string, DecidableTool>(
  readdirSync(TOOLS_DIR).map((file) => {
    const parsed = parseToolDeclaration(readFileSync(join(TOOLS_DIR, file), 'utf8'));
    if (!parsed.ok) throw new Error(`${file}: ${JSON.stringify(parsed.errors)}`);
    return [
      parsed.tool.name,
      { declaration: parsed.tool, validate: compileArgs(parsed.tool.args) },
    ];
  }),
);

function policyFiles(): { name: string; text: string }[] {
  return readdirSync(POLICIES_DIR)
    .filter((name) => name.endsWith('.cedar'))
    .map((name) => ({ name, text: readFileSync(join(POLICIES_DIR, name), 'utf8') }));
}

function versionOf(version: number, files: { name: string; text: string }[]): DecidableVersion {
  const loaded = loadPolicyFiles(files);
  const compiled = compilePolicyEngine(
    `replay-spec:${version}`,
    shippedSchemaText(),
    loaded.policies,
  );
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
  return { version, engine: compiled.engine };
}

const REFERENCE = versionOf(4, policyFiles());
/** The reference set with bulk close allowed outright: no lead's approval. */
const WEAKENED = versionOf(
  5,
  policyFiles().map((file) =>
    file.name === 'updates.cedar'
      ? { ...file, text: file.text.replace('unless { context.risk.bulk };', ';') }
      : file,
  ),
);

const PRINCIPAL = {
  agent_id: TRIAGE_AGENT.agent_id,
  owner: TRIAGE_AGENT.owner,
  domains: [...TRIAGE_AGENT.domains],
  tool_groups: [...TRIAGE_AGENT.tool_groups],
};

const CALLS: [string, Record<string, unknown>][] = [
  ['zendesk.get_ticket', { ticket_id: 7 }],
  ['zendesk.update_ticket', { ticket_id: 7, status: 'solved', tags: ['billing'] }],
  ['zendesk.bulk_close', { ticket_ids: [13, 14, 15], reason: 'inactive' }],
  [
    'zendesk.bulk_close',
    { ticket_ids: Array.from({ length: 11 }, (_, i) => i + 13), reason: 'inactive' },
  ],
  ['payroll.run', { period: '2026-11-01' }],
  ['zendesk.update_ticket', { ticket_id: 'seven' }],
];

/** A log row with the data its type's schema accepts, redacted as the collector stores it. */
function row<T extends EventType>(type: T, intentId: string, data: DataOf<T>): ReplayRow {
  return {
    type,
    intent_id: intentId,
    env: 'dev',
    occurred_at: '2026-11-27 10:00:00.000000',
    data: JSON.stringify(redact(EVENTS[type].parse(data)).value),
  };
}

/** The log of a run as the policy stage would have written it under `version`. */
function recordedRun(version: DecidableVersion): ReplayRow[] {
  return CALLS.flatMap(([tool, args], index) => {
    const step = index + 1;
    const intentId = `01JD4K6Z8V3M2T9Q7W5X1Y0B${String(step).padStart(2, '0')}`;
    const authenticated = row('intent.authenticated', intentId, {
      tool,
      args,
      step,
      principal: PRINCIPAL,
      // Redacted whole in the log: its key names a secret.
      credential: { jti: `jti-${step}`, expires_at: '2026-11-27T10:05:00Z' },
    });
    const verdict = decideIntent(
      { tool, args, step, principal: PRINCIPAL },
      TOOLS.get(tool),
      version,
      'dev',
      new Date(),
    );
    if (verdict.kind === 'rejected') {
      return [
        authenticated,
        row('intent.resolved', intentId, {
          status: 'rejected',
          stage: 'validation',
          tool,
          reason: 'invalid_args',
          message: verdict.message,
        }),
      ];
    }
    return [
      authenticated,
      row('policy.decided', intentId, policyDecidedData({ tool, step }, verdict)),
    ];
  });
}

describe('decision replay', () => {
  it('reads each intent with the stage answer the log recorded', () => {
    const { steps, unreadable } = recordedSteps(recordedRun(REFERENCE));
    expect(unreadable).toEqual([]);
    expect(steps.map((step) => [step.step, step.tool, step.recorded.effect])).toEqual([
      [1, 'zendesk.get_ticket', 'allow'],
      [2, 'zendesk.update_ticket', 'allow'],
      [3, 'zendesk.bulk_close', 'allow'],
      [4, 'zendesk.bulk_close', 'approval_required'],
      [5, 'payroll.run', 'deny'],
      [6, 'zendesk.update_ticket', 'rejected'],
    ]);
    expect(steps[3]?.recorded.policyIds).toEqual(['bulk-close-needs-support-leads']);
    expect(steps[3]?.policyVersion).toBe(4);
  });

  it('reproduces every decision against the version it was decided under', () => {
    const { steps } = recordedSteps(recordedRun(REFERENCE));
    const replayed = steps.map((step) =>
      replayStep(
        step,
        TOOLS.get(step.tool),
        step.policyVersion === undefined ? { version: 0 } : REFERENCE,
      ),
    );
    expect(replayed.filter((step) => step.changed)).toEqual([]);
  });

  it('names exactly the steps a weakened policy set changes, and nothing else', () => {
    const { steps } = recordedSteps(recordedRun(REFERENCE));
    const replayed = steps.map((step) => replayStep(step, TOOLS.get(step.tool), WEAKENED));
    const changed = replayed.filter((step) => step.changed);
    expect(changed.map((step) => step.step)).toEqual([4]);
    expect(describeChange(changed[0]!)).toBe(
      'approval_required → allow at step 4 (zendesk.bulk_close) by policy bulk-close-needs-support-leads, small-bulk-close',
    );
  });

  it('reports an intent the stage never answered, and data that does not parse', () => {
    const rows = recordedRun(REFERENCE);
    const withoutAnswer = rows.filter(
      (r) => !(r.intent_id.endsWith('01') && r.type === 'policy.decided'),
    );
    const broken = withoutAnswer.map((r) =>
      r.intent_id.endsWith('02') && r.type === 'intent.authenticated' ? { ...r, data: '{' } : r,
    );
    const { steps, unreadable } = recordedSteps(broken);
    expect(steps.map((step) => step.step)).toEqual([3, 4, 5, 6]);
    expect(unreadable).toEqual([
      { intentId: '01JD4K6Z8V3M2T9Q7W5X1Y0B02', why: 'its intent.authenticated data is not JSON' },
      {
        intentId: '01JD4K6Z8V3M2T9Q7W5X1Y0B01',
        why: 'the policy stage has no answer to it in the log',
      },
    ]);
  });
});
