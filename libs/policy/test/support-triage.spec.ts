import { readdirSync, readFileSync } from 'node:fs';
import { type Principal } from '@warden/contracts';
import { describe, expect, it } from 'vitest';
import {
  checkPolicyFiles,
  compileArgs,
  deriveRisk,
  parseToolDeclaration,
  type EngineDecision,
  type PolicyEngine,
  type ToolDeclaration,
} from '../src/index.js';
import { engineOf, SCHEMA } from './decision-helpers.js';

const EXAMPLE = new URL('../../../examples/support-triage/', import.meta.url);

function readDir(dir: string, ext: string): { name: string; text: string }[] {
  const url = new URL(`${dir}/`, EXAMPLE);
  return readdirSync(url)
    .filter((name) => name.endsWith(ext))
    .sort()
    .map((name) => ({ name, text: readFileSync(new URL(name, url), 'utf8') }));
}

const TOOLS = new Map<string, ToolDeclaration>(
  readDir('tools', '.yaml').map(({ name, text }) => {
    const parsed = parseToolDeclaration(text);
    if (!parsed.ok) throw new Error(`${name}: ${JSON.stringify(parsed.errors)}`);
    return [parsed.tool.name, parsed.tool];
  }),
);

const TRIAGE: Principal = {
  agent_id: 'triage-bot',
  owner: 'alice',
  domains: ['support'],
  tool_groups: ['zendesk'],
};
const PAYMENTS: Principal = { ...TRIAGE, agent_id: 'payments-bot', tool_groups: ['payments'] };
/** An agent that also works in finance and engineering: reads there are permitted, these are not. */
const WIDE: Principal = {
  ...TRIAGE,
  agent_id: 'wide-bot',
  domains: ['support', 'finance', 'engineering'],
};

function call(
  engine: PolicyEngine,
  principal: Principal,
  name: string,
  args: object,
): EngineDecision {
  const tool = TOOLS.get(name);
  if (tool === undefined) throw new Error(`unknown tool ${name}`);
  // The stage validates args before Cedar: a scenario with invalid args would test nothing.
  const validated = compileArgs(tool.args)(args);
  if (!validated.ok) throw new Error(`${name}: ${JSON.stringify(validated.violations)}`);
  return engine.decide({
    principal,
    tool,
    args: validated.value,
    risk: deriveRisk(tool, validated.value),
    step: 1,
    env: 'prod',
    now: new Date('2026-11-27T09:00:00Z'),
  });
}

const tickets = (n: number): number[] => Array.from({ length: n }, (_, i) => 1000 + i);

describe('examples/support-triage', () => {
  const checked = checkPolicyFiles(SCHEMA, readDir('policies', '.cedar'));

  it('declares its tools and validates its policies against the shipped schema', () => {
    expect([...TOOLS.keys()].sort()).toEqual([
      'deploy.release',
      'payroll.run',
      'zendesk.bulk_close',
      'zendesk.get_ticket',
      'zendesk.search_tickets',
      'zendesk.update_ticket',
    ]);
    expect(checked).toMatchObject({ ok: true, errors: [], warnings: [] });
  });

  const engine = engineOf(checked.policies);

  it.each([
    [
      'reads a ticket in its domain',
      TRIAGE,
      'zendesk.get_ticket',
      { ticket_id: 7 },
      'allow',
      ['reads-in-domain'],
    ],
    [
      'searches tickets in its domain',
      TRIAGE,
      'zendesk.search_tickets',
      { query: 'refund' },
      'allow',
      ['reads-in-domain'],
    ],
    [
      'reads outside its domains: denied',
      { ...TRIAGE, domains: ['sales'] },
      'zendesk.get_ticket',
      { ticket_id: 7 },
      'deny',
      [],
    ],
    [
      'updates one ticket',
      TRIAGE,
      'zendesk.update_ticket',
      { ticket_id: 7, status: 'solved' },
      'allow',
      ['single-ticket-updates'],
    ],
    [
      'closes ten tickets',
      TRIAGE,
      'zendesk.bulk_close',
      { ticket_ids: tickets(10), reason: 'spam' },
      'allow',
      ['small-bulk-close'],
    ],
    [
      'bulk-closes eleven tickets: approval',
      TRIAGE,
      'zendesk.bulk_close',
      { ticket_ids: tickets(11), reason: 'spam' },
      'approval_required',
      ['bulk-close-needs-support-leads'],
    ],
    [
      'runs payroll: forbidden',
      WIDE,
      'payroll.run',
      { period: '2026-11-01' },
      'deny',
      ['no-payroll'],
    ],
    [
      'releases a deploy: forbidden',
      WIDE,
      'deploy.release',
      { service: 'api', version: 'v1.2.3', environment: 'staging' },
      'deny',
      ['no-deploy'],
    ],
    [
      'sets priority urgent outside payments: forbidden',
      TRIAGE,
      'zendesk.update_ticket',
      { ticket_id: 7, priority: 'urgent' },
      'deny',
      ['urgent-only-for-payments'],
    ],
    [
      'sets priority urgent in payments',
      PAYMENTS,
      'zendesk.update_ticket',
      { ticket_id: 7, priority: 'urgent' },
      'allow',
      ['single-ticket-updates'],
    ],
    [
      'sets priority high outside payments',
      TRIAGE,
      'zendesk.update_ticket',
      { ticket_id: 7, priority: 'high' },
      'allow',
      ['single-ticket-updates'],
    ],
  ] as [string, Principal, string, object, EngineDecision['effect'], string[]][])(
    '%s → %s',
    (_name, principal, tool, args, effect, determining) => {
      const decision = call(engine, principal, tool, args);
      expect(decision).toMatchObject({ effect, determining, errors: [] });
    },
  );

  it('asks support-leads, with separation of duties, for a bulk close', () => {
    const decision = call(engine, TRIAGE, 'zendesk.bulk_close', {
      ticket_ids: tickets(50),
      reason: 'duplicate',
    });
    expect(decision.approval).toEqual({ group: 'support-leads', separation_of_duties: true });
  });

  it('lets no agent outside the support domain update or close tickets', () => {
    const outsider = { ...TRIAGE, domains: ['sales'] };
    expect(call(engine, outsider, 'zendesk.update_ticket', { ticket_id: 7 }).effect).toBe('deny');
    expect(
      call(engine, outsider, 'zendesk.bulk_close', { ticket_ids: tickets(11), reason: 'spam' })
        .effect,
    ).toBe('deny');
  });
});
