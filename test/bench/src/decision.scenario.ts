import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Principal } from '@warden/contracts';
import {
  checkPolicyFiles,
  compileArgs,
  compilePolicyEngine,
  deriveRisk,
  parseToolDeclaration,
  type DecisionInput,
  type PolicyEngine,
  type PolicyTexts,
  type ToolDeclaration,
} from '@warden/policy';
import { now, percentiles, type Percentiles } from './stats.js';

/** One policy set's figures: compile time, then in-process decision latency in µs. */
export interface DecisionSetFigures {
  policies: number;
  compileMs: number;
  /** The first pass over every request shape, which pre-parses each slice once. */
  firstPassMs: number;
  decideUs: Percentiles;
}

/** Decision latency in-process (issue 5 bench figure), with and without scope slicing. */
export interface DecisionResult {
  calls: number;
  reference: DecisionSetFigures;
  generated: DecisionSetFigures;
  generatedUnsliced: DecisionSetFigures;
}

// The bench runs from dist/test/bench/: the repository root is three levels up.
const ROOT = new URL('../../../', import.meta.url);
const EXAMPLE = new URL('examples/support-triage/', ROOT);

function readDir(dir: URL, ext: string): { name: string; text: string }[] {
  return readdirSync(fileURLToPath(dir))
    .filter((name) => name.endsWith(ext))
    .sort()
    .map((name) => ({ name, text: readFileSync(new URL(name, dir), 'utf8') }));
}

const AGENTS: Principal[] = [
  { agent_id: 'triage-bot', owner: 'alice', domains: ['support'], tool_groups: ['zendesk'] },
  { agent_id: 'payments-bot', owner: 'bob', domains: ['support'], tool_groups: ['payments'] },
  { agent_id: 'wide-bot', domains: ['support', 'finance', 'engineering'] },
];

/** The support-triage calls of the reference scenarios, as validated decision inputs. */
function referenceInputs(tools: ReadonlyMap<string, ToolDeclaration>): DecisionInput[] {
  const calls: [string, object][] = [
    ['zendesk.get_ticket', { ticket_id: 7 }],
    ['zendesk.search_tickets', { query: 'refund', limit: 20 }],
    ['zendesk.update_ticket', { ticket_id: 7, status: 'solved', tags: ['billing'] }],
    ['zendesk.update_ticket', { ticket_id: 7, priority: 'urgent' }],
    ['zendesk.bulk_close', { ticket_ids: [1, 2, 3], reason: 'spam' }],
    [
      'zendesk.bulk_close',
      { ticket_ids: Array.from({ length: 40 }, (_, i) => i + 1), reason: 'spam' },
    ],
    ['payroll.run', { period: '2026-11-01' }],
    ['deploy.release', { service: 'api', version: 'v1.2.3', environment: 'production' }],
  ];
  return AGENTS.flatMap((principal) =>
    calls.map(([name, args]) => {
      const tool = tools.get(name);
      if (tool === undefined) throw new Error(`no tool ${name}`);
      const validated = compileArgs(tool.args)(args);
      if (!validated.ok) throw new Error(`${name}: ${JSON.stringify(validated.violations)}`);
      return inputOf(principal, tool, validated.value);
    }),
  );
}

function inputOf(
  principal: Principal,
  tool: DecisionInput['tool'] & Pick<ToolDeclaration, 'pii' | 'risk'>,
  args: unknown,
): DecisionInput {
  return {
    principal,
    tool,
    args,
    risk: deriveRisk(tool, args),
    step: 3,
    env: 'prod',
    now: new Date(),
  };
}

/**
 * 500 policies over 100 generated tools in 20 groups and 5 domains, the shape of an organisation
 * with many teams: per tool a permit and an @approval permit, per group a forbid, per domain a few
 * agent-scoped permits, and some unscoped policies that apply to everything.
 */
function generatedPolicies(): { policies: PolicyTexts; tools: DecisionInput['tool'][] } {
  const policies: Record<string, string> = {};
  const tools: DecisionInput['tool'][] = [];
  for (let t = 0; t < 100; t += 1) {
    const name = `gen_${t}.call`;
    const group = `grp_${t % 20}`;
    const domain = `dom_${t % 5}`;
    tools.push({ name, kind: t % 3 === 0 ? 'write' : 'read', domain, groups: [group] });
    policies[`gen-permit-${t}`] =
      `permit (principal in Warden::Domain::"${domain}", action == Warden::Action::"invoke", resource == Warden::Tool::"${name}")
when { context.args has ticket_id && context.args.ticket_id > ${t} && context.run.step < 50 };`;
    policies[`gen-approval-${t}`] = `@approval("leads-${t % 7}")
permit (principal, action == Warden::Action::"invoke", resource == Warden::Tool::"${name}")
when { context.risk.bulk || context.risk.money };`;
    policies[`gen-quota-${t}`] = `forbid (principal, action, resource == Warden::Tool::"${name}")
when { context.run.step > ${40 + (t % 10)} };`;
  }
  for (let g = 0; g < 20; g += 1) {
    for (let k = 0; k < 5; k += 1) {
      policies[`gen-group-${g}-${k}`] =
        `forbid (principal, action, resource in Warden::ToolGroup::"grp_${g}")
when { context.args has status && context.args.status == "s${k}" } unless { principal.tool_groups.contains("grp_${g}") };`;
    }
  }
  for (let d = 0; d < 5; d += 1) {
    for (let k = 0; k < 10; k += 1) {
      policies[`gen-domain-${d}-${k}`] =
        `permit (principal == Warden::Agent::"agent_${k}", action, resource in Warden::Domain::"dom_${d}")
when { context.env == "prod" && resource.kind == "read" };`;
    }
  }
  for (let k = 0; k < 50; k += 1) {
    policies[`gen-wide-${k}`] = `forbid (principal, action, resource)
when { context.risk.raised.contains("flag_${k}") };`;
  }
  return { policies, tools };
}

function compileTimed(
  id: string,
  schema: string,
  policies: PolicyTexts,
  slicing: boolean,
): { engine: PolicyEngine; compileMs: number } {
  const started = now();
  const compiled = compilePolicyEngine(id, schema, policies, { slicing });
  const compileMs = now() - started;
  if (!compiled.ok) throw new Error(`${id}: ${JSON.stringify(compiled.errors.slice(0, 3))}`);
  return { engine: compiled.engine, compileMs };
}

function measureSet(
  engine: PolicyEngine,
  compileMs: number,
  inputs: readonly DecisionInput[],
  calls: number,
): DecisionSetFigures {
  let started = now();
  for (const input of inputs) engine.decide(input);
  const firstPassMs = now() - started;
  for (let i = 0; i < Math.min(2_000, calls); i += 1) engine.decide(inputs[i % inputs.length]!);
  const samples: number[] = [];
  for (let i = 0; i < calls; i += 1) {
    const input = inputs[i % inputs.length]!;
    started = now();
    engine.decide(input);
    samples.push((now() - started) * 1000);
  }
  engine.dispose();
  return {
    policies: engine.policyIds.length,
    compileMs,
    firstPassMs,
    decideUs: percentiles(samples),
  };
}

/**
 * Decision p50/p99 in-process (issue 5): the support-triage reference set, and the same with 500
 * generated policies, sliced (the stage's default) and unsliced (every request against the whole
 * set). Includes request building, `validateRequest` and the approval mapping, not args validation.
 */
export function measureDecision(calls: number): DecisionResult {
  const schema = readFileSync(new URL('deploy/policies/warden.cedarschema', ROOT), 'utf8');
  const tools = new Map(
    readDir(new URL('tools/', EXAMPLE), '.yaml').map(({ name, text }) => {
      const parsed = parseToolDeclaration(text);
      if (!parsed.ok) throw new Error(`${name}: ${JSON.stringify(parsed.errors)}`);
      return [parsed.tool.name, parsed.tool] as const;
    }),
  );
  const checked = checkPolicyFiles(schema, readDir(new URL('policies/', EXAMPLE), '.cedar'));
  if (!checked.ok) throw new Error(JSON.stringify(checked.errors));
  const reference = referenceInputs(tools);

  const ref = compileTimed('bench-reference', schema, checked.policies, true);
  const referenceFigures = measureSet(ref.engine, ref.compileMs, reference, calls);

  const generated = generatedPolicies();
  const all = { ...checked.policies, ...generated.policies };
  const genInputs = [
    ...reference,
    ...generated.tools.flatMap((tool, t) => [
      inputOf(
        { agent_id: `agent_${t % 10}`, domains: [tool.domain], tool_groups: ['zendesk'] },
        { ...tool, pii: [], risk: [] },
        { ticket_id: 100 + t, status: `s${t % 5}` },
      ),
    ]),
  ];
  const sliced = compileTimed('bench-generated', schema, all, true);
  const generatedFigures = measureSet(sliced.engine, sliced.compileMs, genInputs, calls);
  const whole = compileTimed('bench-generated-whole', schema, all, false);
  const wholeFigures = measureSet(whole.engine, whole.compileMs, genInputs, calls);
  return {
    calls,
    reference: referenceFigures,
    generated: generatedFigures,
    generatedUnsliced: wholeFigures,
  };
}

/** Table rows for main.ts. */
export function decisionRows(result: DecisionResult): string[][] {
  const rows: [string, DecisionSetFigures][] = [
    [`reference set`, result.reference],
    [`+500 generated, sliced`, result.generated],
    [`+500 generated, unsliced`, result.generatedUnsliced],
  ];
  return rows.flatMap(([label, figures]) => [
    [
      'decision',
      `${label} (${figures.policies} policies): p50 / p99`,
      `${figures.decideUs.p50.toFixed(0)} µs / ${figures.decideUs.p99.toFixed(0)} µs`,
    ],
    [
      'decision',
      `${label}: compile / first pass (slices parsed)`,
      `${figures.compileMs.toFixed(0)} ms / ${figures.firstPassMs.toFixed(0)} ms`,
    ],
  ]);
}
