import type { ToolView } from '@warden/contracts';
import { Command, type CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CliError } from '../output.js';
import {
  describeOutcome,
  parseToolVersion,
  renderTool,
  TOOL_COLUMNS,
  toolRows,
  toolsCommand,
} from './tools.command.js';

const TOOL: ToolView = {
  name: 'zendesk.update_ticket',
  version: 2,
  kind: 'write',
  domain: 'support',
  groups: ['zendesk-write', 'support'],
  description: 'Update one ticket',
  digest: 'sha256:abc',
  registered_at: '2025-01-01T00:00:00.000Z',
  registered_by: 'admin',
  declaration: {
    name: 'zendesk.update_ticket',
    version: 2,
    kind: 'write',
    args: { type: 'object', properties: { ticket_id: { type: 'integer' } } },
  },
};

describe('tools register', () => {
  it('says whether each file was new or already registered', () => {
    expect(describeOutcome({ file: 't.yaml', ok: true, created: true, tool: TOOL })).toBe(
      [
        't.yaml: registered zendesk.update_ticket v2',
        '  kind write, domain support, groups zendesk-write, support',
        '  digest sha256:abc',
      ].join('\n'),
    );
    expect(describeOutcome({ file: 't.yaml', ok: true, created: false, tool: TOOL })).toMatch(
      /^t\.yaml: already registered zendesk\.update_ticket v2/,
    );
  });

  it('lists every error of a refused declaration, one per line', () => {
    const text = describeOutcome({
      file: 'bad.yaml',
      ok: false,
      error: {
        code: 'invalid_declaration',
        message: 'the declaration has 2 errors',
        details: [
          { path: 'kind', message: 'must be read or write' },
          { path: 'args.properties.amount.minimum', message: 'must be a number' },
        ],
      },
    });
    expect(text).toBe(
      [
        'bad.yaml: refused (invalid_declaration): the declaration has 2 errors',
        '  kind  must be read or write',
        '  args.properties.amount.minimum  must be a number',
      ].join('\n'),
    );
  });

  it('says which file cannot be read, before anything is sent', async () => {
    const error = await quiet(toolsCommand())
      .parseAsync(['register', '/nonexistent/tool.yaml', '--token', 't'], { from: 'user' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).message).toMatch(/cannot read \/nonexistent\/tool\.yaml/);
  });
});

describe('tools list and show', () => {
  it('lists tools with their groups joined', () => {
    const [row] = toolRows([TOOL]);
    expect(TOOL_COLUMNS.map((column) => row?.[column])).toEqual([
      'zendesk.update_ticket',
      2,
      'write',
      'support',
      'zendesk-write, support',
      '2025-01-01T00:00:00.000Z',
      'admin',
    ]);
  });

  it('shows the declaration as YAML under a comment header listing the versions', () => {
    const text = renderTool(TOOL, [1, 2]);
    expect(text.split('\n').slice(0, 3)).toEqual([
      '# zendesk.update_ticket version 2 (versions: 1, 2)',
      '# registered 2025-01-01T00:00:00.000Z by admin',
      '# digest sha256:abc',
    ]);
    expect(parse(text)).toEqual(TOOL.declaration);
  });

  it('takes the version as an argument, since the program owns --version', async () => {
    // As in main.ts: the program has its own --version, recognised after subcommands too.
    const program = quiet(new Command('warden').version('0.1.0').addCommand(toolsCommand()));
    let seen: unknown;
    program.commands[0]?.commands
      .find((command) => command.name() === 'show')
      ?.hook('preAction', (_parent, action) => {
        seen = action.processedArgs;
        throw new CliError('stop before any request');
      });
    await expect(
      program.parseAsync(['tools', 'show', 'zendesk.update_ticket', '3'], { from: 'user' }),
    ).rejects.toThrow('stop before any request');
    expect(seen).toEqual(['zendesk.update_ticket', 3]);
  });

  it('accepts only positive version numbers', async () => {
    expect(parseToolVersion('3')).toBe(3);
    expect(() => parseToolVersion('-1')).toThrow(/version number/);
    const error = await quiet(toolsCommand())
      .parseAsync(['show', 'x', 'latest'], { from: 'user' })
      .catch((e: unknown) => e);
    expect((error as CommanderError).code).toBe('commander.invalidArgument');
  });
});

/** The command with commander's exits turned into throws and its output swallowed. */
function quiet(command: Command): Command {
  command.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  for (const sub of command.commands) quiet(sub);
  return command;
}
