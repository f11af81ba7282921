import { readFile } from 'node:fs/promises';
import {
  isSecretRef,
  MAX_SECRET_VALUE_LENGTH,
  SECRET_REF_RULE,
  type SecretView,
  type SecretWriteResult,
} from '@warden/contracts';
import { Command, Option } from 'commander';
import { CliError, printJson, printTable } from '../output.js';
import { callExecutorAdmin, withAdminOptions, type AdminOptions } from './admin-options.js';

/** Where a value is read from: exactly one of the two. */
export interface ValueSourceFlags {
  fromFile?: string;
  fromStdin?: boolean;
  /** The hidden `--value`: only there to refuse it without echoing what followed it. */
  value?: string;
}

type WriteOptions = AdminOptions & ValueSourceFlags;

/** Enough to tell a too-long value apart without holding an unbounded one. */
const MAX_READ_BYTES = MAX_SECRET_VALUE_LENGTH * 4 + 2;

const SOURCE_HINT =
  'e.g. `warden secrets set helpdesk/api-token --from-file ./token.txt`, or pipe it: `printenv HELPDESK_TOKEN | warden secrets set helpdesk/api-token --from-stdin`.';

/**
 * `warden secrets …`: the credentials the tool executor injects into upstream calls, per env.
 * A value is read from a file or stdin, never from an argument (it would stay in the shell's
 * history), and never printed back.
 */
export function secretsCommand(): Command {
  const secrets = new Command('secrets').description(
    'set, rotate, list and delete the credentials the tool executor uses for upstream calls (admin role; values are never shown)',
  );

  writeCommand(
    secrets,
    'set',
    (ref, result) =>
      `${result.created ? 'created' : 'replaced'} ${ref}: version ${result.secret.version}\n`,
  )
    .description('create a secret or replace its value (the old value stops working at once)')
    .addHelpText(
      'after',
      `
The value is read from --from-file or --from-stdin, never from the command line (it would stay in
your shell history), and is never printed. One trailing newline (\\n or \\r\\n, as editors and
\`echo\` add) is removed; anything else, other whitespace included, is part of the value.
Refs are segments of a-z, 0-9, "_", "-" and "." joined by "/", at most 128 characters.

Examples:
  printf '%s' "$HELPDESK_TOKEN" | warden secrets set helpdesk/api-token --from-stdin
  warden secrets set helpdesk/api-token --from-file ./helpdesk-token.txt
  warden secrets set billing/stripe.key --from-file ./stripe.key --env prod --json`,
    );

  writeCommand(secrets, 'rotate', (ref, { secret }) => {
    const previous = secret.previous_version;
    return `rotated ${ref}: version ${secret.version} is current${previous === undefined ? '' : `; version ${previous} stays valid until the next rotation`}\n`;
  })
    .description(
      'give a secret a new value; the previous one stays valid until the next rotation, so calls under way can finish',
    )
    .addHelpText(
      'after',
      `
The secret must exist (\`warden secrets set\` creates it). The value is read as for \`set\`: from
--from-file or --from-stdin, one trailing newline removed, never printed.

Examples:
  printf '%s' "$NEW_HELPDESK_TOKEN" | warden secrets rotate helpdesk/api-token --from-stdin
  warden secrets rotate helpdesk/api-token --from-file ./new-token.txt --json`,
    );

  withAdminOptions(secrets.command('list'))
    .description('list the stored secrets: refs, versions, who set them and when (never values)')
    .addHelpText(
      'after',
      `
Examples:
  warden secrets list
  warden secrets list --env prod --json`,
    )
    .action(async (options: AdminOptions) => {
      const result = await callExecutorAdmin(options, 'secret-list', {});
      if (options.json) {
        printJson(result);
        return;
      }
      if (result.secrets.length === 0) {
        process.stdout.write(`no secrets stored in env ${options.env}\n`);
        return;
      }
      printTable(SECRET_COLUMNS, secretRows(result.secrets));
    });

  withAdminOptions(secrets.command('delete'))
    .description(
      'delete a secret and its previous value: tools that use it fail until it is set again',
    )
    .argument('<ref>', 'the secret, e.g. helpdesk/api-token')
    .addHelpText(
      'after',
      `
Examples:
  warden secrets delete helpdesk/api-token
  warden secrets delete billing/stripe.key --env prod --json`,
    )
    .action(async (ref: string, options: AdminOptions) => {
      checkSecretRef(ref);
      const result = await callExecutorAdmin(options, 'secret-delete', { ref });
      if (options.json) {
        printJson(result);
        return;
      }
      process.stdout.write(
        result.deleted
          ? `deleted ${ref} (version ${result.version ?? '?'})\n`
          : `no secret ${ref} in env ${options.env}: nothing deleted\n`,
      );
    });

  return secrets;
}

/**
 * `set` and `rotate`: a ref argument and exactly one value source; the value goes to the executor
 * and nowhere else, and the answer (never a value) is described by `describe`.
 */
function writeCommand(
  parent: Command,
  name: 'set' | 'rotate',
  describe: (ref: string, result: SecretWriteResult) => string,
): Command {
  const op = name === 'set' ? 'secret-set' : 'secret-rotate';
  return (
    withAdminOptions(parent.command(name))
      .argument('<ref>', 'the secret, e.g. helpdesk/api-token')
      .option('--from-file <path>', 'read the value from this file')
      .option('--from-stdin', 'read the value from standard input (a pipe)')
      .addOption(new Option('--value <value>').hideHelp())
      // Refused in the action instead of by Commander, with advice and without echoing them.
      .allowExcessArguments(true)
      .action(async (ref: string, options: WriteOptions, command: Command) => {
        checkSecretRef(ref);
        refuseValueArgument(command.args);
        const value = await readSecretValue(options);
        const result = await callExecutorAdmin(options, op, { ref, value });
        if (options.json) printJson(result);
        else process.stdout.write(describe(ref, result));
      })
  );
}

/**
 * Refuses arguments after the ref: most likely the value, typed where it would stay in the
 * shell's history. Not quoted back.
 */
export function refuseValueArgument(args: readonly string[]): void {
  if (args.length > 1) {
    throw new CliError(
      'secret values are never taken as arguments: they would stay in your shell history',
      `${SOURCE_HINT} Remove that line from your history, and rotate the credential if others can read it.`,
    );
  }
}

/**
 * Refuses a ref that breaks the rule before anything is read or sent. Checked in the actions,
 * not as Commander's argument parser, whose refusal quotes the argument: a value typed in the
 * ref's place must not be echoed to the terminal or a CI log.
 */
export function checkSecretRef(ref: string): string {
  if (!isSecretRef(ref)) {
    throw new CliError(
      `that ref ${SECRET_REF_RULE}`,
      'If you typed the value there, it is in your shell history now: remove it from there, and rotate the credential.',
    );
  }
  return ref;
}

/**
 * The value to send, from `--from-file` or `--from-stdin`, with one trailing newline (`\n` or
 * `\r\n`) removed. No error quotes the value.
 *
 * @throws CliError for `--value`, for no source or both, an empty or too long value, a terminal
 *   on stdin (what one types would show), or a file that cannot be read.
 */
export async function readSecretValue(
  flags: ValueSourceFlags,
  stdin: NodeJS.ReadableStream & { isTTY?: boolean } = process.stdin,
): Promise<string> {
  if (flags.value !== undefined) {
    throw new CliError(
      'secret values are never taken as arguments: they would stay in your shell history',
      `${SOURCE_HINT} Remove that line from your history, and rotate the credential if others can read it.`,
    );
  }
  const fromFile = flags.fromFile !== undefined;
  const fromStdin = flags.fromStdin === true;
  if (fromFile === fromStdin) {
    throw new CliError(
      fromFile
        ? '--from-file and --from-stdin both give the value: use one'
        : 'give the value with --from-file <path> or --from-stdin',
      SOURCE_HINT,
    );
  }
  const raw = fromFile ? await readValueFile(flags.fromFile ?? '') : await readStdin(stdin);
  const value = raw.replace(/\r?\n$/, '');
  if (value.length === 0) {
    throw new CliError(
      `the value ${fromFile ? `in ${flags.fromFile}` : 'on stdin'} is empty`,
      SOURCE_HINT,
    );
  }
  if (value.length > MAX_SECRET_VALUE_LENGTH) {
    throw new CliError(
      `the value is longer than ${MAX_SECRET_VALUE_LENGTH} characters`,
      'Is it the right file? A credential is usually far shorter.',
    );
  }
  return value;
}

async function readValueFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CliError(`cannot read the value from ${path} (${code})`, SOURCE_HINT);
  }
}

async function readStdin(stdin: NodeJS.ReadableStream & { isTTY?: boolean }): Promise<string> {
  if (stdin.isTTY === true) {
    throw new CliError(
      '--from-stdin reads a pipe, not the terminal: what you type would show on screen',
      SOURCE_HINT,
    );
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    chunks.push(buffer);
    bytes += buffer.length;
    if (bytes > MAX_READ_BYTES) break;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The columns of `secrets list`. */
export const SECRET_COLUMNS = ['ref', 'version', 'previous', 'set_by', 'set_at', 'rotated_at'];

/** The rows of `secrets list`: metadata only (the API never sends a value). */
export function secretRows(secrets: readonly SecretView[]): Record<string, unknown>[] {
  return secrets.map((secret) => ({
    ref: secret.ref,
    version: secret.version,
    previous: secret.previous_version ?? '',
    set_by: secret.set_by,
    set_at: secret.set_at,
    rotated_at: secret.rotated_at ?? '',
  }));
}
