import { describe, expect, it } from 'vitest';
import { parseUpstreamTable, type UpstreamTable } from '../upstreams.js';
import { buildRequest } from './http-request.js';
import { redirectRefusal } from './http-adapter.js';
import { checkHttpSection, type HttpToolPlan } from './http-section.js';

function table(): UpstreamTable {
  const parsed = parseUpstreamTable(`
helpdesk:
  base_url: https://helpdesk.example.com/api/v2/
  tools: ["zendesk.*"]
  allow_hosts: [files.example.com, "cdn.example.com:8443"]
`);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.table;
}

function plan(section: Record<string, unknown>, tool = 'zendesk.update_ticket'): HttpToolPlan {
  const checked = checkHttpSection(
    tool,
    { adapter: 'http', target: 'helpdesk', ...section },
    table(),
    { argNames: ['ticket_id', 'query', 'limit', 'status', 'note', 'tags'] },
  );
  if (!checked.ok) throw new Error(checked.problems.join('; '));
  return checked.plan;
}

describe('checkHttpSection', () => {
  it('accepts a full section and fills the defaults', () => {
    const p = plan({
      method: 'PATCH',
      path: '/tickets/{ticket_id}',
      secret_ref: 'helpdesk/api-token',
    });
    expect(p).toMatchObject({
      upstreamName: 'helpdesk',
      method: 'PATCH',
      body: { kind: 'args' },
      timeoutMs: 10_000,
      maxResponseBytes: 1024 * 1024,
      secretRef: 'helpdesk/api-token',
      auth: 'bearer',
    });
    expect(plan({ method: 'GET', path: '/tickets' }).body).toEqual({ kind: 'none' });
    expect(plan({ method: 'DELETE', path: '/tickets/{ticket_id}' }).body).toEqual({ kind: 'none' });
  });

  it('lists every problem of a section at once', () => {
    const checked = checkHttpSection(
      'zendesk.update_ticket',
      {
        adapter: 'http',
        target: 'helpdesk',
        method: 'TRACE',
        path: 'tickets/{ticket id}?x=1',
        query: { q: '{nope' },
        headers: {
          'X-Ok': 'fine',
          'Bad Name': 'x',
          'X-Inject': 'a\r\nSet-Cookie: x',
          Authorization: 'x',
        },
        timeout_ms: 120_000,
        max_response_bytes: 0,
        auth: 'jwt',
        colour: 'blue',
      },
      table(),
    );
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    const problems = checked.problems.join('\n');
    for (const field of [
      'method',
      'path',
      'query.q',
      'headers.Bad Name',
      'headers.X-Inject',
      'headers.Authorization',
      'timeout_ms',
      'max_response_bytes',
      'auth',
      'colour',
    ]) {
      expect(problems).toContain(field);
    }
  });

  it('refuses an unknown upstream, a tool its globs do not allow, and unknown template args', () => {
    const unknown = checkHttpSection(
      'zendesk.get',
      { adapter: 'http', target: 'nowhere', method: 'GET', path: '/' },
      table(),
    );
    expect(unknown).toEqual({
      ok: false,
      problems: ['target: no upstream named "nowhere" in the env\'s upstream table'],
    });

    const notAllowed = checkHttpSection(
      'billing.refund',
      { adapter: 'http', target: 'helpdesk', method: 'GET', path: '/', nope: 1 },
      table(),
    );
    expect(notAllowed.ok).toBe(false);
    if (!notAllowed.ok) {
      expect(notAllowed.problems).toHaveLength(2);
      expect(notAllowed.problems.join('\n')).toMatch(/does not allow billing\.refund.*add a glob/);
    }

    const args = checkHttpSection(
      'zendesk.update_ticket',
      {
        adapter: 'http',
        target: 'helpdesk',
        method: 'POST',
        path: '/tickets/{id}',
        query: { q: '{query}', x: '{missing}' },
        body: { ticket: '{ticket}' },
        auth: 'per_call_token',
      },
      table(),
      { argNames: ['query'] },
    );
    expect(args).toEqual({
      ok: false,
      problems: [
        'auth: needs a secret_ref to sign or send',
        'path: {id} is not a top-level arg of the tool',
        'query.x: {missing} is not a top-level arg of the tool',
        'body.ticket: {ticket} is not a top-level arg of the tool',
      ],
    });
  });

  it('refuses a path with dot segments and a GET with a body', () => {
    const checked = checkHttpSection(
      'zendesk.get',
      { adapter: 'http', target: 'helpdesk', method: 'GET', path: '/a/../b', body: 'args' },
      table(),
    );
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.problems.join('\n')).toMatch(/"\." or "\.\." segments/);
    const get = checkHttpSection(
      'zendesk.get',
      { adapter: 'http', target: 'helpdesk', method: 'GET', path: '/b', body: 'args' },
      table(),
    );
    expect(get).toEqual({
      ok: false,
      problems: ['body: a GET request has no body (use none, or query parameters)'],
    });
  });
});

describe('buildRequest', () => {
  const get = plan({
    method: 'GET',
    path: '/tickets/{ticket_id}.json',
    query: { q: '{query}', limit: '{limit}', fixed: 'a b' },
  });

  it('expands path and query under the base path', () => {
    const built = buildRequest(get, { ticket_id: 42, query: 'status:open', limit: 5 });
    expect(built.target).toBe('/api/v2/tickets/42.json?q=status%3Aopen&limit=5&fixed=a%20b');
    expect(built.url.origin).toBe('https://helpdesk.example.com');
    expect(built.body).toBeUndefined();
  });

  it('leaves out a query parameter whose arg is absent', () => {
    expect(buildRequest(get, { ticket_id: 1 }).target).toBe('/api/v2/tickets/1.json?fixed=a%20b');
  });

  const injections: [string, string][] = [
    ['../../admin', '%2E%2E%2F%2E%2E%2Fadmin'],
    ['%2e%2e', '%252e%252e'],
    ['1?admin=true', '1%3Fadmin%3Dtrue'],
    ['1#frag', '1%23frag'],
    ['1/2', '1%2F2'],
    ['1\r\nX-Evil: yes', '1%0D%0AX-Evil%3A%20yes'],
    ['a&b=c', 'a%26b%3Dc'],
    ['ü', '%C3%BC'],
    ["!'()*", '%21%27%28%29%2A'],
  ];
  it.each(injections)('keeps %j inside one path segment and one query value', (value, encoded) => {
    const p = plan({ method: 'GET', path: '/t/{note}/x', query: { q: '{note}' } });
    expect(buildRequest(p, { note: value }).target).toBe(`/api/v2/t/${encoded}/x?q=${encoded}`);
  });

  it('refuses args that would make a dot or empty segment, or are not scalars', () => {
    const p = plan({ method: 'GET', path: '/t/{note}' });
    for (const note of ['..', '.', '', { a: 1 }, [1], null, '\ud800'])
      expect(() => buildRequest(p, { note })).toThrow(/arg note|segment/);
    expect(() => buildRequest(p, {})).toThrow('arg note is missing');
  });

  it('builds the body: the args, none, or fields from templates', () => {
    const args = { ticket_id: 7, status: 'open', tags: ['a'] };
    const patch = plan({ method: 'PATCH', path: '/tickets/{ticket_id}' });
    expect(JSON.parse(buildRequest(patch, args).body?.toString() ?? '')).toEqual(args);
    const fields = plan({
      method: 'POST',
      path: '/t',
      body: { ticket: '{ticket_id}', labels: '{tags}', text: 'status={status}', absent: '{note}' },
    });
    expect(JSON.parse(buildRequest(fields, args).body?.toString() ?? '')).toEqual({
      ticket: 7,
      labels: ['a'],
      text: 'status=open',
    });
  });
});

describe('redirectRefusal', () => {
  const p = plan({ method: 'GET', path: '/t' });
  const from = new URL('https://helpdesk.example.com/api/v2/t');
  const check = (to: string) => redirectRefusal(from, new URL(to), p);

  it('follows the same host and the allow_hosts', () => {
    expect(check('https://helpdesk.example.com/other')).toBeUndefined();
    expect(check('https://HELPDESK.example.com./other')).toBeUndefined();
    expect(check('https://files.example.com:9443/f')).toBeUndefined();
    expect(check('https://cdn.example.com:8443/f')).toBeUndefined();
  });

  it('refuses other hosts, ports, schemes, downgrades, credentials and IDN look-alikes', () => {
    expect(check('https://evil.example.com/')).toMatch(/allow_hosts/);
    expect(check('https://helpdesk.example.com:8443/')).toMatch(/allow_hosts/);
    expect(check('https://cdn.example.com/f')).toMatch(/allow_hosts/);
    expect(check('http://helpdesk.example.com/')).toMatch(/downgrade/);
    expect(check('file:///etc/passwd')).toMatch(/only http and https/);
    expect(check('gopher://helpdesk.example.com/')).toMatch(/only http and https/);
    expect(check('https://helpdesk.example.com@evil.example.com/')).toMatch(/credentials/);
    expect(check('https://user:pw@helpdesk.example.com/')).toMatch(/credentials/);
    expect(check('https://hеlpdesk.example.com/')).toMatch(/allow_hosts/); // Cyrillic е
    expect(check('https://fіles.example.com/')).toMatch(/allow_hosts/); // Cyrillic і
  });
});
