import { describe, expect, it } from 'vitest';
import { checkPolicyFiles, compilePolicyEngine, loadPolicyFiles } from '../src/index.js';
import { engineOf, inputOf, NO_RISK, SCHEMA, TRIAGE_BOT } from './decision-helpers.js';

const READS = `permit (principal, action == Warden::Action::"invoke", resource)
when { resource.kind == "read" && principal.domains.contains(resource.domain) };`;

const UPDATE = {
  name: 'zendesk.update_ticket',
  kind: 'write',
  domain: 'support',
  groups: ['support', 'zendesk'],
} as const;

describe('compilePolicyEngine and decide', () => {
  it('denies every request when no policy is published', () => {
    const engine = engineOf({});
    for (const tool of [inputOf().tool, UPDATE]) {
      expect(engine.decide(inputOf({ tool }))).toMatchObject({
        effect: 'deny',
        determining: [],
        errors: [],
      });
    }
  });

  it('allows on a matching permit, naming it, and reports the time spent', () => {
    const decision = engineOf({ reads: READS }).decide(inputOf());
    expect(decision).toMatchObject({ effect: 'allow', determining: ['reads'], errors: [] });
    expect(decision.evalUs).toBeGreaterThan(0);
  });

  it('denies when a forbid matches beside a permit', () => {
    const engine = engineOf({
      reads: READS,
      'no-zendesk': 'forbid (principal, action, resource in Warden::ToolGroup::"zendesk");',
    });
    expect(engine.decide(inputOf())).toMatchObject({
      effect: 'deny',
      determining: ['no-zendesk'],
      errors: [],
    });
  });

  it('refuses a forbid that reads an optional attribute without `has` (the lint)', () => {
    const result = compilePolicyEngine('lint', SCHEMA, {
      reads: READS,
      unguarded: `forbid (principal, action, resource) when { context.args.priority == "urgent" };`,
    });
    expect(result).toMatchObject({ ok: false, errors: [{ policyId: 'unguarded' }] });
    if (!result.ok) expect(result.errors[0]?.message).toMatch(/has/);
    const owner = compilePolicyEngine('lint-owner', SCHEMA, {
      unguarded: `forbid (principal, action, resource) when { principal.owner == "bob" };`,
    });
    expect(owner.ok).toBe(false);
  });

  it('refuses a set with a type error, an unknown attribute or a syntax error, located', () => {
    const files = [
      { name: 'good.cedar', text: READS },
      {
        name: 'bad.cedar',
        text: [
          'permit (principal, action, resource)',
          'when { context.run.step == "one" };',
          'permit (principal, action, resource) when { resource.colour == "red" };',
          'permit (principal, action, resource) when { context.env == };',
        ].join('\n'),
      },
    ];
    const checked = checkPolicyFiles(SCHEMA, files);
    expect(checked.ok).toBe(false);
    expect(checked.errors.map(({ file, line, policyId }) => ({ file, line, policyId }))).toEqual(
      expect.arrayContaining([
        { file: 'bad.cedar', line: 2, policyId: 'bad.1' },
        { file: 'bad.cedar', line: 3, policyId: 'bad.2' },
        { file: 'bad.cedar', line: 4, policyId: 'bad.3' },
      ]),
    );
    expect(checked.errors).toHaveLength(3);
    const compiled = compilePolicyEngine('refused', SCHEMA, checked.policies);
    expect(compiled.ok).toBe(false);
  });

  it('names determining policies by their file-derived ids', () => {
    const loaded = loadPolicyFiles([
      {
        name: 'support.cedar',
        text: `${READS}\n@id("no-bulk") forbid (principal, action, resource) when { context.risk.bulk };`,
      },
    ]);
    const engine = engineOf(loaded.policies);
    expect(engine.policyIds).toEqual(['support.1', 'no-bulk']);
    expect(engine.decide(inputOf()).determining).toEqual(['support.1']);
    expect(engine.decide(inputOf({ risk: { ...NO_RISK, bulk: true } })).determining).toEqual([
      'no-bulk',
    ]);
  });
});

describe('approvals', () => {
  const BULK_CLOSE = {
    name: 'zendesk.bulk_close',
    kind: 'write',
    domain: 'support',
    groups: ['zendesk'],
  } as const;
  const needsLeads = `@approval("support-leads") @separation_of_duties
permit (principal, action, resource == Warden::Tool::"zendesk.bulk_close")
when { context.risk.bulk };`;

  it('requires approval when every determining permit carries @approval', () => {
    const engine = engineOf({ 'bulk-needs-leads': needsLeads });
    expect(
      engine.decide(inputOf({ tool: BULK_CLOSE, risk: { ...NO_RISK, write: true, bulk: true } })),
    ).toMatchObject({
      effect: 'approval_required',
      determining: ['bulk-needs-leads'],
      approval: { group: 'support-leads', separation_of_duties: true },
    });
  });

  it('allows without approval when another satisfied permit has no @approval', () => {
    const engine = engineOf({
      'bulk-needs-leads': needsLeads,
      'trusted-agent': 'permit (principal == Warden::Agent::"triage-bot", action, resource);',
    });
    const decision = engine.decide(
      inputOf({ tool: BULK_CLOSE, risk: { ...NO_RISK, write: true, bulk: true } }),
    );
    expect(decision).toMatchObject({
      effect: 'allow',
      determining: ['bulk-needs-leads', 'trusted-agent'],
    });
    expect(decision.approval).toBeUndefined();
  });

  it('picks the group of the smallest policy id when several apply, without separation', () => {
    const engine = engineOf({
      'z-approval':
        '@approval("z-team") @separation_of_duties permit (principal, action, resource);',
      'a-approval': '@approval("a-team") permit (principal, action, resource);',
    });
    expect(engine.decide(inputOf())).toMatchObject({
      effect: 'approval_required',
      determining: ['a-approval', 'z-approval'],
      approval: { group: 'a-team', separation_of_duties: false },
    });
  });

  it('denies when a forbid matches beside an @approval permit', () => {
    const engine = engineOf({
      'any-with-approval': '@approval("leads") permit (principal, action, resource);',
      'no-zendesk': 'forbid (principal, action, resource in Warden::ToolGroup::"zendesk");',
    });
    expect(engine.decide(inputOf())).toMatchObject({ effect: 'deny', determining: ['no-zendesk'] });
  });
});

describe('the Cedar request', () => {
  it('passes only the args the schema declares, typed, and tool flags as risk.raised', () => {
    const engine = engineOf({
      urgent: `permit (principal, action, resource)
        when { context.args has priority && context.args.priority == "urgent"
          && context.args has tags && context.args.tags.contains("vip")
          && context.risk.raised.contains("urgent_priority") && !context.risk.raised.contains("other") };`,
    });
    const decision = engine.decide(
      inputOf({
        tool: UPDATE,
        args: { ticket_id: 7, priority: 'urgent', tags: ['vip'], comment: { body: 'x' } },
        risk: { ...NO_RISK, write: true, urgent_priority: true, other: false },
      }),
    );
    expect(decision).toMatchObject({ effect: 'allow', errors: [] });
  });

  it.each([
    ['a string for a Long', { ticket_id: '12' }, /args\.ticket_id/],
    ['a fraction for a Long', { ticket_id: 1.5 }, /args\.ticket_id/],
    ['an unsafe integer', { amount: 2 ** 60 }, /args\.amount/],
    ['a scalar for a Set', { ticket_ids: 3 }, /args\.ticket_ids/],
    ['a wrong element in a Set', { tags: ['a', 1] }, /args\.tags\.1/],
    ['a null', { status: null }, /args\.status/],
    [
      'an extension escape for a String',
      { reason: { __extn: { fn: 'ip', arg: '1.1.1.1' } } },
      /args\.reason/,
    ],
  ])('denies, with the error, %s', (_name, args, error) => {
    const decision = engineOf({ all: 'permit (principal, action, resource);' }).decide(
      inputOf({ args }),
    );
    expect(decision.effect).toBe('deny');
    expect(decision.errors).toEqual([expect.stringMatching(error)]);
  });

  it('denies risk without a standard flag, and args that are not an object', () => {
    const engine = engineOf({ all: 'permit (principal, action, resource);' });
    const { bulk: _bulk, ...withoutBulk } = NO_RISK;
    expect(engine.decide(inputOf({ risk: withoutBulk as typeof NO_RISK })).errors).toEqual([
      'risk.bulk: missing',
    ]);
    expect(engine.decide(inputOf({ args: [1] })).effect).toBe('deny');
    expect(engine.decide(inputOf({ now: new Date(Number.NaN) })).effect).toBe('deny');
  });

  it('defaults environment to env and tool_groups to [], and omits absent optional attributes', () => {
    const engine = engineOf({
      defaults: `permit (principal, action, resource)
        when { principal.environment == context.env && principal.tool_groups.isEmpty()
          && !(principal has owner) && !(principal has risk_tier) };`,
    });
    expect(
      engine.decide(inputOf({ principal: { agent_id: 'bare', domains: ['support'] } })).effect,
    ).toBe('allow');
    expect(engine.decide(inputOf({ principal: TRIAGE_BOT })).effect).toBe('deny');
  });

  it('matches scopes through the agent domain and the tool groups and domain', () => {
    const engine = engineOf({
      'by-domain': `permit (principal in Warden::Domain::"support", action,
        resource in Warden::Domain::"support");`,
      'by-group': 'forbid (principal, action, resource in Warden::ToolGroup::"payroll");',
    });
    expect(engine.decide(inputOf()).effect).toBe('allow');
    expect(
      engine.decide(
        inputOf({ tool: { name: 'p', kind: 'read', domain: 'support', groups: ['payroll'] } }),
      ),
    ).toMatchObject({ effect: 'deny', determining: ['by-group'] });
    expect(
      engine.decide(inputOf({ principal: { ...TRIAGE_BOT, domains: ['sales'] } })).effect,
    ).toBe('deny');
  });

  it('denies after dispose', () => {
    const engine = engineOf({ reads: READS });
    expect(engine.decide(inputOf()).effect).toBe('allow');
    engine.dispose();
    expect(engine.decide(inputOf())).toMatchObject({
      effect: 'deny',
      errors: [expect.stringMatching(/disposed/)],
    });
  });
});
