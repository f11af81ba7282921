import { describe, expect, it } from 'vitest';
import { junitXml, summarize } from './eval-report.js';
import { parseSuite, SuiteError } from './suite.js';

const problemsOf = (text: string): readonly string[] => {
  try {
    parseSuite(text, 'suites/bad.yaml');
  } catch (error) {
    if (error instanceof SuiteError) return error.problems;
    throw error;
  }
  throw new Error('the suite parsed');
};

const AGENTS = `agents:
  triage: { agent_id: triage-1, domains: [support], tool_groups: [zendesk] }
`;

describe('eval suite files', () => {
  it('resolves named agents and paths relative to the suite file', () => {
    const suite = parseSuite(
      `name: s
policies: ../policies
tools: [../tools/a.yaml]
${AGENTS}cases:
  - name: reads
    intent: { agent: triage, tool: zendesk.get_ticket, args: { ticket_id: 1 } }
    expect: { effect: allow, policy_ids: [reads-in-domain] }
  - name: triage
    run: { scenario: triage }
    expect: { approvals: 0, helpdesk: { tickets: { 1: { status: open } }, untouched: [4] } }
`,
      '/work/suites/s.yaml',
    );
    expect(suite.policies).toEqual(['/work/policies']);
    expect(suite.tools).toEqual(['/work/tools/a.yaml']);
    expect(suite.cases[0]).toMatchObject({
      kind: 'intent',
      principal: { agent_id: 'triage-1' },
      intent: { step: 1 },
    });
    expect(suite.cases[1]).toMatchObject({ kind: 'run', expect: { as_expected: true } });
  });

  it('names the case and the field of every problem', () => {
    expect(
      problemsOf(`name: s
${AGENTS}cases:
  - name: wrong effect
    intent: { agent: triage, tool: t, args: {} }
    expect: { effect: permit }
  - name: nobody
    intent: { agent: ghost, tool: t }
    expect: { effect: allow }
  - name: neither
    expect: { effect: allow }
  - name: no such scenario
    run: { scenario: heist }
    expect: {}
`),
    ).toEqual([
      expect.stringMatching(/^cases\[0\] "wrong effect" › expect\.effect: /),
      'cases[1] "nobody" › intent.agent: no agent named "ghost" in agents (triage)',
      'cases[2] "neither": a case has either `intent:` (one decision) or `run:` (a scripted run)',
      expect.stringMatching(/^cases\[3\] "no such scenario" › run\.scenario: /),
    ]);
  });

  it('reports YAML errors with their line, and a suite without cases', () => {
    expect(problemsOf('name: s\ncases: [\n')[0]).toMatch(/^line \d+:\d+: /);
    expect(problemsOf('name: s\ncases: []\n')[0]).toMatch(/^cases: /);
    expect(new SuiteError('x.yaml', ['a']).message).toBe('x.yaml is not a valid eval suite:\n  a');
  });
});

describe('JUnit report', () => {
  it('writes one testcase per case, failures with expected, actual and policies', () => {
    const xml = junitXml(
      summarize([
        {
          file: 'g.yaml',
          name: 'golden <1>',
          decidedWith: 'files',
          notes: [],
          durationMs: 12,
          cases: [
            {
              name: 'ok',
              kind: 'intent',
              status: 'passed',
              expected: 'allow',
              actual: 'allow',
              policyIds: [],
              mismatches: [],
              durationMs: 1,
            },
            {
              name: 'payroll & co',
              kind: 'intent',
              status: 'failed',
              expected: 'deny forbidden (no-payroll)',
              actual: 'allow (p)',
              policyIds: ['no-payroll', 'p'],
              mismatches: ['effect: expected deny, got allow'],
              durationMs: 1,
            },
            {
              name: 'run',
              kind: 'run',
              status: 'skipped',
              expected: '',
              actual: '',
              policyIds: [],
              mismatches: [],
              detail: '--no-runs',
              durationMs: 0,
            },
          ],
        },
      ]),
    );
    expect(xml).toContain(
      '<testsuite name="golden &lt;1&gt;" file="g.yaml" tests="3" failures="1"',
    );
    expect(xml).toContain('<testcase classname="golden &lt;1&gt;.intent" name="ok" time="0.001"/>');
    expect(xml).toContain(
      '<failure message="expected deny forbidden (no-payroll), got allow (p) [policies: no-payroll, p]" type="eval">',
    );
    expect(xml).toContain('policies: no-payroll, p');
    expect(xml).toContain('name="payroll &amp; co"');
    expect(xml).toContain('<skipped message="--no-runs"/>');
  });
});
