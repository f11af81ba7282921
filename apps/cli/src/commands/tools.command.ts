import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { ToolView } from '@warden/contracts';
import { Command, InvalidArgumentError } from 'commander';
import { stringify } from 'yaml';
import { CliError, printJson, printTable } from '../output.js';
import { ApiRefusedError, formatRefusal } from '../nats-client.js';
import { callPolicyAdmin, type AdminOptions, withAdminOptions } from './admin-options.js';

/** The columns of `tools list`. */
export const TOOL_COLUMNS = [
  'name',
  'version',
  'kind',
  'domain',
  'groups',
  'registered_at',
  'registered_by',
];

/**
 * Refusals that concern one declaration: `tools register` reports them and goes on with the next
 * file. Anything else (not logged in, no service, forbidden) stops the command.
 */
const PER_FILE_CODES = new Set([
  'invalid_declaration',
  'version_exists',
  'version_not_newer',
  'too_large',
  'invalid_request',
]);

/** `warden tools …`: the tool registry of the policy decision service. */
export function toolsCommand(): Command {
  const tools = new Command('tools').description(
    'register tool declarations (YAML or JSON), list the registered tools, show one',
  );

  withAdminOptions(tools.command('register'))
    .description('register tool declarations; each file is reported on its own (needs admin)')
    .argument('<files...>', 'declaration files: .json parses as JSON, anything else as YAML')
    .addHelpText(
      'after',
      `
Registering the same name and version with the same content again changes nothing. A new
version must be higher than the registered one. Exit code 1 when any file is refused.

Examples:
  warden tools register tools/zendesk.update_ticket.yaml
  warden tools register tools/*.yaml --env prod --json`,
    )
    .action(async (files: string[], options: AdminOptions) => {
      const outcomes: RegisterOutcome[] = [];
      for (const file of files) outcomes.push(await registerTool(options, file));
      if (options.json) printJson(outcomes);
      else process.stdout.write(outcomes.map(describeOutcome).join('\n') + '\n');
      const refused = outcomes.filter((outcome) => !outcome.ok).length;
      if (refused > 0) {
        throw new CliError(
          `${refused} of ${outcomes.length} declaration${outcomes.length === 1 ? ' was' : 's were'} refused`,
          'Fix the errors listed for each file, then register those files again.',
        );
      }
    });

  withAdminOptions(tools.command('list'))
    .description('list the registered tools (latest version of each)')
    .addHelpText('after', '\nExamples:\n  warden tools list\n  warden tools list --json')
    .action(async (options: AdminOptions) => {
      const { tools: list } = await callPolicyAdmin(options, 'tool-list', {});
      if (options.json) printJson(list);
      else if (list.length === 0) {
        process.stdout.write(
          `no tools registered in env ${options.env} (add one with \`warden tools register <file>\`)\n`,
        );
      } else printTable(TOOL_COLUMNS, toolRows(list));
    });

  // The version is an argument, not `--version`: the program's own `--version` (main.ts) is
  // recognised after subcommands too and would print the CLI's version instead.
  withAdminOptions(tools.command('show'))
    .description('print a tool declaration as YAML (JSON with --json) and its versions')
    .argument('<name>', 'the tool, e.g. zendesk.update_ticket')
    .argument('[version]', 'that version (default: the latest)', parseToolVersion)
    .addHelpText(
      'after',
      '\nExamples:\n  warden tools show zendesk.update_ticket\n  warden tools show zendesk.update_ticket 1 --json',
    )
    .action(async (name: string, version: number | undefined, options: AdminOptions) => {
      const result = await callPolicyAdmin(options, 'tool-show', {
        name,
        ...(version === undefined ? {} : { version }),
      });
      if (options.json) printJson(result);
      else process.stdout.write(renderTool(result.tool, result.versions));
    });

  return tools;
}

/** What `tools register` reports for one file. */
export type RegisterOutcome =
  | { file: string; ok: true; created: boolean; tool: ToolView }
  | {
      file: string;
      ok: false;
      error: {
        code: string;
        message: string;
        details: readonly { path: string; message: string }[];
      };
    };

/** Registers one declaration file; a refusal of this declaration is an outcome, not a throw. */
export async function registerTool(options: AdminOptions, file: string): Promise<RegisterOutcome> {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(
      `cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`,
      'Pass the path of a YAML or JSON tool declaration.',
    );
  }
  try {
    const { tool, created } = await callPolicyAdmin(options, 'tool-register', {
      source,
      file: basename(file),
    });
    return { file, ok: true, created, tool };
  } catch (error) {
    if (error instanceof ApiRefusedError && PER_FILE_CODES.has(error.code)) {
      return {
        file,
        ok: false,
        error: { code: error.code, message: error.apiMessage, details: error.details },
      };
    }
    throw error;
  }
}

/** One line per registered tool, or the refusal with every error on its own line. */
export function describeOutcome(outcome: RegisterOutcome): string {
  if (!outcome.ok) {
    const { code, message, details } = outcome.error;
    return `${outcome.file}: refused (${code}): ${formatRefusal(message, details)}`;
  }
  const { tool } = outcome;
  const verb = outcome.created ? 'registered' : 'already registered';
  return [
    `${outcome.file}: ${verb} ${tool.name} v${tool.version}`,
    `  kind ${tool.kind}, domain ${tool.domain}, groups ${tool.groups.join(', ') || '(none)'}`,
    `  digest ${tool.digest}`,
  ].join('\n');
}

/** `tools list` rows. */
export function toolRows(tools: readonly ToolView[]): Record<string, unknown>[] {
  return tools.map((tool) => ({ ...tool, groups: tool.groups.join(', ') }));
}

/** `tools show`: a comment header (version, versions, who registered it), then the declaration. */
export function renderTool(tool: ToolView, versions: readonly number[]): string {
  const header = [
    `# ${tool.name} version ${tool.version} (versions: ${versions.join(', ')})`,
    `# registered ${tool.registered_at} by ${tool.registered_by}`,
    `# digest ${tool.digest}`,
  ];
  return `${header.join('\n')}\n${stringify(tool.declaration)}`;
}

/** A tool version option: a positive integer. */
export function parseToolVersion(value: string): number {
  if (!/^[1-9]\d{0,8}$/.test(value.trim())) {
    throw new InvalidArgumentError(
      'must be a version number like 2 (`warden tools show <name>` lists them)',
    );
  }
  return Number(value);
}
