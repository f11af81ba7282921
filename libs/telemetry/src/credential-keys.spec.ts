import { describe, expect, it } from 'vitest';
import { REDACTED, scrubCredentials } from './credential-keys.js';

describe('scrubCredentials', () => {
  it('redacts credential-like fields at any depth, in objects and arrays', () => {
    const input = {
      tool: 'zendesk.update_ticket',
      args: { upstream: { auth: { api_key: 'k-123', user: 'bot' } }, list: [{ token: 't' }] },
      usage: { input_tokens: 12 },
    };
    expect(scrubCredentials(input)).toEqual({
      tool: 'zendesk.update_ticket',
      args: { upstream: { auth: { api_key: REDACTED, user: 'bot' } }, list: [{ token: REDACTED }] },
      usage: { input_tokens: 12 },
    });
  });

  it('never mutates its input and returns it as is when there is nothing to redact', () => {
    const secret = { nested: { password: 'hunter2' } };
    const clean = { a: { b: [1, 2, { c: 'd' }] } };
    scrubCredentials(secret);
    expect(secret.nested.password).toBe('hunter2');
    expect(scrubCredentials(clean)).toBe(clean);
  });

  it('survives cyclic input', () => {
    const cyclic: Record<string, unknown> = { name: 'x' };
    cyclic['self'] = cyclic;
    expect(() => scrubCredentials(cyclic)).not.toThrow();
  });
});
