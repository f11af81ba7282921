import { describe, expect, it } from 'vitest';
import { isToolAllowed, normaliseHost, parseUpstreamTable } from './upstreams.js';

describe('parseUpstreamTable', () => {
  it('reads a YAML table and fills the defaults', () => {
    const parsed = parseUpstreamTable(`
helpdesk:
  base_url: http://127.0.0.1:8931/api
  tools: ["zendesk.*"]
  allow_private: true
  allow_hosts: [files.example.com, "EXAMPLE.org:8443"]
billing:
  base_url: https://billing.example.com
`);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.table.helpdesk?.base_url.href).toBe('http://127.0.0.1:8931/api');
    expect(parsed.table.helpdesk?.allow_hosts).toEqual(['files.example.com', 'example.org:8443']);
    expect(parsed.table.billing).toMatchObject({
      tools: [],
      allow_private: false,
      allow_hosts: [],
    });
  });

  it('reads JSON and treats an empty file as an empty table', () => {
    expect(parseUpstreamTable('{"a": {"base_url": "https://a.example.com"}}').ok).toBe(true);
    expect(parseUpstreamTable('')).toEqual({ ok: true, table: {} });
  });

  it('lists every problem of every upstream', () => {
    const parsed = parseUpstreamTable(`
Bad Name:
  base_url: https://x.example.com
creds:
  base_url: http://user:pw@x.example.com/?q=1#f
ftp:
  base_url: ftp://x.example.com
  tools: ["Zendesk"]
  allow_private: "yes"
  allow_hosts: ["evil.example.com/path"]
  extra: 1
relative:
  base_url: /api
`);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Bad Name: /),
        'creds.base_url: must not hold credentials',
        'creds.base_url: must not have a query',
        'creds.base_url: must not have a fragment',
        'ftp.base_url: must be http or https',
        expect.stringMatching(/^ftp\.tools\.0: must be a tool name glob/),
        expect.stringMatching(/^ftp\.allow_private: /),
        expect.stringMatching(/^ftp\.allow_hosts\.0: must be a host name/),
        expect.stringMatching(/^ftp: Unrecognized key.*extra/),
        'relative.base_url: must be an absolute http(s) URL',
      ]),
    );
    expect(parsed.problems).toHaveLength(10);
  });

  it('reports YAML that does not parse', () => {
    const parsed = parseUpstreamTable('a: [');
    expect(parsed.ok).toBe(false);
  });
});

describe('isToolAllowed', () => {
  const upstream = (tools: string[]) => {
    const parsed = parseUpstreamTable(
      JSON.stringify({ u: { base_url: 'https://u.example.com', tools } }),
    );
    if (!parsed.ok || parsed.table.u === undefined) throw new Error('bad fixture');
    return parsed.table.u;
  };

  it('matches tool names against the globs, and refuses every tool by default', () => {
    expect(isToolAllowed(upstream(['zendesk.*']), 'zendesk.update_ticket')).toBe(true);
    expect(isToolAllowed(upstream(['zendesk.*']), 'zendeskx.update_ticket')).toBe(false);
    expect(isToolAllowed(upstream(['zendesk.get_ticket']), 'zendesk.get_tickets')).toBe(false);
    expect(isToolAllowed(upstream(['*']), 'anything.at_all')).toBe(true);
    expect(isToolAllowed(upstream([]), 'zendesk.update_ticket')).toBe(false);
  });
});

describe('normaliseHost', () => {
  it('normalises like the URL parser: lower case, punycode, no default port', () => {
    expect(normaliseHost('API.Example.com')).toBe('api.example.com');
    expect(normaliseHost('exаmple.com')).toBe('xn--exmple-4nf.com');
    expect(normaliseHost('example.com:80')).toBe('example.com');
    expect(normaliseHost('[::1]:8080')).toBe('[::1]:8080');
    expect(normaliseHost('example.com.')).toBe('example.com');
  });

  it('refuses anything but a host', () => {
    for (const raw of ['', 'a/b', 'user@host', 'host?x', 'host#x', 'a b', 'host:99999'])
      expect(normaliseHost(raw)).toBeUndefined();
  });
});
