import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { makeTempDir, removeTempDir } from '@warden/testing';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CliError } from '../output.js';
import {
  checkSecretRef,
  readSecretValue,
  refuseValueArgument,
  SECRET_COLUMNS,
  secretRows,
  secretsCommand,
} from './secrets.command.js';

const VALUE = 'tok-value-that-must-never-be-echoed';

let dir: string;

beforeAll(async () => {
  dir = await makeTempDir('secrets-command');
});

afterAll(async () => {
  await removeTempDir(dir);
});

async function fileWith(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

function pipe(content: string): Readable {
  return Readable.from([Buffer.from(content)]);
}

async function refusedWith(promise: Promise<unknown>): Promise<CliError> {
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(CliError);
  const refusal = error as CliError;
  expect(`${refusal.message}\n${refusal.hint ?? ''}`).not.toContain(VALUE);
  return refusal;
}

describe('reading a secret value', () => {
  it('reads a file and removes one trailing newline, nothing else', async () => {
    expect(await readSecretValue({ fromFile: await fileWith('a', `${VALUE}\n`) })).toBe(VALUE);
    expect(await readSecretValue({ fromFile: await fileWith('b', `${VALUE}\r\n`) })).toBe(VALUE);
    expect(await readSecretValue({ fromFile: await fileWith('c', VALUE) })).toBe(VALUE);
    expect(await readSecretValue({ fromFile: await fileWith('d', ` ${VALUE}\n\n`) })).toBe(
      ` ${VALUE}\n`,
    );
  });

  it('reads a pipe on stdin the same way', async () => {
    expect(await readSecretValue({ fromStdin: true }, pipe(`${VALUE}\n`))).toBe(VALUE);
    expect(await readSecretValue({ fromStdin: true }, pipe('multi\nline'))).toBe('multi\nline');
  });

  it('refuses a terminal on stdin: what one types would show', async () => {
    const terminal = Object.assign(pipe(VALUE), { isTTY: true });
    const refusal = await refusedWith(readSecretValue({ fromStdin: true }, terminal));
    expect(refusal.message).toMatch(/reads a pipe, not the terminal/);
  });

  it('needs exactly one source', async () => {
    expect((await refusedWith(readSecretValue({}))).message).toMatch(
      /--from-file <path> or --from-stdin/,
    );
    const both = await refusedWith(
      readSecretValue({ fromFile: await fileWith('e', VALUE), fromStdin: true }, pipe(VALUE)),
    );
    expect(both.message).toMatch(/use one/);
  });

  it('refuses --value without echoing it', async () => {
    const refusal = await refusedWith(readSecretValue({ value: VALUE }));
    expect(refusal.message).toMatch(/never taken as arguments/);
  });

  it('refuses an empty value, a too long one and an unreadable file, without quoting content', async () => {
    expect(
      (await refusedWith(readSecretValue({ fromFile: await fileWith('f', '\n') }))).message,
    ).toMatch(/is empty/);
    const long = await refusedWith(
      readSecretValue({ fromFile: await fileWith('g', `${VALUE}${'x'.repeat(8192)}`) }),
    );
    expect(long.message).toMatch(/longer than 8192 characters/);
    const missing = await refusedWith(readSecretValue({ fromFile: join(dir, 'nope') }));
    expect(missing.message).toMatch(/cannot read the value from .*nope \(ENOENT\)/);
  });
});

describe('secrets commands: arguments', () => {
  it('refuses a value given as an argument after the ref, without echoing it', () => {
    expect(() => {
      refuseValueArgument(['helpdesk/api-token']);
    }).not.toThrow();
    expect(() => {
      refuseValueArgument(['helpdesk/api-token', VALUE]);
    }).toThrow(CliError);
    try {
      refuseValueArgument(['helpdesk/api-token', VALUE]);
    } catch (error) {
      expect((error as CliError).message).not.toContain(VALUE);
      expect((error as CliError).hint).toMatch(/history/);
    }
  });

  it('refuses a bad ref without quoting it (it may be a value typed in its place)', () => {
    expect(checkSecretRef('helpdesk/api-token')).toBe('helpdesk/api-token');
    for (const ref of [VALUE.toUpperCase(), 'a b', 'x/', 'a..b']) {
      try {
        checkSecretRef(ref);
        expect.unreachable(ref);
      } catch (error) {
        expect(error).toBeInstanceOf(CliError);
        expect((error as CliError).message).not.toContain(ref);
      }
    }
  });

  it('set refuses a value argument and --value before reading or sending anything', async () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      for (const args of [
        ['set', 'helpdesk/api-token', VALUE, '--token', 't'],
        ['rotate', 'helpdesk/api-token', VALUE, '--from-stdin', '--token', 't'],
        ['set', 'helpdesk/api-token', `--value=${VALUE}`, '--token', 't'],
        ['set', 'helpdesk/api-token', '--value', VALUE, '--token', 't'],
        ['set', VALUE.toUpperCase(), '--from-stdin', '--token', 't'],
      ]) {
        await refusedWith(quiet(secretsCommand()).parseAsync(args, { from: 'user' }));
      }
      expect(write).not.toHaveBeenCalled();
    } finally {
      write.mockRestore();
    }
  });

  it('--help of each command has examples that parse as written', async () => {
    for (const name of ['set', 'rotate', 'list', 'delete']) {
      const command = secretsCommand();
      const sub = command.commands.find((candidate) => candidate.name() === name);
      let help = '';
      sub?.configureOutput({ writeOut: (text) => (help += text) }).outputHelp();
      const examples = help
        .split('\n')
        .filter(
          (line) => line.includes(`warden secrets ${name} `) || line.endsWith(`secrets ${name}`),
        )
        .map((line) => line.slice(line.indexOf('warden secrets ') + 'warden secrets '.length));
      expect(examples.length, name).toBeGreaterThan(0);
      for (const example of examples) {
        const parsed = vi.fn();
        const fresh = quiet(secretsCommand());
        fresh.commands.find((candidate) => candidate.name() === name)?.action(parsed);
        await fresh.parseAsync(example.trim().split(/\s+/), { from: 'user' });
        expect(parsed, example).toHaveBeenCalledOnce();
        if (name !== 'list') checkSecretRef(String(parsed.mock.calls[0]?.[0]));
      }
    }
  });
});

describe('secrets list: the table', () => {
  it('shows refs, versions and who set them, never a value', () => {
    const rows = secretRows([
      {
        ref: 'helpdesk/api-token',
        version: 3,
        previous_version: 2,
        set_by: 'human:alice',
        set_at: '2026-01-01T00:00:00.000000Z',
        rotated_at: '2026-01-01T00:00:00.000000Z',
      },
      { ref: 'crm/key', version: 1, set_by: 'human:bob', set_at: '2026-01-02T00:00:00.000000Z' },
    ]);
    expect(Object.keys(rows[0] ?? {})).toEqual(SECRET_COLUMNS);
    expect(rows[1]).toMatchObject({ ref: 'crm/key', version: 1, previous: '', rotated_at: '' });
  });
});

/** The command with commander's exits turned into throws and its output swallowed. */
function quiet(command: Command): Command {
  command.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  for (const sub of command.commands) quiet(sub);
  return command;
}
