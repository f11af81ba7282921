import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  BUILTIN_POLICY_FILES,
  builtinToolSources,
  compileArgs,
  compileVersion,
  decideIntent,
  parseToolDeclaration,
  shippedSchemaText,
  ToolDeclaration,
  type DecidableTool,
  type DecidableVersion,
  type PolicyFile,
  type Verdict,
} from '@warden/policy';
import { POLICIES_DIR, TOOLS_DIR } from '@warden/support-triage';
import { CliError } from '../output.js';
import { formatIssues, validatePolicies } from '../commands/policies.command.js';
import { callPolicyAdmin, type AdminOptions } from '../commands/admin-options.js';
import type { CaseOutcome } from './eval-report.js';
import type { ResolvedCase } from './suite.js';

/*
 * Intent cases are decided in-process by `decideIntent`, the function the policy stage decides
 * every live intent with: the same args validation, risk derivation and Cedar evaluation, so a
 * case answers here exactly as the stage would under the same policies and tool versions.
 */

/** The policies and tools intent cases are decided with. */
export interface DecisionSources {
  /** Where they came from, in words (the report says it). */
  readonly describe: string;
  readonly version: DecidableVersion;
  readonly tools: ReadonlyMap<string, DecidableTool>;
}

let compiled = 0;

/**
 * Local files: the policy files (directories give their `*.cedar`) and tool declarations
 * (directories give their `*.yaml`, `*.yml`, `*.json`), plus the built-in tools every stack has.
 * A policy set that does not validate is kept as a version that failed to load: every case is
 * then decided as the stage would decide under it (deny, `policy_error`), and `problems` says why.
 */
export async function localSources(options: {
  policies: readonly string[] | undefined;
  schema?: string;
  tools: readonly string[] | undefined;
}): Promise<DecisionSources & { problems: readonly string[] }> {
  const tools = await loadTools(options.tools);
  if (options.policies === undefined) {
    // The reference deployment's set, as `warden up` publishes it: the reference policies and the
    // built-in one.
    const files = [...(await cedarFiles(POLICIES_DIR)), ...BUILTIN_POLICY_FILES];
    const version = compileLocal(shippedSchemaText(), files);
    return {
      describe: 'the reference policies (examples/support-triage/policies and the built-in one)',
      version,
      tools,
      problems: version.error === undefined ? [] : [version.error],
    };
  }
  const checked = await validatePolicies(options.policies, options.schema);
  const describe = `the policy files ${options.policies.join(' ')}`;
  if (checked.check.errors.length > 0) {
    const problems = formatIssues(checked.check.errors);
    return {
      describe,
      version: { version: 1, error: `the policy files do not validate: ${problems.join('; ')}` },
      tools,
      problems,
    };
  }
  const version = compileLocal(checked.schema.text, checked.files);
  return { describe, version, tools, problems: version.error === undefined ? [] : [version.error] };
}

/**
 * A running stack's policy version (`version`, default the active one) and registered tools
 * (latest versions); `describe` says which in words (default: the active version of the env).
 */
export async function stackSources(
  admin: AdminOptions,
  options: { version?: number; describe?: (version: number) => string } = {},
): Promise<DecisionSources> {
  const [{ version }, { tools }] = await Promise.all([
    callPolicyAdmin(
      admin,
      'policy-show',
      options.version === undefined ? {} : { version: options.version },
    ),
    callPolicyAdmin(admin, 'tool-list', {}),
  ]);
  const byName = new Map<string, DecidableTool>();
  for (const view of tools) {
    const declaration = ToolDeclaration.parse(view.declaration);
    byName.set(view.name, { declaration, validate: compileArgs(declaration.args) });
  }
  return {
    describe:
      options.describe?.(version.version) ??
      `policy version ${version.version} active in env ${admin.env} and its registered tools`,
    version: compileLocal(version.schema, version.files, version.version),
    tools: byName,
  };
}

/** A policy set as a version of its own (`eval-<n>`: each set compiled gets a new cache id). */
function compileLocal(schema: string, files: readonly PolicyFile[], version = 1): DecidableVersion {
  compiled += 1;
  return compileVersion(`eval-${compiled}`, version, schema, files);
}

async function cedarFiles(dir: string): Promise<PolicyFile[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.cedar')).sort();
  return Promise.all(
    names.map(async (name) => ({ name, text: await readFile(join(dir, name), 'utf8') })),
  );
}

/** Tool declarations from files and directories (default: the reference tools), and the built-ins. */
async function loadTools(
  paths: readonly string[] | undefined,
): Promise<ReadonlyMap<string, DecidableTool>> {
  const files: string[] = [];
  for (const path of paths ?? [TOOLS_DIR]) {
    const info = await stat(path).catch(() => undefined);
    if (info === undefined) {
      throw new CliError(`the tools path ${path} does not exist`, undefined, 2);
    }
    if (!info.isDirectory()) files.push(path);
    else {
      const names = (await readdir(path)).filter((name) => /\.(ya?ml|json)$/.test(name)).sort();
      files.push(...names.map((name) => join(path, name)));
    }
  }
  const sources = [
    ...builtinToolSources().map(({ file, source }) => ({ file: `built-in ${file}`, source })),
    ...(await Promise.all(
      files.map(async (file) => ({ file, source: await readFile(file, 'utf8') })),
    )),
  ];
  const tools = new Map<string, DecidableTool>();
  for (const { file, source } of sources) {
    const parsed = parseToolDeclaration(source, {
      format: file.endsWith('.json') ? 'json' : 'yaml',
    });
    if (!parsed.ok) {
      const first = parsed.errors[0];
      throw new CliError(
        `${basename(file)} is not a valid tool declaration: ${first === undefined ? '' : `${first.path} ${first.message}`}`,
        `Check it with \`warden tools register ${file}\` against a running stack, or fix the field named.`,
        2,
      );
    }
    tools.set(parsed.tool.name, {
      declaration: parsed.tool,
      validate: compileArgs(parsed.tool.args),
    });
  }
  return tools;
}

/** What the stage answered, in the suite's words. */
interface Answer {
  readonly effect: string;
  readonly reason?: string;
  readonly policyIds: readonly string[];
  readonly approvalGroup?: string;
  readonly message?: string;
}

function answerOf(verdict: Verdict): Answer {
  if (verdict.kind === 'rejected') {
    const details = verdict.details.slice(0, 3).map((v) => `${v.path} ${v.message}`);
    return {
      effect: 'rejected',
      reason: 'invalid_args',
      policyIds: [],
      message: `${verdict.message}${details.length === 0 ? '' : `: ${details.join('; ')}`}`,
    };
  }
  return {
    effect: verdict.effect,
    policyIds: [...verdict.policyIds].sort(),
    ...(verdict.effect === 'deny' && verdict.reason !== undefined
      ? { reason: verdict.reason }
      : {}),
    ...(verdict.approval === undefined ? {} : { approvalGroup: verdict.approval.group }),
    ...(verdict.message === undefined ? {} : { message: verdict.message }),
  };
}

/** `deny forbidden (no-payroll)`, `approval_required by support-leads (bulk-…)`. */
function describeAnswer(answer: {
  effect: string;
  reason?: string | undefined;
  policyIds?: readonly string[] | undefined;
  approvalGroup?: string | undefined;
}): string {
  const parts = [answer.effect];
  if (answer.reason !== undefined) parts.push(answer.reason);
  if (answer.approvalGroup !== undefined) parts.push(`by ${answer.approvalGroup}`);
  if (answer.policyIds !== undefined)
    parts.push(answer.policyIds.length === 0 ? '(no policy)' : `(${answer.policyIds.join(', ')})`);
  return parts.join(' ');
}

/** Decides one intent case with `sources` and compares the answer with its expectation. */
export function evaluateIntentCase(
  entry: Extract<ResolvedCase, { kind: 'intent' }>,
  sources: DecisionSources,
  env: string,
): CaseOutcome {
  const started = performance.now();
  const { intent, expect } = entry;
  const verdict = decideIntent(
    { tool: intent.tool, args: intent.args, step: intent.step, principal: entry.principal },
    sources.tools.get(intent.tool),
    sources.version,
    intent.env ?? env,
    intent.at === undefined ? new Date() : new Date(intent.at),
  );
  const actual = answerOf(verdict);
  const expectedIds =
    expect.policy_ids === undefined ? undefined : [...new Set(expect.policy_ids)].sort();
  const mismatches: string[] = [];
  if (actual.effect !== expect.effect) {
    mismatches.push(`effect: expected ${expect.effect}, got ${actual.effect}`);
  }
  if (expect.reason !== undefined && actual.reason !== expect.reason) {
    mismatches.push(`reason: expected ${expect.reason}, got ${actual.reason ?? '(none)'}`);
  }
  if (expectedIds !== undefined && expectedIds.join('\n') !== actual.policyIds.join('\n')) {
    mismatches.push(
      `policy_ids: expected [${expectedIds.join(', ')}], got [${actual.policyIds.join(', ')}]`,
    );
  }
  if (expect.approval_group !== undefined && actual.approvalGroup !== expect.approval_group) {
    mismatches.push(
      `approval_group: expected ${expect.approval_group}, got ${actual.approvalGroup ?? '(none)'}`,
    );
  }
  return {
    name: entry.name,
    kind: 'intent',
    status: mismatches.length === 0 ? 'passed' : 'failed',
    expected: describeAnswer({
      effect: expect.effect,
      reason: expect.reason,
      policyIds: expectedIds,
      approvalGroup: expect.approval_group,
    }),
    // A rejection or an unknown tool never reaches Cedar: no policy list to show.
    actual: describeAnswer(
      actual.effect === 'rejected' || actual.reason === 'unknown_tool'
        ? { ...actual, policyIds: undefined }
        : actual,
    ),
    policyIds: [...new Set([...(expectedIds ?? []), ...actual.policyIds])].sort(),
    mismatches,
    detail: `${intent.tool} by ${entry.principal.agent_id}${actual.message === undefined ? '' : `: ${actual.message}`}`,
    durationMs: performance.now() - started,
  };
}
