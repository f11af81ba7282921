import { CommanderError } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { runsCommand } from './runs.command.js';

/** The `runs` subcommand `name`, with its action replaced so nothing connects. */
function subcommand(name: string) {
  const command = runsCommand().commands.find((c) => c.name() === name);
  if (command === undefined) throw new Error(`no runs ${name}`);
  return command;
}

/** Parses `args` for `runs <name>` without running the action; returns commander's error output. */
async function parseError(name: string, args: string[]): Promise<string> {
  let output = '';
  const command = subcommand(name)
    .exitOverride()
    .configureOutput({ writeErr: (text) => (output += text), writeOut: () => undefined })
    .action(() => undefined);
  await expect(command.parseAsync(args, { from: 'user' })).rejects.toBeInstanceOf(CommanderError);
  return output;
}

function helpOf(name: string): string {
  const write = vi.fn();
  subcommand(name).configureOutput({ writeOut: write }).outputHelp();
  return write.mock.calls.map((call) => String(call[0])).join('');
}

describe('warden runs', () => {
  it('keeps the sealed-output commands beside list, show and timeline', () => {
    expect(runsCommand().commands.map((c) => c.name())).toEqual([
      'list',
      'show',
      'timeline',
      'outputs',
      'recording',
      'erase-outputs',
    ]);
  });

  it('refuses a run id that cannot be one, and an unknown status', async () => {
    expect(await parseError('timeline', ['run 42'])).toMatch(/a run id must be 1-64/);
    expect(await parseError('show', ['Run.42'])).toMatch(/a run id must be 1-64/);
    expect(await parseError('list', ['--status', 'done'])).toMatch(
      /Allowed choices are running, halted, ended, succeeded, failed, cancelled/,
    );
  });

  it('says which --since forms work, and bounds --limit', async () => {
    expect(await parseError('list', ['--since', 'yesterday'])).toMatch(
      /"yesterday" is not a time: use a time back \(30m, 24h, 7d\) or a UTC date/,
    );
    expect(await parseError('list', ['--limit', '0'])).toMatch(/from 1 to 10000/);
    expect(await parseError('timeline', ['run-42', '--limit', '20000'])).toMatch(/from 1 to 10000/);
  });

  it('shows examples in each --help', () => {
    expect(helpOf('list')).toContain(
      'warden runs list --agent triage-bot --since 24h --status halted',
    );
    expect(helpOf('show')).toContain('warden runs show run-42');
    expect(helpOf('timeline')).toContain('warden runs timeline run-42 --json');
    expect(helpOf('recording')).toContain(
      'warden runs recording run-42 --purpose "try prompt v7 on yesterday\'s run" > run-42.json',
    );
  });

  it('asks why before opening outputs for a recording', async () => {
    expect(await parseError('recording', ['run-42'])).toMatch(
      /required option '--purpose <text>' not specified/,
    );
  });
});
