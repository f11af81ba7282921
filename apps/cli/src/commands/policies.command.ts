import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import {
  type PolicyFile,
  type PolicyVersionSummary,
  type PolicyVersionView,
} from '@warden/contracts';
import { checkPolicyFiles, SHIPPED_SCHEMA_PATH, shippedSchemaPath } from '@warden/policy';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import { z } from 'zod';
import { connectForCli } from '../nats-client.js';
import { CliError, printJson, printTable } from '../output.js';
import { LogCount, parseSinceOption, shortTime, type RunsSince } from '../runs/run-queries.js';
import { callPolicyAdmin, type AdminOptions, withAdminOptions } from './admin-options.js';
import { auditSql } from './audit.command.js';
import { envOption, natsOption, type ConnectionOptions } from './common-options.js';

const SHIPPED_SCHEMA = SHIPPED_SCHEMA_PATH;

/** The shipped schema's path (found from this module: sources, dist or an installed package). */
function shippedSchemaOrUndefined(): string | undefined {
  try {
    return shippedSchemaPath();
  } catch {
    return undefined;
  }
}

/**
 * `warden policies …`: check Cedar policy sets locally, publish them, list, compare, roll back;
 * try a candidate set in shadow beside the active one, report where it differs, promote or stop it.
 */
export function policiesCommand(): Command {
  const policies = new Command('policies').description(
    'validate Cedar policies locally, publish them as a versioned set, list, show, diff and roll back versions; try a set in shadow (shadow, shadow-report, promote, stop-shadow)',
  );

  policies
    .command('validate')
    .description(
      'check policy files against the Cedar schema, locally (no server needed): every error as file:line:column',
    )
    .argument('<paths...>', 'a directory (its *.cedar files) or policy files')
    .option('--schema <file>', `the Cedar schema (default: the shipped ${SHIPPED_SCHEMA})`)
    .option('--json', 'print JSON for scripts')
    .addHelpText(
      'after',
      `
Exit code 1 when any policy is invalid.

Examples:
  warden policies validate examples/support-triage/policies
  warden policies validate reads.cedar bulk-close.cedar --schema my.cedarschema --json`,
    )
    .action(async (paths: string[], options: ValidateOptions) => {
      const checked = await validatePolicies(paths, options.schema);
      if (options.json) printJson(validationJson(checked));
      else process.stdout.write(renderValidation(checked));
      if (checked.check.errors.length > 0) throw invalidSetError(checked);
    });

  withAdminOptions(policies.command('publish'))
    .description(
      'validate policy files locally, then publish them as the next version (active, or --shadow)',
    )
    .argument('<paths...>', 'a directory (its *.cedar files) or policy files')
    .requiredOption('--message <text>', 'why this change, for the version history')
    .option('--schema <file>', `the Cedar schema (default: the shipped ${SHIPPED_SCHEMA})`)
    .option(
      '--shadow',
      'evaluate the new version beside the active one and only log where they differ',
    )
    .addHelpText(
      'after',
      `
Nothing is sent when the local check finds an error. The whole set replaces the previous one:
pass every policy file, not only the changed ones.

Examples:
  warden policies publish examples/support-triage/policies --message "bulk close needs support-leads"
  warden policies publish policies/ --message "try stricter refunds" --shadow --env prod`,
    )
    .action((paths: string[], options: PublishOptions) => publishPolicies(paths, options));

  withAdminOptions(policies.command('shadow'))
    .description(
      'validate policy files locally, then publish them as the shadow version: evaluated beside the active one on live traffic, divergences logged, nothing enforced',
    )
    .argument('<paths...>', 'a directory (its *.cedar files) or policy files')
    .requiredOption('--message <text>', 'why this candidate, for the version history')
    .option('--schema <file>', `the Cedar schema (default: the shipped ${SHIPPED_SCHEMA})`)
    .addHelpText(
      'after',
      `
The same as \`publish --shadow\`. One shadow version is evaluated at a time: a newer one replaces it.
Then:
  warden policies shadow-report       where it would have decided differently, by policy and tool
  warden policies promote             make it the active version
  warden policies stop-shadow         stop evaluating it, activate nothing

Example:
  warden policies shadow policies/ --message "try stricter refunds"`,
    )
    .action((paths: string[], options: PublishOptions) =>
      publishPolicies(paths, { ...options, shadow: true }),
    );

  policies
    .command('shadow-report')
    .description(
      'where the shadow version would have decided differently from the active one, by policy and by tool, with example intents (from the audit log)',
    )
    .addOption(envOption())
    .addOption(natsOption())
    .option('--since <when>', 'the window: 30m, 24h, 7d or a UTC date 2026-11-01', '24h')
    .addOption(
      new Option('--limit <n>', 'the most rows per table').argParser(parseLimit).default(50),
    )
    .option('--json', 'print JSON for scripts')
    .addHelpText(
      'after',
      `
Read through the trace collector from policy.shadow_diverged events (views shadow_divergences
and policy_shadow_periods). "compared" counts the decisions made under the active version while
a shadow version was in force; intents refused for invalid args or an unknown tool, and a
canary's runs decided under its own policy, are never compared, and a policy decision service
started with POLICY_SHADOW_ENABLED=false compares none.

Examples:
  warden policies shadow-report
  warden policies shadow-report --since 7d --json`,
    )
    .action(async (options: ShadowReportOptions) => {
      const since = parseSinceOption(options.since);
      const report = await readShadowReport(options, since, options.limit);
      if (options.json) printJson(report);
      else printShadowReport(report);
    });

  withAdminOptions(policies.command('promote'))
    .description(
      'make the shadow version the active one (a new active version with its content) and end the shadow evaluation',
    )
    .option(
      '--message <text>',
      'why, for the version history (default: promote shadow version <n>)',
    )
    .option(
      '--shadow <version>',
      'the shadow version you reviewed: refused if another is in force; once promoted, a retry answers the same',
      parseVersion,
    )
    .addHelpText(
      'after',
      `
The new version's rollback_of names the shadow version it carries (\`warden policies list\`).

Examples:
  warden policies promote --shadow 4 --message "stricter refunds: no divergence we did not expect"
  warden policies promote`,
    )
    .action(async (options: AdminOptions & { message?: string; shadow?: number }) => {
      const result = await callPolicyAdmin(options, 'policy-promote', {
        ...(options.message === undefined ? {} : { message: options.message }),
        ...(options.shadow === undefined ? {} : { shadow: options.shadow }),
      });
      if (options.json) printJson(result);
      else {
        const what = result.already ? 'was already promoted' : 'promoted';
        process.stdout.write(
          `shadow version ${result.promoted} ${what}: version ${result.version.version} is active with its content, no shadow is evaluated\n  hash  ${result.version.content_hash}\n`,
        );
      }
    });

  withAdminOptions(policies.command('stop-shadow'))
    .description(
      'stop evaluating the shadow version without activating it (what is enforced does not change)',
    )
    .option('--message <text>', 'why, for the version history (default: stop shadow version <n>)')
    .addHelpText(
      'after',
      `
The head of the policy versions only moves through the log: this publishes a new active version
with the active version's content (rollback_of names it), by you.

Example:
  warden policies stop-shadow --message "refund rules need another pass"`,
    )
    .action(async (options: AdminOptions & { message?: string }) => {
      const result = await callPolicyAdmin(
        options,
        'policy-shadow-stop',
        options.message === undefined ? {} : { message: options.message },
      );
      if (options.json) printJson(result);
      else {
        process.stdout.write(
          `shadow version ${result.stopped} is no longer evaluated; version ${result.version.version} is active with the content of version ${result.version.rollback_of ?? '?'}\n`,
        );
      }
    });

  withAdminOptions(policies.command('list'))
    .description('list the published policy versions, newest first, and which is active or shadow')
    .addHelpText('after', '\nExamples:\n  warden policies list\n  warden policies list --json')
    .action(async (options: AdminOptions) => {
      const result = await callPolicyAdmin(options, 'policy-list', {});
      if (options.json) printJson(result);
      else if (result.versions.length === 0) {
        process.stdout.write(
          `no policy version published in env ${options.env}: every intent is denied\n(publish one with \`warden policies publish <dir> --message "…"\`)\n`,
        );
      } else printTable(POLICY_COLUMNS, policyRows(result.versions, result));
    });

  withAdminOptions(policies.command('show'))
    .description('print the files of a policy version (default: the active one)')
    .argument('[version]', 'the version number', parseVersion)
    .option('--with-schema', 'print the Cedar schema it was validated against too')
    .addHelpText(
      'after',
      '\nExamples:\n  warden policies show\n  warden policies show 3 --with-schema\n  warden policies show 3 --json',
    )
    .action(
      async (version: number | undefined, options: AdminOptions & { withSchema?: boolean }) => {
        const shown = await showVersion(options, version);
        if (options.json) printJson(shown);
        else
          process.stdout.write(renderVersion(shown, { withSchema: options.withSchema === true }));
      },
    );

  withAdminOptions(policies.command('diff'))
    .description('compare two policy versions file by file (b defaults to the active version)')
    .argument('<a>', 'the older version', parseVersion)
    .argument('[b]', 'the newer version (default: the active one)', parseVersion)
    .addHelpText(
      'after',
      '\nExamples:\n  warden policies diff 2 3\n  warden policies diff 2          # against the active version\n  warden policies diff 2 3 --json',
    )
    .action(async (a: number, b: number | undefined, options: AdminOptions) => {
      const from = await showVersion(options, a);
      const to = await showVersion(options, b);
      const diff = diffVersions(from, to);
      if (options.json) printJson(diff);
      else process.stdout.write(renderDiff(diff));
    });

  withAdminOptions(policies.command('rollback'))
    .description('publish a new active version with the content of an earlier one')
    .argument('<version>', 'the version whose content becomes active again', parseVersion)
    .requiredOption('--message <text>', 'why, for the version history')
    .addHelpText(
      'after',
      '\nExample:\n  warden policies rollback 3 --message "v4 blocked single-ticket updates"',
    )
    .action(async (version: number, options: AdminOptions & { message: string }) => {
      const result = await callPolicyAdmin(options, 'policy-rollback', {
        version,
        message: options.message,
      });
      if (options.json) printJson(result);
      else {
        process.stdout.write(
          `published policy version ${result.version.version} (active) with the content of version ${version}\n  hash  ${result.version.content_hash}\n`,
        );
      }
    });

  return policies;
}

/** `publish` and `shadow`: validate locally, then publish the set as the next version. */
async function publishPolicies(paths: readonly string[], options: PublishOptions): Promise<void> {
  const checked = await validatePolicies(paths, options.schema);
  if (checked.check.errors.length > 0) {
    if (options.json) printJson(validationJson(checked));
    else process.stdout.write(renderValidation(checked));
    throw invalidSetError(checked, 'nothing was published');
  }
  const result = await callPolicyAdmin(options, 'policy-publish', {
    schema: checked.schema.text,
    files: checked.files.map(({ name, text }) => ({ name, text })),
    message: options.message,
    mode: options.shadow ? 'shadow' : 'active',
  });
  if (options.json) {
    printJson(result);
    return;
  }
  const { version } = result;
  const next =
    version.mode === 'shadow'
      ? [
          '  next      `warden policies shadow-report` shows where it differs; then `warden policies promote` or `warden policies stop-shadow`',
        ]
      : [];
  process.stdout.write(
    [
      `published policy version ${version.version} (${version.mode})`,
      `  hash      ${version.content_hash}`,
      `  policies  ${version.policy_ids.join(', ') || '(none)'}`,
      ...result.warnings.map((warning) => `  warning: ${warning}`),
      ...next,
      '',
    ].join('\n'),
  );
}

interface ValidateOptions {
  schema?: string;
  json?: boolean;
}

interface PublishOptions extends AdminOptions {
  message: string;
  schema?: string;
  shadow?: boolean;
}

/** A policy file read from disk: its name as published (the base name) and where it came from. */
export interface CollectedFile extends PolicyFile {
  readonly path: string;
}

/** One located problem, as `checkPolicyFiles` reports errors and warnings. */
export interface LocatedIssue {
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  readonly policyId?: string;
  readonly message: string;
}

/** What `validate` found: the files, the schema and `checkPolicyFiles`' verdict. */
export interface CheckedPolicies {
  readonly files: readonly CollectedFile[];
  readonly schema: { readonly path: string; readonly text: string };
  readonly check: {
    readonly policies: Readonly<Record<string, string>>;
    readonly errors: readonly LocatedIssue[];
    readonly warnings: readonly LocatedIssue[];
  };
}

/**
 * The policy files named on the command line: a directory contributes its `*.cedar` files (not
 * its subdirectories), a file itself whatever its name. Sorted by name so a set publishes the same
 * way from any machine. Files are published under their base name, so two with the same base
 * name are refused.
 */
export async function collectPolicyFiles(paths: readonly string[]): Promise<CollectedFile[]> {
  const found: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (info === undefined) {
      throw new CliError(
        `${path} does not exist`,
        'Pass a directory of *.cedar files or the files themselves.',
      );
    }
    if (info.isDirectory()) {
      const entries = await readdir(path, { withFileTypes: true });
      found.push(
        ...entries
          .filter((entry) => entry.isFile() && entry.name.endsWith('.cedar'))
          .map((entry) => join(path, entry.name)),
      );
    } else found.push(path);
  }
  if (found.length === 0) {
    throw new CliError(
      `no *.cedar files in ${paths.join(', ')}`,
      'Policies are files ending in .cedar; pass their directory or the files.',
    );
  }
  const byName = new Map<string, string>();
  for (const path of found) {
    const name = basename(path);
    const first = byName.get(name);
    if (first !== undefined && resolve(first) !== resolve(path)) {
      throw new CliError(
        `two files are named ${name}: ${first} and ${path}`,
        'Files are published under their base name: rename one of them.',
      );
    }
    byName.set(name, path);
  }
  const files = await Promise.all(
    [...byName].map(async ([name, path]) => ({ name, path, text: await readFile(path, 'utf8') })),
  );
  return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Reads the schema: the given file, else the shipped one. */
export async function readSchema(path?: string): Promise<{ path: string; text: string }> {
  const schemaPath = path ?? shippedSchemaOrUndefined();
  if (schemaPath === undefined) {
    throw new CliError(
      `the shipped schema ${SHIPPED_SCHEMA} was not found`,
      'Pass the schema with --schema <file>.',
    );
  }
  try {
    return { path: schemaPath, text: await readFile(schemaPath, 'utf8') };
  } catch (error) {
    throw new CliError(
      `cannot read the schema ${schemaPath}: ${error instanceof Error ? error.message : String(error)}`,
      'Pass a readable Cedar schema file with --schema <file>.',
    );
  }
}

/** Reads the files and the schema and checks them the way the service does before publishing. */
export async function validatePolicies(
  paths: readonly string[],
  schemaPath?: string,
): Promise<CheckedPolicies> {
  const files = await collectPolicyFiles(paths);
  const schema = await readSchema(schemaPath);
  const check = checkPolicyFiles(
    schema.text,
    files.map(({ name, text }) => ({ name, text })),
  );
  return { files, schema, check };
}

/**
 * Where an issue is, as editors and CI logs link it: `file:line:column`, or the policy id, or the
 * schema / the set as a whole when it belongs to no file.
 */
export function issueLocation(issue: LocatedIssue): string {
  if (issue.file !== undefined) {
    const line = issue.line === undefined ? '' : `:${issue.line}`;
    const column = issue.line === undefined || issue.column === undefined ? '' : `:${issue.column}`;
    return `${issue.file}${line}${column}`;
  }
  if (issue.policyId !== undefined) return `policy ${issue.policyId}`;
  return 'policy set';
}

/** One line per issue: `file:line:column  message` (warnings marked as such). */
export function formatIssues(
  issues: readonly LocatedIssue[],
  kind: 'error' | 'warning' = 'error',
): string[] {
  const marker = kind === 'warning' ? 'warning: ' : '';
  return issues.map((issue) => `${issueLocation(issue)}  ${marker}${issue.message}`);
}

/** The human report of a validation: every error and warning, then one summary line. */
export function renderValidation({ files, check }: CheckedPolicies): string {
  const lines = [...formatIssues(check.errors), ...formatIssues(check.warnings, 'warning')];
  const policies = Object.keys(check.policies).length;
  const inFiles = `${files.length} file${files.length === 1 ? '' : 's'}`;
  const warnings =
    check.warnings.length === 0
      ? ''
      : `, ${check.warnings.length} warning${check.warnings.length === 1 ? '' : 's'}`;
  if (check.errors.length === 0) {
    lines.push(
      `${policies} ${policies === 1 ? 'policy' : 'policies'} valid (${inFiles}${warnings})`,
    );
  } else {
    lines.push(
      `${check.errors.length} error${check.errors.length === 1 ? '' : 's'} in ${inFiles}${warnings}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** `validate --json`: the verdict and every issue, with file names rather than read paths. */
export function validationJson({ files, schema, check }: CheckedPolicies): unknown {
  return {
    ok: check.errors.length === 0,
    schema: schema.path,
    files: files.map((file) => file.name),
    policy_ids: Object.keys(check.policies),
    errors: check.errors,
    warnings: check.warnings,
  };
}

function invalidSetError(checked: CheckedPolicies, consequence?: string): CliError {
  const count = checked.check.errors.length;
  return new CliError(
    `the policy set has ${count} error${count === 1 ? '' : 's'}${consequence ? `: ${consequence}` : ''}`,
    `Fix each one listed above, then run the command again (schema: ${checked.schema.path}).`,
  );
}

/** The columns of `policies list`. */
export const POLICY_COLUMNS = [
  'version',
  'mode',
  'in_force',
  'author',
  'published_at',
  'message',
  'rollback_of',
];

/** `policies list` rows: `in_force` marks the active and the shadow version. */
export function policyRows(
  versions: readonly PolicyVersionSummary[],
  head: { active: number; shadow?: number | undefined },
): Record<string, unknown>[] {
  return versions.map((version) => ({
    ...version,
    in_force:
      version.version === head.active
        ? '* active'
        : version.version === head.shadow
          ? '~ shadow'
          : '',
  }));
}

async function showVersion(
  options: AdminOptions,
  version: number | undefined,
): Promise<PolicyVersionView> {
  const shown = await callPolicyAdmin(
    options,
    'policy-show',
    version === undefined ? {} : { version },
  );
  return shown.version;
}

/** `policies show`: a header, then each file's text under a `==> name <==` line. */
export function renderVersion(
  version: PolicyVersionView,
  options: { withSchema?: boolean } = {},
): string {
  const lines = [
    `policy version ${version.version} (${version.mode}) by ${version.author} at ${version.published_at}`,
    ...(version.message === undefined ? [] : [`message: ${version.message}`]),
    ...(version.rollback_of === undefined ? [] : [`rollback of version ${version.rollback_of}`]),
    `hash: ${version.content_hash}`,
    `policies: ${version.policy_ids.join(', ') || '(none)'}`,
  ];
  const sections = version.files.map((file) => fileSection(file.name, file.text));
  if (options.withSchema) sections.push(fileSection('(schema)', version.schema));
  return `${[lines.join('\n'), ...sections].join('\n\n')}\n`;
}

function fileSection(name: string, text: string): string {
  return `==> ${name} <==\n${text.replace(/\n$/, '')}`;
}

/** How one file differs between two versions; `patch` is a unified diff. */
export interface FileDiff {
  readonly name: string;
  readonly status: 'added' | 'removed' | 'changed';
  readonly patch: string;
}

/** The differences between two versions: per file, and of the schema. */
export interface VersionDiff {
  readonly from: number;
  readonly to: number;
  readonly files: readonly FileDiff[];
  readonly schema?: string;
}

/** Compares two versions file by file (matched by name), and their schemas. */
export function diffVersions(from: PolicyVersionView, to: PolicyVersionView): VersionDiff {
  const before = new Map(from.files.map((file) => [file.name, file.text]));
  const after = new Map(to.files.map((file) => [file.name, file.text]));
  const names = [...new Set([...before.keys(), ...after.keys()])].sort();
  const files: FileDiff[] = [];
  for (const name of names) {
    const a = before.get(name);
    const b = after.get(name);
    if (a === b) continue;
    files.push({
      name,
      status: a === undefined ? 'added' : b === undefined ? 'removed' : 'changed',
      patch: unifiedDiff(
        a === undefined ? '/dev/null' : `v${from.version}/${name}`,
        b === undefined ? '/dev/null' : `v${to.version}/${name}`,
        a ?? '',
        b ?? '',
      ),
    });
  }
  const schema =
    from.schema === to.schema
      ? undefined
      : unifiedDiff(`v${from.version}/(schema)`, `v${to.version}/(schema)`, from.schema, to.schema);
  return { from: from.version, to: to.version, files, ...(schema === undefined ? {} : { schema }) };
}

function unifiedDiff(fromName: string, toName: string, a: string, b: string): string {
  return createTwoFilesPatch(fromName, toName, a, b, undefined, undefined, {
    context: 3,
    headerOptions: FILE_HEADERS_ONLY,
  });
}

/** `policies diff`: a summary line per file, then the unified diffs. */
export function renderDiff(diff: VersionDiff): string {
  if (diff.files.length === 0 && diff.schema === undefined) {
    return `versions ${diff.from} and ${diff.to} have the same files and schema\n`;
  }
  const summary = diff.files.map((file) => `${file.status.padEnd(8)} ${file.name}`);
  if (diff.schema !== undefined) summary.push('changed  (schema)');
  const patches = [...diff.files.map((file) => file.patch), diff.schema ?? ''].filter(Boolean);
  return `version ${diff.from} → ${diff.to}\n${summary.join('\n')}\n\n${patches.join('\n')}`;
}

/** A policy version argument: a positive integer. */
export function parseVersion(value: string): number {
  if (!/^[1-9]\d{0,8}$/.test(value.trim())) {
    throw new InvalidArgumentError('must be a version number like 3 (see `warden policies list`)');
  }
  return Number(value);
}

/*
 * `policies shadow-report`: what it asks the audit log, through the trace collector's `audit.sql`.
 * The views live in deploy/clickhouse/0006_shadow_views.sql. Values are bound, never spliced.
 */

/** The shadow versions in force at some time in the window, oldest first. */
export const SHADOW_PERIODS_SQL = `SELECT shadow_version, active_version, started_at, published_by, message,
       ended_at, ended_by_version, ended_by, ended_message, ended_how
FROM policy_shadow_periods
WHERE env = {env:String} AND (ended_at IS NULL OR ended_at >= {since:DateTime64(6, 'UTC')})
ORDER BY shadow_version`;

/**
 * Per shadow version, the decisions made under the active version while it was in force (in the
 * window): those it was compared on. Unknown tools are denied before any policy is evaluated, and
 * a canary's runs decided under the canary's own version are not compared, so both are left out.
 * A period ends at the next publication, so the active version is the same throughout it.
 */
export const SHADOW_COMPARED_SQL = `SELECT p.shadow_version AS shadow_version, uniqExact(d.intent_id) AS decisions
FROM events AS d
INNER JOIN policy_shadow_periods AS p ON d.env = p.env
WHERE d.env = {env:String}
  AND d.type = 'policy.decided'
  AND d.reason != 'unknown_tool'
  AND JSONExtractUInt(d.data, 'policy_version') = p.active_version
  AND d.occurred_at >= {since:DateTime64(6, 'UTC')}
  AND d.occurred_at >= p.started_at
  AND (p.ended_at IS NULL OR d.occurred_at < p.ended_at)
GROUP BY shadow_version`;

/** Per shadow version, how many intents it would have decided differently. */
export const SHADOW_DIVERGED_SQL = `SELECT shadow_version, uniqExact(intent_id) AS intents
FROM shadow_divergences
WHERE env = {env:String} AND occurred_at >= {since:DateTime64(6, 'UTC')}
GROUP BY shadow_version`;

/**
 * The divergences by the policies that determined each side, with the first and the last intent
 * as examples (by time, then id, so the same log always gives the same examples).
 */
export const SHADOW_BY_POLICY_SQL = `SELECT shadow_version, active_effect, shadow_effect, active_policy_ids, shadow_policy_ids,
       uniqExact(intent_id) AS intents,
       argMin(intent_id, (occurred_at, intent_id)) AS first_intent,
       argMin(run_id, (occurred_at, intent_id)) AS first_run,
       argMax(intent_id, (occurred_at, intent_id)) AS last_intent,
       argMax(run_id, (occurred_at, intent_id)) AS last_run
FROM shadow_divergences
WHERE env = {env:String} AND occurred_at >= {since:DateTime64(6, 'UTC')}
GROUP BY shadow_version, active_effect, shadow_effect, active_policy_ids, shadow_policy_ids
ORDER BY shadow_version DESC, intents DESC, active_effect, shadow_effect, active_policy_ids, shadow_policy_ids
LIMIT {limit:UInt32}`;

/** The divergences by tool and the two effects, with examples as above. */
export const SHADOW_BY_TOOL_SQL = `SELECT shadow_version, tool, active_effect, shadow_effect,
       uniqExact(intent_id) AS intents,
       argMin(intent_id, (occurred_at, intent_id)) AS first_intent,
       argMin(run_id, (occurred_at, intent_id)) AS first_run,
       argMax(intent_id, (occurred_at, intent_id)) AS last_intent,
       argMax(run_id, (occurred_at, intent_id)) AS last_run
FROM shadow_divergences
WHERE env = {env:String} AND occurred_at >= {since:DateTime64(6, 'UTC')}
GROUP BY shadow_version, tool, active_effect, shadow_effect
ORDER BY shadow_version DESC, intents DESC, tool, active_effect, shadow_effect
LIMIT {limit:UInt32}`;

/** What `policies shadow-report` leaves out of "compared", said once under the report. */
export const COMPARED_NOTE =
  "compared: decisions made under the active version while the shadow version was in force, from the log; intents refused for invalid args or an unknown tool, and a canary's runs decided under its own policy, are never compared, and a policy decision service with POLICY_SHADOW_ENABLED=false compares none";

// DateTime64 arrives as `2026-11-02 09:00:00.000001`.
const Time = z.string().transform((value) => shortTime(value));
const Effect = z.enum(['allow', 'deny', 'approval_required']);

const PeriodRow = z.object({
  shadow_version: LogCount,
  active_version: LogCount,
  started_at: Time,
  published_by: z.string(),
  message: z.string(),
  ended_at: Time.nullable(),
  ended_by_version: LogCount.nullable(),
  ended_by: z.string().nullable(),
  ended_message: z.string().nullable(),
  ended_how: z.enum(['in_force', 'replaced', 'promoted', 'stopped', 'superseded']),
});
const ComparedRow = z.object({ shadow_version: LogCount, decisions: LogCount });
const DivergedRow = z.object({ shadow_version: LogCount, intents: LogCount });
const ExampleColumns = {
  intents: LogCount,
  first_intent: z.string(),
  first_run: z.string(),
  last_intent: z.string(),
  last_run: z.string(),
};
const ByPolicyRow = z.object({
  shadow_version: LogCount,
  active_effect: Effect,
  shadow_effect: Effect,
  active_policy_ids: z.array(z.string()),
  shadow_policy_ids: z.array(z.string()),
  ...ExampleColumns,
});
const ByToolRow = z.object({
  shadow_version: LogCount,
  tool: z.string(),
  active_effect: Effect,
  shadow_effect: Effect,
  ...ExampleColumns,
});

/** An intent the shadow version would have decided differently, and its run. */
export interface ShadowExample {
  readonly intent_id: string;
  readonly run_id: string;
}

/** One shadow version in force during the window: its time in force, and how it compared. */
export type ShadowPeriod = z.output<typeof PeriodRow> & {
  /** Decisions made while it was in force, in the window. */
  readonly compared: number;
  /** Intents it would have decided differently, in the window. */
  readonly diverged: number;
};

export type ShadowByPolicy = Omit<
  z.output<typeof ByPolicyRow>,
  'first_intent' | 'first_run' | 'last_intent' | 'last_run'
> & { readonly examples: ShadowExample[] };

export type ShadowByTool = Omit<
  z.output<typeof ByToolRow>,
  'first_intent' | 'first_run' | 'last_intent' | 'last_run'
> & { readonly examples: ShadowExample[] };

/** What `policies shadow-report --json` prints. */
export interface ShadowReport {
  readonly env: string;
  readonly since: string;
  /** The window's start, RFC 3339. */
  readonly from: string;
  readonly shadows: ShadowPeriod[];
  readonly by_policy: ShadowByPolicy[];
  readonly by_tool: ShadowByTool[];
  readonly compared_note: string;
}

/** The rows of the five queries, as the collector answers them. */
export interface ShadowReportRows {
  readonly periods: readonly Record<string, unknown>[];
  readonly compared: readonly Record<string, unknown>[];
  readonly diverged: readonly Record<string, unknown>[];
  readonly byPolicy: readonly Record<string, unknown>[];
  readonly byTool: readonly Record<string, unknown>[];
}

/**
 * Builds the report from the rows the queries return (each row validated: a view that changed
 * shape fails here with its name, not as a wrong table).
 */
export function shadowReportFrom(
  env: string,
  since: RunsSince,
  rows: ShadowReportRows,
): ShadowReport {
  const parse = <S extends z.ZodType>(
    schema: S,
    view: string,
    list: readonly unknown[],
  ): z.output<S>[] =>
    list.map((row) => {
      const parsed = schema.safeParse(row);
      if (!parsed.success) {
        throw new CliError(
          `the audit log answered an unexpected ${view} row: ${z.prettifyError(parsed.error)}`,
          'Are the CLI and the trace collector the same version? Restarting the collector applies its migrations.',
        );
      }
      return parsed.data;
    });
  const compared = new Map(
    parse(ComparedRow, 'compared', rows.compared).map((r) => [r.shadow_version, r.decisions]),
  );
  const diverged = new Map(
    parse(DivergedRow, 'shadow_divergences', rows.diverged).map((r) => [
      r.shadow_version,
      r.intents,
    ]),
  );
  const shadows = parse(PeriodRow, 'policy_shadow_periods', rows.periods).map((period) => ({
    ...period,
    compared: compared.get(period.shadow_version) ?? 0,
    diverged: diverged.get(period.shadow_version) ?? 0,
  }));
  return {
    env,
    since: since.text,
    from: shortTime(since.from),
    shadows,
    by_policy: parse(ByPolicyRow, 'shadow_divergences', rows.byPolicy).map(withExamples),
    by_tool: parse(ByToolRow, 'shadow_divergences', rows.byTool).map(withExamples),
    compared_note: COMPARED_NOTE,
  };
}

function withExamples<
  R extends { first_intent: string; first_run: string; last_intent: string; last_run: string },
>(
  row: R,
): Omit<R, 'first_intent' | 'first_run' | 'last_intent' | 'last_run'> & {
  examples: ShadowExample[];
} {
  const { first_intent, first_run, last_intent, last_run, ...rest } = row;
  const examples = [{ intent_id: first_intent, run_id: first_run }];
  if (last_intent !== first_intent) examples.push({ intent_id: last_intent, run_id: last_run });
  return { ...rest, examples };
}

/** The readable report: one line per shadow version, then the two tables. */
export function shadowReportText(report: ShadowReport): {
  summary: string[];
  byPolicy: { columns: string[]; rows: Record<string, string>[] };
  byTool: { columns: string[]; rows: Record<string, string>[] };
} {
  const summary = [
    `shadow policy report, env ${report.env}, since ${report.since} (${report.from})`,
    ...report.shadows.flatMap(periodLines),
  ];
  const change = (row: { active_effect: string; shadow_effect: string }) =>
    `${row.active_effect} → ${row.shadow_effect}`;
  const examples = (list: readonly ShadowExample[]) =>
    list.map((e) => `${e.intent_id} (run ${e.run_id || '-'})`).join('\n');
  const ids = (list: readonly string[], effect: string) =>
    list.length > 0 ? list.join(', ') : effect === 'deny' ? '(none: deny by default)' : '(none)';
  return {
    summary,
    byPolicy: {
      columns: [
        'shadow',
        'active → shadow',
        'active policies',
        'shadow policies',
        'intents',
        'examples',
      ],
      rows: report.by_policy.map((row) => ({
        shadow: `v${row.shadow_version}`,
        'active → shadow': change(row),
        'active policies': ids(row.active_policy_ids, row.active_effect),
        'shadow policies': ids(row.shadow_policy_ids, row.shadow_effect),
        intents: String(row.intents),
        examples: examples(row.examples),
      })),
    },
    byTool: {
      columns: ['shadow', 'tool', 'active → shadow', 'intents', 'examples'],
      rows: report.by_tool.map((row) => ({
        shadow: `v${row.shadow_version}`,
        tool: row.tool,
        'active → shadow': change(row),
        intents: String(row.intents),
        examples: examples(row.examples),
      })),
    },
  };
}

function periodLines(period: ShadowPeriod): string[] {
  const active =
    period.active_version === 0 ? 'no active version' : `active v${period.active_version}`;
  const message = period.message === '' ? '' : `: "${period.message}"`;
  const ended = (() => {
    const by = `v${period.ended_by_version ?? '?'} at ${period.ended_at ?? '?'} by ${period.ended_by ?? '?'}`;
    switch (period.ended_how) {
      case 'in_force':
        return 'in force';
      case 'promoted':
        return `promoted as ${by}`;
      case 'stopped':
        return `stopped (${by})`;
      case 'replaced':
        return `replaced by shadow ${by}`;
      case 'superseded':
        return `ended by active ${by}`;
    }
  })();
  const rate =
    period.compared === 0 ? '' : ` (${((100 * period.diverged) / period.compared).toFixed(2)}%)`;
  return [
    `shadow v${period.shadow_version} beside ${active}, published ${period.started_at} by ${period.published_by}${message}; ${ended}`,
    `  compared on ${period.compared} decision${period.compared === 1 ? '' : 's'} in the window, ${period.diverged} diverged${rate}`,
  ];
}

/** Prints the report as text and tables. */
function printShadowReport(report: ShadowReport): void {
  if (report.shadows.length === 0 && report.by_policy.length === 0) {
    process.stdout.write(
      `no shadow policy version was in force in env ${report.env} since ${report.since}\n(start one with \`warden policies shadow <dir> --message "…"\`)\n`,
    );
    return;
  }
  const text = shadowReportText(report);
  process.stdout.write(`${text.summary.join('\n')}\n\n`);
  if (text.byPolicy.rows.length === 0) {
    process.stdout.write(
      'no divergence in the window: the shadow version decided as the active one\n',
    );
  } else {
    process.stdout.write('by policy\n');
    printTable(text.byPolicy.columns, text.byPolicy.rows);
    process.stdout.write('\nby tool\n');
    printTable(text.byTool.columns, text.byTool.rows);
  }
  process.stdout.write(`\nnote: ${report.compared_note}\n`);
}

interface ShadowReportOptions extends ConnectionOptions {
  since: string;
  limit: number;
  json?: boolean;
}

function parseLimit(value: string): number {
  if (!/^[1-9]\d{0,4}$/.test(value.trim()))
    throw new InvalidArgumentError('must be a whole number from 1 to 99999');
  return Number(value);
}

/** Runs the report's queries through the env's trace collector (one connection). */
async function readShadowReport(
  options: ConnectionOptions,
  since: RunsSince,
  limit: number,
): Promise<ShadowReport> {
  const nc = await connectForCli(options.nats);
  try {
    const params = { env: options.env, since: since.from, limit: String(limit) };
    const query = async (sql: string) =>
      (
        await auditSql(
          nc,
          options.env,
          { sql, params, max_rows: limit + 1 },
          { hint: shadowReportHint },
        )
      ).rows;
    return shadowReportFrom(options.env, since, {
      periods: await query(SHADOW_PERIODS_SQL),
      compared: await query(SHADOW_COMPARED_SQL),
      diverged: await query(SHADOW_DIVERGED_SQL),
      byPolicy: await query(SHADOW_BY_POLICY_SQL),
      byTool: await query(SHADOW_BY_TOOL_SQL),
    });
  } finally {
    await nc.close();
  }
}

function shadowReportHint(code: string): string | undefined {
  // The likeliest cause: a collector started before the shadow views' migration (0006) shipped.
  return code === 'query_failed'
    ? 'The shadow views may be missing: restart the trace collector (`warden up`), which applies the audit log migrations at start-up.'
    : undefined;
}
