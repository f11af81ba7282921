import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Principal } from '@warden/contracts';
import { SCENARIO_NAMES } from '@warden/support-triage';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { CliError } from '../output.js';

/*
 * The eval suite file (`warden eval <suite.yaml…>`, test/golden/README.md): a name, where its
 * policies and tools come from, named agents, and cases. A case is one intent with the policy
 * stage's expected answer, or a scripted run of the reference agent with the expected helpdesk.
 */

const CaseName = z.string().trim().min(1).max(200);

/** A case's agent: the name of one of the suite's `agents`, or the principal written out. */
const AgentRef = z.union([z.string().min(1), Principal]);

/** The policy stage's answer to one intent. */
export const EFFECTS = ['allow', 'deny', 'approval_required', 'rejected'] as const;
export type Effect = (typeof EFFECTS)[number];

const IntentCase = z.strictObject({
  name: CaseName,
  intent: z.strictObject({
    agent: AgentRef,
    tool: z.string().min(1),
    args: z.record(z.string(), z.unknown()).default({}),
    step: z.number().int().positive().default(1),
    /** The env the decision is made in (`context.env`); default: --env. */
    env: z.string().min(1).optional(),
    /** When it is decided (`context.now`), RFC 3339; default: now. */
    at: z.iso.datetime({ offset: true }).optional(),
  }),
  expect: z.strictObject({
    effect: z.enum(EFFECTS),
    /** A deny's or rejection's reason code: forbidden, not_permitted, unknown_tool, invalid_args… */
    reason: z.string().min(1).optional(),
    /** The determining policies, exactly (in any order); `[]` for none. */
    policy_ids: z.array(z.string().min(1)).optional(),
    /** For approval_required: the group asked. */
    approval_group: z.string().min(1).optional(),
  }),
});
export type IntentCase = z.infer<typeof IntentCase>;

/** Fields of one ticket after the run; only those named are compared. */
const TicketFields = z.strictObject({
  status: z.string().optional(),
  priority: z.string().optional(),
  tags: z.array(z.string()).optional(),
  assignee_email: z.string().nullable().optional(),
  /** How many notes it has. */
  notes: z.number().int().nonnegative().optional(),
});
export type TicketFields = z.infer<typeof TicketFields>;

const TicketId = z.number().int().positive();

const RunCase = z.strictObject({
  name: CaseName,
  run: z.strictObject({
    scenario: z.enum(SCENARIO_NAMES as [string, ...string[]]),
  }),
  expect: z.strictObject({
    /** The scenario's own verdict (its `expected` sentence held). Default: true. */
    as_expected: z.boolean().default(true),
    helpdesk: z
      .strictObject({
        /** Tickets and the fields they hold after the run. */
        tickets: z.record(z.string().regex(/^[1-9]\d*$/, 'a ticket id'), TicketFields).optional(),
        /** Tickets the run must leave exactly as it found them. */
        untouched: z.array(TicketId).optional(),
      })
      .optional(),
    /** How many calls ended waiting for an approval. */
    approvals: z.number().int().nonnegative().optional(),
    /** Policies that must appear among the run's denials and approvals. */
    policy_ids: z.array(z.string().min(1)).optional(),
    /** The most the run may cost (the audit log's settled cost), in USD. */
    cost_max_usd: z.number().nonnegative().optional(),
  }),
});
export type RunCase = z.infer<typeof RunCase>;

const SuiteFile = z.strictObject({
  name: z.string().trim().min(1).max(200),
  description: z.string().optional(),
  /** Policy files or directories, relative to the suite file. */
  policies: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  /** The Cedar schema for `policies` (default: the shipped one). */
  schema: z.string().min(1).optional(),
  /** Tool declaration files or directories, relative to the suite file. */
  tools: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  agents: z.record(z.string(), Principal).default({}),
  /** Each checked by its kind below, so an error names the field, not "no union member matched". */
  cases: z.array(z.unknown()).min(1),
});

/** A suite read and checked: paths resolved against its file, agents resolved in its cases. */
export interface Suite {
  readonly file: string;
  readonly name: string;
  readonly policies?: readonly string[];
  readonly schema?: string;
  readonly tools?: readonly string[];
  readonly cases: readonly ResolvedCase[];
}

/** A case with its agent as a principal. */
export type ResolvedCase =
  ({ kind: 'intent'; principal: Principal } & IntentCase) | ({ kind: 'run' } & RunCase);

/** A suite file that cannot be read as a suite: every problem, each with file, case and field. */
export class SuiteError extends Error {
  override readonly name = 'SuiteError';
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`${file} is not a valid eval suite:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/** Reads one suite file; throws {@link SuiteError} naming each problem's case and field. */
export async function loadSuite(file: string): Promise<Suite> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new SuiteError(file, [error instanceof Error ? error.message : String(error)]);
  }
  return parseSuite(text, file);
}

/** Parses a suite's text (`file` names it in errors and anchors its relative paths). */
export function parseSuite(text: string, file: string): Suite {
  const doc = parseDocument(text, { lineCounter: new LineCounter(), uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new SuiteError(
      file,
      doc.errors.map((error) => {
        const at = error.linePos?.[0];
        // The message's first line, without the position it repeats.
        const message = (error.message.split('\n')[0] ?? '').replace(
          / at line \d+, column \d+:?$/,
          '',
        );
        return `${at === undefined ? '' : `line ${at.line}:${at.col}: `}${message}`;
      }),
    );
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  const parsed = SuiteFile.safeParse(raw);
  if (!parsed.success) {
    throw new SuiteError(
      file,
      parsed.error.issues.map((issue) => `${where(issue.path)}: ${issue.message}`),
    );
  }
  const suite = parsed.data;
  const problems: string[] = [];
  const seen = new Set<string>();
  const cases: ResolvedCase[] = [];
  suite.cases.forEach((entry, index) => {
    const name = isRecord(entry) && typeof entry['name'] === 'string' ? entry['name'] : undefined;
    const label = `cases[${index}]${name === undefined ? '' : ` "${name}"`}`;
    if (!isRecord(entry) || !('intent' in entry || 'run' in entry)) {
      problems.push(
        `${label}: a case has either \`intent:\` (one decision) or \`run:\` (a scripted run)`,
      );
      return;
    }
    const checked = 'intent' in entry ? IntentCase.safeParse(entry) : RunCase.safeParse(entry);
    if (!checked.success) {
      for (const issue of checked.error.issues) {
        const field = issue.path.map(String).join('.');
        problems.push(`${label}${field === '' ? '' : ` › ${field}`}: ${issue.message}`);
      }
      return;
    }
    const found = checked.data;
    if (seen.has(found.name)) problems.push(`${label} › name: another case has this name`);
    seen.add(found.name);
    if (!('intent' in found)) {
      cases.push({ kind: 'run', ...found });
      return;
    }
    const { agent } = found.intent;
    const principal = typeof agent === 'string' ? suite.agents[agent] : agent;
    if (principal === undefined) {
      const known = Object.keys(suite.agents);
      problems.push(
        `${label} › intent.agent: no agent named ${JSON.stringify(agent)} in agents (${known.length === 0 ? 'none declared' : known.join(', ')})`,
      );
      return;
    }
    if (found.expect.approval_group !== undefined && found.expect.effect !== 'approval_required') {
      problems.push(`${label} › expect.approval_group: only an approval_required case has one`);
    }
    cases.push({ kind: 'intent', principal, ...found });
  });
  if (problems.length > 0) throw new SuiteError(file, problems);
  const base = dirname(resolve(file));
  const paths = (value: string | string[] | undefined) =>
    value === undefined
      ? undefined
      : (Array.isArray(value) ? value : [value]).map((p) => resolve(base, p));
  const policies = paths(suite.policies);
  const tools = paths(suite.tools);
  return {
    file,
    name: suite.name,
    ...(policies === undefined ? {} : { policies }),
    ...(suite.schema === undefined ? {} : { schema: resolve(base, suite.schema) }),
    ...(tools === undefined ? {} : { tools }),
    cases,
  };
}

/** An issue's path outside the cases: `agents.triage.domains`. */
function where(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(the suite)' : path.map(String).join('.');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads every suite, refusing them all (exit code 2, as `warden eval`) if one is malformed. */
export async function loadSuites(files: readonly string[]): Promise<Suite[]> {
  const suites: Suite[] = [];
  const problems: string[] = [];
  for (const file of files) {
    try {
      suites.push(await loadSuite(file));
    } catch (error) {
      if (!(error instanceof SuiteError)) throw error;
      problems.push(error.message);
    }
  }
  if (problems.length > 0) {
    throw new CliError(
      problems.join('\n'),
      'Fix the fields named; `warden eval --help` shows the format.',
      2,
    );
  }
  return suites;
}
