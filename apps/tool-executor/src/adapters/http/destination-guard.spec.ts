import { describe, expect, it } from 'vitest';
import { parseUpstreamTable, type Upstream } from '../upstreams.js';
import { vetDestination, type ResolvedAddress, type Resolver } from './destination-guard.js';

function upstream(allowPrivate: boolean): Upstream {
  const parsed = parseUpstreamTable(
    JSON.stringify({ u: { base_url: 'https://u.example.com', allow_private: allowPrivate } }),
  );
  if (!parsed.ok || parsed.table.u === undefined) throw new Error('bad fixture');
  return parsed.table.u;
}

const dns = (
  answers: Record<string, readonly ResolvedAddress[]>,
): Resolver & { asked: string[] } => {
  const asked: string[] = [];
  const resolve = (host: string) => {
    asked.push(host);
    const found = answers[host];
    if (found === undefined)
      return Promise.reject(Object.assign(new Error('nope'), { code: 'ENOTFOUND' }));
    return Promise.resolve(found);
  };
  return Object.assign(resolve, { asked });
};

const v4 = (address: string): ResolvedAddress => ({ address, family: 4 });
const v6 = (address: string): ResolvedAddress => ({ address, family: 6 });

describe('vetDestination', () => {
  const resolver = dns({
    'public.example.com': [v4('93.184.216.34'), v6('2606:2800:220:1::1')],
    'rebind.example.com': [v4('93.184.216.34'), v4('127.0.0.1')],
    'mapped.example.com': [v6('::ffff:10.0.0.1')],
    localhost: [v4('127.0.0.1'), v6('::1')],
  });

  const ssrf = [
    'http://169.254.169.254/latest/meta-data/',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://127.0.0.1/',
    'http://2130706433/',
    'http://0177.0.0.1/',
    'http://0x7f.0.0.1/',
    'http://0x7f000001/',
    'http://127.1/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://10.1.2.3/',
    'http://172.16.0.1/',
    'http://172.31.0.1/',
    'http://192.168.0.1/',
    'http://100.64.0.1/',
    'http://[fe80::1]/',
    'http://[fd12::1]/',
    'http://0.0.0.0/',
    'http://localhost/',
    'http://rebind.example.com/',
    'http://mapped.example.com/',
    'file:///etc/passwd',
    'gopher://public.example.com:70/',
    'http://allowed@public.example.com/',
    'http://user:pw@public.example.com/',
  ];
  it.each(ssrf)('refuses %s before sending anything', async (raw) => {
    const vetted = await vetDestination(new URL(raw), upstream(false), resolver);
    expect(vetted).toMatchObject({ ok: false, refused: true });
    if (!vetted.ok) expect(vetted.message).toMatch(/refused: .+/);
  });

  it('says which rule refused and how to allow it', async () => {
    const vetted = await vetDestination(
      new URL('http://rebind.example.com/'),
      upstream(false),
      resolver,
    );
    expect(vetted.ok ? '' : vetted.message).toMatch(
      /resolves to 127\.0\.0\.1, a loopback address, refused unless the upstream sets allow_private: true/,
    );
  });

  it('allows private addresses with allow_private, but never metadata', async () => {
    expect(
      await vetDestination(new URL('http://localhost:8080/'), upstream(true), resolver),
    ).toMatchObject({
      ok: true,
      addresses: [v4('127.0.0.1'), v6('::1')],
    });
    expect(await vetDestination(new URL('http://[::1]/'), upstream(true), resolver)).toMatchObject({
      ok: true,
      addresses: [v6('::1')],
    });
    for (const raw of [
      'http://169.254.169.254/',
      'http://metadata.google.internal/',
      'http://[::ffff:169.254.169.254]/',
    ])
      expect(await vetDestination(new URL(raw), upstream(true), resolver)).toMatchObject({
        ok: false,
        refused: true,
      });
  });

  it('passes public names with every address they resolve to, and IP literals without DNS', async () => {
    const asked = dns({ 'public.example.com': [v4('93.184.216.34')] });
    expect(
      await vetDestination(new URL('https://public.example.com/x'), upstream(false), asked),
    ).toMatchObject({
      ok: true,
      addresses: [v4('93.184.216.34')],
    });
    expect(await vetDestination(new URL('https://8.8.8.8/'), upstream(false), asked)).toMatchObject(
      { ok: true },
    );
    expect(asked.asked).toEqual(['public.example.com']);
  });

  it('reports a name that does not resolve as unavailable, not refused', async () => {
    expect(
      await vetDestination(new URL('https://nx.example.com/'), upstream(false), resolver),
    ).toEqual({
      ok: false,
      refused: false,
      message: 'nx.example.com did not resolve (ENOTFOUND)',
    });
  });
});
