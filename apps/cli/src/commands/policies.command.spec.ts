import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PolicyVersionView } from '@warden/contracts';
import { CommanderError, type Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CliError } from '../output.js';
import { parseSinceOption } from '../runs/run-queries.js';
import {
  collectPolicyFiles,
  diffVersions,
  formatIssues,
  parseVersion,
  policiesCommand,
  policyRows,
  renderDiff,
  renderValidation,
  renderVersion,
  shadowReportFrom,
  shadowReportText,
  validatePolicies,
  validationJson,
  type CheckedPolicies,
} from './policies.command.js';

const READS = `// Agents may read tools of their own domain.
@id("support-reads")
permit (
  principal,
  action == Warden::Action::"invoke",
  resource in Warden::ToolGroup::"zendesk-read"
);
`;

// Line 4 names an attribute the schema does not have.
const BROKEN = `@id("bad-attribute")
permit (principal, action == Warden::Action::"invoke", resource)
when {
  principal.no_such_attribute == "x"
};
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'policies-command-'));
  await mkdir(join(dir, 'set', 'nested'), { recursive: true });
  await writeFile(join(dir, 'set', 'reads.cedar'), READS);
  await writeFile(join(dir, 'set', 'b-more.cedar'), READS.replace('support-reads', 'more-reads'));
  await writeFile(join(dir, 'set', 'notes.md'), '# not a policy');
  await writeFile(join(dir, 'set', 'nested', 'deep.cedar'), READS);
  await mkdir(join(dir, 'broken'));
  await writeFile(join(dir, 'broken', 'reads.cedar'), READS);
  await writeFile(join(dir, 'broken', 'broken.cedar'), BROKEN);
  await mkdir(join(dir, 'empty'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('collectPolicyFiles', () => {
  it("takes a directory's *.cedar files, not its subdirectories, sorted by name", async () => {
    const files = await collectPolicyFiles([join(dir, 'set')]);
    expect(files.map((file) => file.name)).toEqual(['b-more.cedar', 'reads.cedar']);
    expect(files[1]?.text).toBe(READS);
  });

  it('takes files named on the command line whatever their extension', async () => {
    const files = await collectPolicyFiles([
      join(dir, 'set', 'nested', 'deep.cedar'),
      join(dir, 'set', 'notes.md'),
    ]);
    expect(files.map((file) => file.name)).toEqual(['deep.cedar', 'notes.md']);
  });

  it('counts the same file given twice once', async () => {
    const files = await collectPolicyFiles([join(dir, 'set'), join(dir, 'set', 'reads.cedar')]);
    expect(files).toHaveLength(2);
  });

  it('refuses two different files with the same base name, naming both', async () => {
    const error = await collectPolicyFiles([join(dir, 'set'), join(dir, 'broken')]).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).message).toMatch(/two files are named reads\.cedar/);
  });

  it('says what to pass when a path is missing or holds no policy', async () => {
    await expect(collectPolicyFiles([join(dir, 'nope')])).rejects.toThrow(/does not exist/);
    const error = (await collectPolicyFiles([join(dir, 'empty')]).catch(
      (e: unknown) => e,
    )) as CliError;
    expect(error.message).toMatch(/no \*\.cedar files/);
    expect(error.hint).toMatch(/\.cedar/);
  });
});

describe('policies validate', () => {
  it('passes a valid set against the shipped schema', async () => {
    const checked = await validatePolicies([join(dir, 'set')]);
    expect(checked.check.errors).toEqual([]);
    expect(renderValidation(checked)).toMatch(/^2 policies valid \(2 files\)\n$/);
  });

  it('locates a schema error in its file, on the offending line', async () => {
    const checked = await validatePolicies([join(dir, 'broken')]);
    expect(checked.check.errors.length).toBeGreaterThan(0);
    const output = renderValidation(checked);
    expect(output).toMatch(/^broken\.cedar:4:\d+ {2}.*no_such_attribute/m);
    expect(output).toMatch(/\d+ errors? in 2 files\n$/);
    expect(validationJson(checked)).toMatchObject({
      ok: false,
      files: ['broken.cedar', 'reads.cedar'],
    });
  });

  it('exits non-zero with a hint, after printing every error', async () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const command = quiet(policiesCommand());
    const error = await command
      .parseAsync(['validate', join(dir, 'broken')], { from: 'user' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).message).toMatch(/the policy set has \d+ errors?/);
    expect(String(write.mock.calls[0]?.[0])).toMatch(/^broken\.cedar:4:/m);
  });

  it('formats every issue as file:line:column, then the summary', () => {
    const checked: CheckedPolicies = {
      files: [
        { name: 'a.cedar', path: 'x/a.cedar', text: '' },
        { name: 'b.cedar', path: 'x/b.cedar', text: '' },
      ],
      schema: { path: 'schema', text: '' },
      check: {
        policies: { p1: '' },
        errors: [
          { file: 'a.cedar', line: 3, column: 7, policyId: 'p1', message: 'unknown attribute' },
          { file: 'b.cedar', line: 1, message: 'unexpected token' },
          { file: 'b.cedar', message: 'the same file name is given twice' },
          { policyId: 'p9', message: '@approval must name a group' },
          { message: 'schema: bad type' },
        ],
        warnings: [{ file: 'a.cedar', line: 9, column: 1, message: 'holds no policy' }],
      },
    };
    expect(renderValidation(checked)).toBe(
      [
        'a.cedar:3:7  unknown attribute',
        'b.cedar:1  unexpected token',
        'b.cedar  the same file name is given twice',
        'policy p9  @approval must name a group',
        'policy set  schema: bad type',
        'a.cedar:9:1  warning: holds no policy',
        '5 errors in 2 files, 1 warning',
        '',
      ].join('\n'),
    );
    expect(formatIssues([{ message: 'x' }], 'warning')).toEqual(['policy set  warning: x']);
  });
});

describe('policies publish', () => {
  it('requires --message', async () => {
    const error = await quiet(policiesCommand())
      .parseAsync(['publish', join(dir, 'set')], { from: 'user' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommanderError);
    expect((error as CommanderError).code).toBe('commander.missingMandatoryOptionValue');
  });

  it('sends nothing when the local check fails', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    // No token and no server: reaching the API would fail differently.
    const error = await quiet(policiesCommand())
      .parseAsync(['publish', join(dir, 'broken'), '--message', 'm', '--token', 't'], {
        from: 'user',
      })
      .catch((e: unknown) => e);
    expect((error as CliError).message).toMatch(/nothing was published/);
  });
});

describe('policies shadow', () => {
  it('is publish --shadow: it needs --message and sends nothing when the local check fails', async () => {
    const missing = await quiet(policiesCommand())
      .parseAsync(['shadow', join(dir, 'set')], { from: 'user' })
      .catch((e: unknown) => e);
    expect((missing as CommanderError).code).toBe('commander.missingMandatoryOptionValue');
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const error = await quiet(policiesCommand())
      .parseAsync(['shadow', join(dir, 'broken'), '--message', 'm', '--token', 't'], {
        from: 'user',
      })
      .catch((e: unknown) => e);
    expect((error as CliError).message).toMatch(/nothing was published/);
  });

  it('lists shadow, shadow-report, promote and stop-shadow in the help', () => {
    const help = policiesCommand().helpInformation();
    for (const name of ['shadow', 'shadow-report', 'promote', 'stop-shadow'])
      expect(help).toMatch(new RegExp(`\\n  ${name} `));
  });

  it('takes a shadow version to promote by its number only', async () => {
    const error = await quiet(policiesCommand())
      .parseAsync(['promote', '--shadow', 'latest'], { from: 'user' })
      .catch((e: unknown) => e);
    expect((error as CommanderError).code).toBe('commander.invalidArgument');
  });
});

describe('policies shadow-report', () => {
  const since = parseSinceOption('24h', new Date('2026-11-08T09:30:00Z'));
  const period = {
    shadow_version: '4',
    active_version: '3',
    started_at: '2026-11-08 08:00:00.000001',
    published_by: 'human:bob',
    message: '',
    ended_at: null,
    ended_by_version: null,
    ended_by: null,
    ended_message: null,
    ended_how: 'in_force',
  };

  it('refuses a window it cannot read, with an example', () => {
    expect(since.from).toBe('2026-11-07 09:30:00.000000');
    expect(() => parseSinceOption('yesterday')).toThrow(CliError);
    expect(() => parseSinceOption('yesterday')).toThrow(/--since .*is not a time/);
  });

  it('reads 64-bit counts sent as strings, and says a shadow in force with no comparison yet', () => {
    const report = shadowReportFrom('prod', since, {
      periods: [period],
      compared: [],
      diverged: [],
      byPolicy: [],
      byTool: [],
    });
    expect(report.shadows).toEqual([
      expect.objectContaining({ shadow_version: 4, active_version: 3, compared: 0, diverged: 0 }),
    ]);
    expect(report.from).toBe('2026-11-07T09:30:00Z');
    expect(shadowReportText(report).summary).toEqual([
      'shadow policy report, env prod, since 24h (2026-11-07T09:30:00Z)',
      'shadow v4 beside active v3, published 2026-11-08T08:00:00Z by human:bob; in force',
      '  compared on 0 decisions in the window, 0 diverged',
    ]);
  });

  it('shows one example when a group has one intent, and names no policy plainly', () => {
    const report = shadowReportFrom('dev', since, {
      periods: [],
      compared: [],
      diverged: [],
      byPolicy: [],
      byTool: [
        {
          shadow_version: 4,
          tool: 'echo',
          active_effect: 'deny',
          shadow_effect: 'allow',
          intents: '1',
          first_intent: 'i-1',
          first_run: '',
          last_intent: 'i-1',
          last_run: '',
        },
      ],
    });
    expect(report.by_tool[0]?.examples).toEqual([{ intent_id: 'i-1', run_id: '' }]);
    expect(shadowReportText(report).byTool.rows).toEqual([
      {
        shadow: 'v4',
        tool: 'echo',
        'active → shadow': 'deny → allow',
        intents: '1',
        examples: 'i-1 (run -)',
      },
    ]);
  });

  it('fails clearly on a row of another shape (a collector of another version)', () => {
    const read = () =>
      shadowReportFrom('dev', since, {
        periods: [{ ...period, ended_how: 'exploded' }],
        compared: [],
        diverged: [],
        byPolicy: [],
        byTool: [],
      });
    expect(read).toThrow(CliError);
    expect(read).toThrow(/unexpected policy_shadow_periods row/);
  });
});

describe('policy versions', () => {
  const v1 = version(1, [
    { name: 'reads.cedar', text: 'permit (principal, action, resource);\n' },
    { name: 'old.cedar', text: 'forbid (principal, action, resource);\n' },
  ]);
  const v2 = version(2, [
    { name: 'reads.cedar', text: 'permit (principal, action, resource)\nwhen { true };\n' },
    { name: 'new.cedar', text: '// new\n' },
  ]);

  it('diffs file by file: changed, added and removed files, as unified diffs', () => {
    const diff = diffVersions(v1, v2);
    expect(diff.files.map((file) => [file.name, file.status])).toEqual([
      ['new.cedar', 'added'],
      ['old.cedar', 'removed'],
      ['reads.cedar', 'changed'],
    ]);
    const reads = diff.files[2]?.patch ?? '';
    expect(reads).toContain('--- v1/reads.cedar');
    expect(reads).toContain('+++ v2/reads.cedar');
    expect(reads).toContain('-permit (principal, action, resource);');
    expect(reads).toContain('+when { true };');
    expect(diff.files[0]?.patch).toContain('--- /dev/null');
    const text = renderDiff(diff);
    expect(text).toMatch(
      /^version 1 → 2\nadded {4}new\.cedar\nremoved {2}old\.cedar\nchanged {2}reads\.cedar\n/,
    );
    expect(text).not.toContain('====');
  });

  it('reports a schema change, and says when nothing differs', () => {
    const changed = diffVersions(v1, { ...v1, version: 3, schema: 'namespace Other {}\n' });
    expect(changed.files).toEqual([]);
    expect(renderDiff(changed)).toContain('changed  (schema)');
    expect(renderDiff(diffVersions(v1, { ...v1, version: 4 }))).toBe(
      'versions 1 and 4 have the same files and schema\n',
    );
  });

  it('shows a version with a header per file', () => {
    const text = renderVersion(v1);
    expect(text).toContain('policy version 1 (active) by admin at 2025-01-01T00:00:00.000Z');
    expect(text).toContain('==> old.cedar <==\nforbid (principal, action, resource);\n');
    expect(text).not.toContain('(schema)');
    expect(renderVersion(v1, { withSchema: true })).toContain(
      '==> (schema) <==\nnamespace Warden {}',
    );
  });

  it('marks the active and the shadow version in the list', () => {
    const rows = policyRows([v2, v1, version(3, [])], { active: 1, shadow: 2 });
    expect(rows.map((row) => row['in_force'])).toEqual(['~ shadow', '* active', '']);
  });

  it('accepts only positive version numbers', async () => {
    expect(parseVersion('12')).toBe(12);
    expect(() => parseVersion('0')).toThrow(/version number/);
    expect(() => parseVersion('v2')).toThrow(/version number/);
    const error = await quiet(policiesCommand())
      .parseAsync(['rollback', 'latest', '--message', 'm'], { from: 'user' })
      .catch((e: unknown) => e);
    expect((error as CommanderError).code).toBe('commander.invalidArgument');
  });
});

function version(number: number, files: PolicyVersionView['files']): PolicyVersionView {
  return {
    version: number,
    mode: 'active',
    content_hash: `hash-${number}`,
    author: 'admin',
    message: `v${number}`,
    published_at: '2025-01-01T00:00:00.000Z',
    policy_ids: [],
    schema: 'namespace Warden {}\n',
    files,
  };
}

/** The command with commander's exits turned into throws and its output swallowed. */
function quiet(command: Command): Command {
  command.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  for (const sub of command.commands) quiet(sub);
  return command;
}
