import { ArgsHash, Ulid, type ApprovalView } from '@warden/contracts';
import { Command, InvalidArgumentError, Option } from 'commander';
import { printJson, printTable } from '../output.js';
import { callPolicyAdmin, type AdminOptions, withAdminOptions } from './admin-options.js';

const STATUSES = ['pending', 'granted', 'denied', 'expired'] as const;

/** The columns of `approvals list`. */
export const APPROVAL_COLUMNS = [
  'approval_id',
  'status',
  'agent_id',
  'tool',
  'group',
  'args_hash',
  'expires_at',
];

/** `warden approvals …`: the approval requests that `@approval("<group>")` policies raise. */
export function approvalsCommand(): Command {
  const approvals = new Command('approvals').description(
    'list approval requests, show one with its exact args, approve or deny it (members of its group)',
  );

  withAdminOptions(approvals.command('list'))
    .description('list approval requests, newest first')
    .addOption(new Option('--status <status>', 'only requests with this status').choices(STATUSES))
    .option('--group <group>', 'only requests this group may answer, e.g. support-leads')
    .addHelpText(
      'after',
      '\nExamples:\n  warden approvals list --status pending\n  warden approvals list --group support-leads --json',
    )
    .action(async (options: ListOptions) => {
      const { approvals: list } = await callPolicyAdmin(options, 'approval-list', {
        ...(options.status === undefined ? {} : { status: options.status }),
        ...(options.group === undefined ? {} : { group: options.group }),
      });
      if (options.json) printJson(list);
      else if (list.length === 0)
        process.stdout.write(`no approval requests match in env ${options.env}\n`);
      else printTable(APPROVAL_COLUMNS, approvalRows(list));
    });

  withAdminOptions(approvals.command('show'))
    .description('show one approval request: who asks, for what, the exact args and its answer')
    .argument('<id>', 'the approval id (from `warden approvals list`)', parseApprovalId)
    .addHelpText('after', '\nExample:\n  warden approvals show 01J9Z3K6Q8V4X2M7N5B3C1D0EF')
    .action(async (id: string, options: AdminOptions) => {
      const { approval } = await callPolicyAdmin(options, 'approval-show', { approval_id: id });
      if (options.json) printJson(approval);
      else process.stdout.write(renderApproval(approval));
    });

  const answers = [
    [
      'approve',
      'approval-approve',
      'grant an approval request: the agent may run exactly these args',
    ],
    ['deny', 'approval-deny', 'deny an approval request: the intent is resolved as denied'],
  ] as const;
  for (const [name, op, description] of answers) {
    const command = withAdminOptions(approvals.command(name))
      .description(description)
      .argument('<id>', 'the approval id (from `warden approvals list`)', parseApprovalId)
      .requiredOption('--reason <text>', 'why, recorded with your answer');
    if (name === 'approve') {
      command.option(
        '--args-hash <hash>',
        'refuse unless the request is for exactly these args (the args_hash `approvals show` prints)',
        parseArgsHash,
      );
    }
    command
      .addHelpText(
        'after',
        name === 'approve'
          ? '\nExamples:\n  warden approvals approve 01J9Z3K6Q8V4X2M7N5B3C1D0EF --reason "checked with the customer"\n  warden approvals approve 01J9Z3K6Q8V4X2M7N5B3C1D0EF --reason "ok" --args-hash <args_hash from show>'
          : '\nExample:\n  warden approvals deny 01J9Z3K6Q8V4X2M7N5B3C1D0EF --reason "closes tickets still in use"',
      )
      .action(async (id: string, options: AnswerOptions) => {
        const { approval } = await callPolicyAdmin(options, op, {
          approval_id: id,
          reason: options.reason,
          ...(options.argsHash === undefined ? {} : { args_hash: options.argsHash }),
        });
        if (options.json) printJson(approval);
        else process.stdout.write(describeAnswer(approval));
      });
  }
  return approvals;
}

interface ListOptions extends AdminOptions {
  status?: (typeof STATUSES)[number];
  group?: string;
}

interface AnswerOptions extends AdminOptions {
  reason: string;
  argsHash?: string;
}

/** `approvals list` rows: the args hash shortened to 12 characters, enough to tell them apart. */
export function approvalRows(approvals: readonly ApprovalView[]): Record<string, unknown>[] {
  return approvals.map((approval) => ({
    ...approval,
    args_hash: approval.args_hash.slice(0, 12),
  }));
}

/** `approvals show`: every field, one per line, then the args pretty-printed. */
export function renderApproval(approval: ApprovalView): string {
  const { args, ...fields } = approval;
  const width = Math.max(...Object.keys(fields).map((key) => key.length));
  const lines = Object.entries(fields).map(
    ([key, value]) =>
      `${key.padEnd(width)}  ${typeof value === 'string' ? value : JSON.stringify(value)}`,
  );
  return `${lines.join('\n')}\nargs:\n${indent(JSON.stringify(args, null, 2))}\n`;
}

/** One line after approve/deny: what is now true, by whom. */
export function describeAnswer(approval: ApprovalView): string {
  const by = approval.answered_by === undefined ? '' : ` by ${approval.answered_by}`;
  const reason = approval.comment === undefined ? '' : `: ${approval.comment}`;
  return `approval ${approval.approval_id} (${approval.tool} for ${approval.agent_id}) is ${approval.status}${by}${reason}\n`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

/** An approval id: a ULID, checked before anything is sent. */
export function parseApprovalId(value: string): string {
  if (!Ulid.safeParse(value).success) {
    throw new InvalidArgumentError(
      'must be an approval id: a ULID of 26 characters (see `warden approvals list`)',
    );
  }
  return value;
}

/** `--args-hash`: the full SHA-256 in hex that `approvals show` prints. */
export function parseArgsHash(value: string): string {
  const hash = value.trim().toLowerCase();
  if (!ArgsHash.safeParse(hash).success) {
    throw new InvalidArgumentError(
      'must be the full args_hash (64 hex characters) that `warden approvals show <id>` prints',
    );
  }
  return hash;
}
