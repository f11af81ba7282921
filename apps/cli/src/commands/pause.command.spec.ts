import { PauseRequest, ResumeRequest } from '@warden/contracts';
import type { Command, CommanderError } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { AGENT_PAUSE, DEGRADED, WORKFLOW_PAUSE } from '../../test/support/governor-views.js';
import {
  DEGRADED_COLUMNS,
  degradedRows,
  describePause,
  describeResume,
  PAUSED_COLUMNS,
  pausedRows,
  pauseCommand,
  pauseTargetFrom,
  printPauseList,
  resumeCommand,
} from './pause.command.js';

describe('pause and resume: the request', () => {
  it('names exactly one of --agent and --workflow', () => {
    expect(pauseTargetFrom({ agent: 'a-1' })).toEqual({ scope: 'agent', agent_id: 'a-1' });
    expect(pauseTargetFrom({ workflow: 'refunds' })).toEqual({
      scope: 'workflow',
      workflow: 'refunds',
    });
    expect(() => pauseTargetFrom({})).toThrow(/--agent <id> or --workflow <id>/);
    expect(() => pauseTargetFrom({ agent: 'a', workflow: 'w' })).toThrow(
      /--agent and --workflow name different scopes/,
    );
  });

  it('builds bodies the contract accepts', () => {
    const target = pauseTargetFrom({ agent: 'a-1' });
    expect(PauseRequest.parse({ target, reason: 'why' })).toEqual({ target, reason: 'why' });
    expect(ResumeRequest.parse({ target })).toEqual({ target });
  });

  it('requires --reason to pause, not to resume', async () => {
    const error = await quiet(pauseCommand())
      .parseAsync(['--agent', 'a-1', '--token', 't'], { from: 'user' })
      .catch((e: unknown) => e);
    expect((error as CommanderError).code).toBe('commander.missingMandatoryOptionValue');
    expect(resumeCommand().options.find((option) => option.long === '--reason')?.mandatory).toBe(
      false,
    );
  });

  it('refuses an id that cannot be a subject token, and an empty reason, before sending', async () => {
    const invalid = await quiet(pauseCommand())
      .parseAsync(['--agent', 'Support.Bot', '--reason', 'x'], { from: 'user' })
      .catch((e: unknown) => e);
    expect((invalid as CommanderError).code).toBe('commander.invalidArgument');
    await expect(
      quiet(pauseCommand()).parseAsync(['--agent', 'a-1', '--reason', ' '], { from: 'user' }),
    ).rejects.toThrow(/--reason is empty/);
  });
});

describe('pause output', () => {
  it('says who paused it, when and why', () => {
    const target = { scope: 'agent', agent_id: 'support-triage-1' } as const;
    expect(describePause(target, { changed: true, paused: [WORKFLOW_PAUSE, AGENT_PAUSE] })).toBe(
      'paused agent support-triage-1: by alice at 2025-01-02T00:00:00.000000Z (looping on ticket 4711)\n',
    );
    expect(describePause(target, { changed: false, paused: [AGENT_PAUSE] })).toMatch(
      /^unchanged: agent support-triage-1 was already paused: by alice/,
    );
    expect(describeResume({ scope: 'workflow', workflow: 'refunds' }, false)).toBe(
      'unchanged: workflow refunds was not paused\n',
    );
  });

  it('lists pauses oldest first, and the degraded tools', () => {
    const rows = pausedRows([AGENT_PAUSE, WORKFLOW_PAUSE]);
    expect(rows.map((row) => PAUSED_COLUMNS.map((column) => row[column]))).toEqual([
      ['workflow', 'refunds', 'bob', '2025-01-01T00:00:00.000000Z', ''],
      ['agent', 'support-triage-1', 'alice', AGENT_PAUSE.at, 'looping on ticket 4711'],
    ]);
    const [degraded] = degradedRows([DEGRADED]);
    expect(DEGRADED_COLUMNS.map((column) => degraded?.[column])).toEqual([
      'zendesk.update_ticket',
      '2025-01-03T00:00:00.000000Z',
      'circuit open after 5 upstream errors',
    ]);
  });

  it('says so when nothing is paused or degraded', () => {
    let out = '';
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out += String(chunk);
      return true;
    });
    printPauseList([], [], 'prod');
    write.mockRestore();
    expect(out).toBe('nothing is paused in env prod\nno degraded tools in env prod\n');
  });
});

/** The command with commander's exits turned into throws and its output swallowed. */
function quiet(command: Command): Command {
  command.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  for (const sub of command.commands) quiet(sub);
  return command;
}
