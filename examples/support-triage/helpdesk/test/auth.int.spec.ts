import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, API_TOKEN, perCallToken, TestHelpdesk } from './harness.js';

describe('helpdesk auth', () => {
  const helpdesk = TestHelpdesk.forSuite();

  it('lets the static API token in', async () => {
    const answer = await helpdesk.call('GET', '/tickets/1');
    expect(answer.status).toBe(200);
  });

  it('lets a per-call JWT in and logs its jti', async () => {
    const token = await perCallToken({ jti: 'intent-auth-jti' });
    const answer = await helpdesk.call('GET', '/tickets/1', { token });
    expect(answer.status).toBe(200);
    expect(helpdesk.logs.some((line) => line.includes('"jti":"intent-auth-jti"'))).toBe(true);
  });

  it.each([
    ['an expired token', { expiresInS: -60 }, 'token expired'],
    ['another audience', { aud: 'payroll' }, 'token audience is not "helpdesk"'],
    [
      'another key',
      { key: 'some-other-secret-of-at-least-32-chars' },
      'token signature is invalid',
    ],
    ['a token without jti', { jti: null }, 'invalid "jti" claim'],
    ['a token living over 5 minutes', { expiresInS: 3600 }, 'token lives longer than 5 minutes'],
  ])('refuses %s with 401', async (_what, claims, message) => {
    const token = await perCallToken(claims);
    const answer = await helpdesk.call('GET', '/tickets/1', { token });
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({ error: 'unauthorized', message });
    expect(answer.text).not.toContain(token);
  });

  it('refuses a missing or wrong token without echoing it', async () => {
    const missing = await helpdesk.call('GET', '/tickets', { token: null });
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ error: 'unauthorized', message: 'missing bearer token' });
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="helpdesk"');

    const wrong = `${API_TOKEN}-but-not-quite`;
    const answer = await helpdesk.call('PATCH', '/tickets/1', { token: wrong, body: {} });
    expect(answer.status).toBe(401);
    expect(answer.text).not.toContain(wrong);
  });

  it('keeps the admin routes behind the admin token, not the API token', async () => {
    expect((await helpdesk.call('GET', '/_admin/writes')).status).toBe(401);
    expect((await helpdesk.call('GET', '/_admin/writes', { token: ADMIN_TOKEN })).status).toBe(200);
    // The admin token opens no ticket route.
    expect((await helpdesk.call('GET', '/tickets/1', { token: ADMIN_TOKEN })).status).toBe(401);
  });

  it('answers /healthz without a token', async () => {
    const answer = await helpdesk.call('GET', '/healthz', { token: null });
    expect(answer).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('never writes a token or an Authorization header to its logs', async () => {
    const jwt = await perCallToken();
    await helpdesk.call('GET', '/tickets/2', { token: jwt });
    await helpdesk.call('GET', '/tickets/2', { token: 'wrong-token' });
    await helpdesk.admin('GET', '/writes');
    const logs = helpdesk.logs.join('');
    expect(logs).toContain('"msg":"request"');
    for (const secret of [API_TOKEN, ADMIN_TOKEN, jwt, 'wrong-token', 'Bearer']) {
      expect(logs).not.toContain(secret);
    }
    expect(logs.toLowerCase()).not.toContain('authorization');
  });
});
