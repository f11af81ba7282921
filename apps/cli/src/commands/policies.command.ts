import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { PolicyFile, PolicyVersionSummary, PolicyVersionView } from '@warden/contracts';
import { checkPolicyFiles, SHIPPED_SCHEMA_PATH, shippedSchemaPath } from '@warden/policy';
import { Command, InvalidArgumentError } from 'commander';
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import { CliError, printJson, printTable } from '../output.js';
import { callPolicyAdmin, type AdminOptions, withAdminOptions } from './admin-options.js';

const SHIPPED_SCHEMA = SHIPPED_SCHEMA_PATH;

/** The shipped schema's path (found from this module: sources, dist or an installed package). */
function shippedSchemaOrUndefined(): string | undefined {
  try {
    return shippedSchemaPath();
  } catch {
    return undefined;
  }
}

/** `warden policies …`: check Cedar policy sets locally, publish them, list, compare, roll back. */
export function policiesCommand(): Command {
  const policies = new Command('policies').description(
    'validate Cedar policies locally, publish them as a versioned set, list, show, diff and roll back versions',
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
    .action(async (paths: string[], options: PublishOptions) => {
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
      process.stdout.write(
        [
          `published policy version ${version.version} (${version.mode})`,
          `  hash      ${version.content_hash}`,
          `  policies  ${version.policy_ids.join(', ') || '(none)'}`,
          ...result.warnings.map((warning) => `  warning: ${warning}`),
          '',
        ].join('\n'),
      );
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
