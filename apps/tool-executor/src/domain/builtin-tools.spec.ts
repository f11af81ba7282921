import { describe, expect, it } from 'vitest';
import { BUILTIN_SPECS, INSTANT_TOOL_TIMEOUT_MS } from './builtin-tools.js';
import { admit } from './tools.js';

const MAX_TIMEOUT = 65_000;
const check = (tool: keyof typeof BUILTIN_SPECS, args: Record<string, unknown>) =>
  admit(tool, args, BUILTIN_SPECS[tool], MAX_TIMEOUT);

describe('built-in tool args', () => {
  it('lets echo take anything, since it returns its args', () => {
    expect(check('echo', { text: 'hi', nested: { n: [1, 2] } })).toMatchObject({
      admitted: true,
      args: { text: 'hi', nested: { n: [1, 2] } },
    });
  });

  it('takes sleep for 0 to 60000 whole milliseconds and gives it a second more as timeout', () => {
    expect(check('sleep', { ms: 0 })).toMatchObject({ admitted: true });
    expect(check('sleep', { ms: 60_000 })).toMatchObject({ admitted: true, timeoutMs: 61_000 });
    for (const ms of [-1, 60_001, 1.5, '50']) {
      expect(check('sleep', { ms })).toMatchObject({
        admitted: false,
        outcome: { reason: 'invalid_args', details: [{ path: 'args.ms' }] },
      });
    }
    expect(check('sleep', {})).toMatchObject({ admitted: false });
  });

  it('rejects fields a built-in does not declare', () => {
    expect(check('sleep', { ms: 5, extra: true })).toMatchObject({
      admitted: false,
      outcome: { status: 'failed', reason: 'invalid_args' },
    });
    expect(check('noop', { anything: 1 })).toMatchObject({ admitted: false });
    expect(check('noop', {})).toMatchObject({
      admitted: true,
      timeoutMs: INSTANT_TOOL_TIMEOUT_MS,
    });
  });

  it('takes fail with or without a message', () => {
    expect(check('fail', {})).toMatchObject({ admitted: true });
    expect(check('fail', { message: 'boom' })).toMatchObject({ admitted: true });
    expect(check('fail', { message: 42 })).toMatchObject({ admitted: false });
  });

  it('marks every built-in read-only, so an interrupted one may run again', () => {
    for (const spec of Object.values(BUILTIN_SPECS)) expect(spec.traits.kind).toBe('read');
  });
});
