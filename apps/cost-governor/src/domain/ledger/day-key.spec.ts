import { describe, expect, it } from 'vitest';
import {
  agentDayKey,
  dayOf,
  nextDayStart,
  runAccountKey,
  scopeOfKey,
  workflowDayKey,
} from './day-key.js';

const at = (iso: string) => Date.parse(iso);

describe('dayOf', () => {
  it('puts an instant in its UTC day by default', () => {
    expect(dayOf(at('2026-03-01T00:00:00.000Z'))).toBe('2026-03-01');
    expect(dayOf(at('2026-02-28T23:59:59.999Z'))).toBe('2026-02-28');
  });

  it('moves the boundary by a fixed offset in minutes', () => {
    // 23:30 UTC is already the next day in UTC+01:00, still the same day in UTC−05:00.
    const late = at('2026-03-01T23:30:00Z');
    expect(dayOf(late, { offsetMinutes: 60 })).toBe('2026-03-02');
    expect(dayOf(late, { offsetMinutes: -300 })).toBe('2026-03-01');
    expect(dayOf(at('2026-03-02T04:59:59.999Z'), { offsetMinutes: -300 })).toBe('2026-03-01');
    expect(dayOf(at('2026-03-02T05:00:00Z'), { offsetMinutes: -300 })).toBe('2026-03-02');
  });

  it('refuses an offset that is not whole minutes within ±14 h, and a non-instant', () => {
    expect(() => dayOf(0, { offsetMinutes: 15 * 60 })).toThrow(RangeError);
    expect(() => dayOf(0, { offsetMinutes: 0.5 })).toThrow(RangeError);
    expect(() => dayOf(Number.NaN)).toThrow(RangeError);
  });
});

describe('nextDayStart', () => {
  it('is the next midnight at the boundary', () => {
    expect(nextDayStart(at('2026-03-01T12:00:00Z'))).toBe(at('2026-03-02T00:00:00Z'));
    expect(nextDayStart(at('2026-03-01T00:00:00Z'))).toBe(at('2026-03-02T00:00:00Z'));
    expect(nextDayStart(at('2026-03-01T23:30:00Z'), { offsetMinutes: 60 })).toBe(
      at('2026-03-02T23:00:00Z'),
    );
    expect(nextDayStart(at('1969-12-31T12:00:00Z'))).toBe(0);
  });
});

describe('account keys', () => {
  it('are valid KV keys that name their scope, with the day for daily scopes', () => {
    const t = at('2026-03-01T10:00:00Z');
    expect(runAccountKey('r1')).toBe('run.r1');
    expect(agentDayKey('bot', t)).toBe('agent.bot.2026-03-01');
    expect(workflowDayKey('triage', t, { offsetMinutes: 840 })).toBe('workflow.triage.2026-03-02');
    for (const key of [runAccountKey('r1'), agentDayKey('bot', t), workflowDayKey('w', t)]) {
      expect(key).toMatch(/^[-/_=.a-zA-Z0-9]+$/);
    }
  });

  it('gives a daily account a new key at the day boundary (the budget resets)', () => {
    expect(agentDayKey('bot', at('2026-03-01T23:59:59.999Z'))).not.toBe(
      agentDayKey('bot', at('2026-03-02T00:00:00Z')),
    );
  });

  it('reads the scope back from a key', () => {
    expect(scopeOfKey('run.r1')).toBe('run');
    expect(scopeOfKey('agent.bot.2026-03-01')).toBe('agent');
    expect(scopeOfKey('workflow.w.2026-03-01')).toBe('workflow');
    expect(scopeOfKey('tool.x')).toBeUndefined();
    expect(scopeOfKey('run')).toBeUndefined();
  });
});
