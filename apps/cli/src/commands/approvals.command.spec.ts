import type { ApprovalView } from '@warden/contracts';
import { CommanderError, type Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { policyHint } from './admin-options.js';
import {
  APPROVAL_COLUMNS,
  approvalRows,
  approvalsCommand,
  describeAnswer,
  parseApprovalId,
  parseArgsHash,
  renderApproval,
} from './approvals.command.js';

const ID = '01J9Z3K6Q8V4X2M7N5B3C1D0EF';
const HASH = 'ab'.repeat(32);

const APPROVAL: ApprovalView = {
  approval_id: ID,
  status: 'pending',
  intent_id: '01J9Z3K6Q8V4X2M7N5B3C1D0EG',
  agent_id: 'support-triage-1',
  tool: 'zendesk.bulk_close',
  args: { ticket_ids: [1, 2, 3], comment: 'duplicates' },
  args_hash: HASH,
  step: 4,
  group: 'support-leads',
  separation_of_duties: true,
  owner: 'alice',
  policy_ids: ['bulk-close-needs-lead'],
  policy_version: 3,
  requested_at: '2025-01-01T00:00:00.000Z',
  expires_at: '2025-01-01T01:00:00.000Z',
};

describe('approvals list and show', () => {
  it('lists approvals with the args hash shortened', () => {
    const [row] = approvalRows([APPROVAL]);
    expect(APPROVAL_COLUMNS.map((column) => row?.[column])).toEqual([
      ID,
      'pending',
      'support-triage-1',
      'zendesk.bulk_close',
      'support-leads',
      'abababababab',
      '2025-01-01T01:00:00.000Z',
    ]);
  });

  it('shows every field and the args pretty-printed', () => {
    const text = renderApproval(APPROVAL);
    expect(text).toMatch(new RegExp(`^approval_id +${ID}$`, 'm'));
    expect(text).toMatch(new RegExp(`^args_hash +${HASH}$`, 'm'));
    expect(text).toMatch(/^policy_ids +\["bulk-close-needs-lead"\]$/m);
    expect(text).toMatch(/^separation_of_duties +true$/m);
    expect(text).toContain('args:\n  {\n    "ticket_ids": [\n      1,');
  });

  it('says what an answer did, by whom and why', () => {
    expect(
      describeAnswer({ ...APPROVAL, status: 'granted', answered_by: 'bob', comment: 'checked' }),
    ).toBe(`approval ${ID} (zendesk.bulk_close for support-triage-1) is granted by bob: checked\n`);
  });
});

describe('approvals approve and deny', () => {
  it.each(['approve', 'deny'])('%s requires --reason', async (name) => {
    const error = await quiet(approvalsCommand())
      .parseAsync([name, ID], { from: 'user' })
      .catch((e: unknown) => e);
    expect((error as CommanderError).code).toBe('commander.missingMandatoryOptionValue');
  });

  it('refuses an id that is not a ULID before anything is sent', async () => {
    expect(parseApprovalId(ID)).toBe(ID);
    expect(() => parseApprovalId('42')).toThrow(/warden approvals list/);
    const error = await quiet(approvalsCommand())
      .parseAsync(['approve', '42', '--reason', 'ok'], { from: 'user' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommanderError);
    expect((error as CommanderError).code).toBe('commander.invalidArgument');
  });

  it('takes only a full args hash, in any case', () => {
    expect(parseArgsHash(HASH.toUpperCase())).toBe(HASH);
    expect(() => parseArgsHash('abababababab')).toThrow(/64 hex characters/);
  });

  it('offers --args-hash on approve only', () => {
    const [approve, deny] = ['approve', 'deny'].map((name) =>
      approvalsCommand().commands.find((command) => command.name() === name),
    );
    expect(approve?.options.map((option) => option.long)).toContain('--args-hash');
    expect(deny?.options.map((option) => option.long)).not.toContain('--args-hash');
  });
});

describe('refusal hints', () => {
  it('names the missing role or group, and the list to look at', () => {
    expect(policyHint('approval-approve', 'forbidden', 'dev')).toMatch(/approval's group/);
    expect(policyHint('policy-publish', 'forbidden', 'dev')).toMatch(/admin role/);
    expect(policyHint('approval-show', 'not_found', 'prod')).toMatch(
      /`warden approvals list --env prod`/,
    );
    expect(policyHint('policy-rollback', 'not_found', 'dev')).toMatch(/`warden policies list`/);
    expect(policyHint('tool-list', 'unauthenticated', 'dev')).toMatch(/warden login/);
    expect(policyHint('approval-approve', 'args_mismatch', 'dev')).toMatch(/--args-hash/);
  });
});

/** The command with commander's exits turned into throws and its output swallowed. */
function quiet(command: Command): Command {
  command.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  for (const sub of command.commands) quiet(sub);
  return command;
}
