import { stripVTControlCharacters } from 'node:util';
import type { CanaryView, ReleaseView } from '@warden/contracts';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiRefusedError } from '../nats-client.js';
import { callPolicyAdmin } from './admin-options.js';
import {
  abortedText,
  canaryCommand,
  canaryHint,
  listText,
  parseCanaryId,
  parsePercent,
  parseReason,
  parseRelease,
  promotedText,
  startedText,
} from './canary.command.js';

// The policy decision service's side of the wire is its own test; here only what is sent.
vi.mock(import('./admin-options.js'), async (importOriginal) => ({
  ...(await importOriginal()),
  callPolicyAdmin: vi.fn(),
}));
const callPolicy = vi.mocked(callPolicyAdmin);

const CANARY = '01JD4K6Z8V3M2T9Q7W5XC0000A';
const VIEW: CanaryView = {
  workflow: 'support-triage',
  canary_id: CANARY,
  version: 'v2',
  baseline: 'v1',
  percent: 10,
  policy_version: 7,
  started_at: '2026-11-02T09:00:00.123456Z',
  started_by: 'human:alice',
  reason: 'looser bulk rule',
};
const RELEASE: ReleaseView = {
  workflow: 'support-triage',
  version: 'v2',
  canary_id: CANARY,
  promoted_at: '2026-11-03T10:00:00.000000Z',
  promoted_by: 'human:bob',
};

let stdout = '';
beforeEach(() => {
  stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  callPolicy.mockReset();
});

/**
 * `warden canary …` as main.ts registers it (warden's own --version read only before the
 * subcommand), exits as throws.
 */
function warden(...args: string[]): Promise<unknown> {
  const program = new Command('warden')
    .version('0.1.0')
    .enablePositionalOptions()
    .addCommand(canaryCommand());
  const quiet = (command: Command): void => {
    command.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
    command.commands.forEach(quiet);
  };
  quiet(program);
  return program.parseAsync(['canary', ...args, '--token', 'tok'], { from: 'user' }).then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('warden canary --help', () => {
  it('lists every subcommand', () => {
    const help = canaryCommand().helpInformation();
    for (const name of ['start', 'list', 'promote', 'abort', 'report']) {
      expect(help).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    }
  });

  it('takes the release as --version', () => {
    const start = canaryCommand().commands.find((c) => c.name() === 'start');
    const longs = start?.options.map((option) => option.long);
    expect(longs).toEqual(expect.arrayContaining(['--workflow', '--version', '--percent']));
  });

  it('explains the tests and the escaped errors in the report help', () => {
    const report = canaryCommand().commands.find((c) => c.name() === 'report');
    let help = '';
    report?.configureOutput({ writeOut: (text) => (help += text) }).outputHelp();
    expect(help).toContain('Mann-Whitney U');
    expect(help).toContain('escaped errors (executed writes that are also bulk');
    expect(help).toContain('--suite <files...>');
  });
});

describe('argument parsing', () => {
  it.each([
    ['10', 10],
    ['2.5', 2.5],
    ['0.25', 0.25],
    ['0.01', 0.01],
    ['99.99', 99.99],
    [' 50.00 ', 50],
  ])('takes --percent %j as %s', (text, percent) => {
    expect(parsePercent(text)).toBe(percent);
  });

  it.each(['0', '0.00', '100', '150', '0.001', '12.345', '-5', '10%', '1e1', '.5', '5.', ''])(
    'refuses --percent %j',
    (text) => {
      expect(() => parsePercent(text)).toThrow(InvalidArgumentError);
      expect(() => parsePercent(text)).toThrow(/above 0 and below 100 with at most two decimals/);
    },
  );

  it('takes a release label as the contracts define it', () => {
    expect(parseRelease('v2')).toBe('v2');
    expect(parseRelease('2026-11-27.1')).toBe('2026-11-27.1');
    expect(() => parseRelease('-v2')).toThrow(/starting with a letter or digit/);
    expect(() => parseRelease('v 2')).toThrow(InvalidArgumentError);
  });

  it('wants a reason in words, and a canary id that is a ULID', () => {
    expect(parseReason('  escaped errors doubled ')).toBe('escaped errors doubled');
    expect(() => parseReason('   ')).toThrow(/must say why/);
    expect(() => parseReason('x'.repeat(2049))).toThrow(/2048/);
    expect(parseCanaryId(CANARY)).toBe(CANARY);
    expect(() => parseCanaryId('42')).toThrow(/warden canary list/);
  });

  it.each(['promote', 'abort'])(
    '%s requires --reason, and sends nothing without one',
    async (how) => {
      const error = await warden(how, '--workflow', 'support-triage');
      expect((error as CommanderError).code).toBe('commander.missingMandatoryOptionValue');
      const blank = await warden(how, '--workflow', 'support-triage', '--reason', ' ');
      expect((blank as CommanderError).code).toBe('commander.invalidArgument');
      expect(callPolicy).not.toHaveBeenCalled();
    },
  );

  it('refuses a share out of range before anything is sent', async () => {
    const error = await warden(
      ...['start', '--workflow', 'support-triage', '--version', 'v2', '--percent', '100'],
    );
    expect(error).toBeInstanceOf(CommanderError);
    expect((error as CommanderError).code).toBe('commander.invalidArgument');
    expect(callPolicy).not.toHaveBeenCalled();
  });
});

describe('warden canary start, list, promote and abort', () => {
  it('starts a canary and says what started and what to do next', async () => {
    callPolicy.mockResolvedValueOnce({ canary: VIEW });
    const error = await warden(
      ...['start', '--workflow', 'support-triage', '--version', 'v2', '--percent', '10'],
      ...['--policy-version', '7', '--reason', 'looser bulk rule'],
    );
    expect(error).toBeUndefined();
    expect(callPolicy).toHaveBeenCalledWith(
      expect.objectContaining({ env: 'dev', token: 'tok' }),
      'canary-start',
      {
        workflow: 'support-triage',
        version: 'v2',
        percent: 10,
        policy_version: 7,
        reason: 'looser bulk rule',
      },
    );
    expect(stdout).toBe(startedText(VIEW, 'dev'));
  });

  it('prints the started canary as JSON for scripts', async () => {
    callPolicy.mockResolvedValueOnce({ canary: VIEW });
    await warden(
      ...['start', '--workflow', 'support-triage', '--version', 'v2', '--percent', '2.5', '--json'],
    );
    expect(callPolicy.mock.calls[0]?.[2]).toEqual({
      workflow: 'support-triage',
      version: 'v2',
      percent: 2.5,
    });
    expect(JSON.parse(stdout)).toEqual({ canary: VIEW });
  });

  it('promotes with the reason and prints the release and the newly active policy', async () => {
    callPolicy.mockResolvedValueOnce({
      canary: VIEW,
      release: RELEASE,
      policy_version: {
        version: 8,
        mode: 'active',
        content_hash: 'c'.repeat(64),
        author: 'human:bob',
        published_at: '2026-11-03T10:00:00.000000Z',
        rollback_of: 7,
        policy_ids: [],
      },
    });
    await warden('promote', '--workflow', 'support-triage', '--reason', 'no escaped errors');
    expect(callPolicy.mock.calls[0]?.slice(1)).toEqual([
      'canary-promote',
      { workflow: 'support-triage', reason: 'no escaped errors' },
    ]);
    expect(stdout).toBe(
      [
        `canary ${CANARY} of support-triage promoted: v2 is the release every new run gets`,
        '  policy    version 8 is active (the content of version 7)',
        '  logged    by human:bob at 2026-11-03T10:00:00Z: "no escaped errors"',
        '',
      ].join('\n'),
    );
  });

  it('aborts with the reason', async () => {
    callPolicy.mockResolvedValueOnce({ canary: VIEW });
    await warden('abort', '--workflow', 'support-triage', '--reason', 'escaped errors doubled');
    expect(callPolicy.mock.calls[0]?.slice(1)).toEqual([
      'canary-abort',
      { workflow: 'support-triage', reason: 'escaped errors doubled' },
    ]);
    expect(stdout).toBe(abortedText(VIEW, 'escaped errors doubled'));
    expect(stdout).toMatch(/aborted: new runs keep v1 and the active policy version\n/);
  });

  it('lists the canaries in force and the promoted releases', async () => {
    callPolicy.mockResolvedValueOnce({ canaries: [VIEW], releases: [RELEASE] });
    await warden('list');
    expect(callPolicy.mock.calls[0]?.slice(1)).toEqual(['canary-list', {}]);
    const text = stripVTControlCharacters(stdout);
    expect(text).toMatch(/^canaries in force\n/);
    expect(text).toMatch(
      /support-triage\s*│\s*01JD4K6Z8V3M2T9Q7W5XC0000A\s*│\s*v2\s*│\s*v1\s*│\s*10%\s*│\s*7/,
    );
    expect(text).toMatch(/promoted releases\n[\s\S]*human:bob/);
  });

  it('says when there is nothing to list', () => {
    expect(listText([], [], 'prod')).toEqual([
      'no canary in force in env prod (start one with `warden canary start --workflow <id> --version <version> --percent 10 --env prod`)',
      'no promoted release',
    ]);
  });

  it('turns a refusal into what to do next', async () => {
    callPolicy.mockRejectedValueOnce(
      new ApiRefusedError('canary_running', 'workflow support-triage already has canary X', []),
    );
    const error = await warden(
      ...['start', '--workflow', 'support-triage', '--version', 'v3', '--percent', '5'],
    );
    expect(error).toBeInstanceOf(ApiRefusedError);
    expect(error).toMatchObject({
      code: 'canary_running',
      message: 'workflow support-triage already has canary X',
      hint: expect.stringContaining('warden canary report --workflow support-triage') as unknown,
    });
  });
});

describe('what the commands print', () => {
  it('says what started, on which share, under which policy, and what next', () => {
    expect(startedText(VIEW, 'prod')).toBe(
      [
        `canary ${CANARY} started for workflow support-triage`,
        '  release   v2 on 10% of new runs; the others keep v1',
        "  policy    the canary's intents are decided under policy version 7, the others' under the active one",
        '  by        human:alice at 2026-11-02T09:00:00Z: "looser bulk rule"',
        '  next      `warden canary report --workflow support-triage --env prod` compares the two sides as runs come in;',
        '            then `warden canary promote --workflow support-triage --reason "…" --env prod` or `warden canary abort --workflow support-triage --reason "…" --env prod`',
        '',
      ].join('\n'),
    );
    const { baseline: _b, policy_version: _p, reason: _r, ...plain } = VIEW;
    const text = startedText(plain, 'dev');
    expect(text).toContain(
      'the others keep their own version (support-triage has no promoted release)',
    );
    expect(text).toContain('every run is decided under the active policy version');
  });

  it('promotes without a policy version in one line and the log line', () => {
    expect(promotedText({ canary: VIEW, release: RELEASE }, 'ok')).toBe(
      `canary ${CANARY} of support-triage promoted: v2 is the release every new run gets\n  logged    by human:bob at 2026-11-03T10:00:00Z: "ok"\n`,
    );
  });

  it('hints by op and code', () => {
    expect(canaryHint('canary-start', 'not_found', 'dev', 'w')).toMatch(/warden policies list/);
    expect(canaryHint('canary-abort', 'not_found', 'prod', 'w')).toMatch(
      /`warden canary list --env prod`/,
    );
    expect(canaryHint('canary-start', 'same_version', 'dev', 'w')).toMatch(/another --version/);
    expect(canaryHint('canary-promote', 'forbidden', 'dev', 'w')).toMatch(/admin role/);
    expect(canaryHint('canary-list', 'unauthenticated', 'dev', 'w')).toBeUndefined();
  });
});
