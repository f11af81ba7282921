import { describe, expect, it } from 'vitest';
import {
  closeBreaker,
  configureBudget,
  configuredRunLimits,
  dailyLimitOf,
  gateFor,
  newControls,
  openBreaker,
  pauseScope,
  rateLimitOf,
  type ChangeStamp,
} from './controls.js';

/** An instant before any probe time of these tests. */
const NOW = Date.parse('2026-11-27T10:00:00.000000Z');

const at = (second: number, id = `e${second}`): ChangeStamp => ({
  at: `2026-11-27T10:00:${String(second).padStart(2, '0')}.000000Z`,
  event_id: id,
  by: 'human:ops',
});

describe('configureBudget', () => {
  it('applies the newer setting and ignores an older one replayed after it', () => {
    const first = configureBudget(
      newControls(),
      { scope: 'agent', agent_id: 'bot', budget_micro_usd: 100 },
      at(2),
    );
    expect(first?.agents.bot).toMatchObject({ budget_micro_usd: 100, by: 'human:ops' });
    const stale = configureBudget(
      first ?? newControls(),
      { scope: 'agent', agent_id: 'bot', budget_micro_usd: 999 },
      at(1),
    );
    expect(stale).toBeUndefined();
  });

  it('replaces the whole setting: a limit left out is no longer limited', () => {
    const limited = configureBudget(
      newControls(),
      { scope: 'workflow', workflow: 'triage', budget_micro_usd: 100, max_tokens: 5 },
      at(1),
    );
    const loosened = configureBudget(
      limited ?? newControls(),
      { scope: 'workflow', workflow: 'triage', max_tokens: 5 },
      at(2),
    );
    expect(dailyLimitOf(loosened ?? newControls(), 'workflow', 'triage')).toEqual({ tokens: 5 });
  });

  it('writes nothing when the limits are the same', () => {
    const setting = {
      scope: 'agent' as const,
      agent_id: 'bot',
      rate_limits: { noop: { calls: 1, window_ms: 10 } },
    };
    const first = configureBudget(newControls(), setting, at(1)) ?? newControls();
    expect(configureBudget(first, setting, at(2))).toBeUndefined();
  });
});

describe('breakers', () => {
  it('opens, closes, and is not reopened by a stale open replayed after the close', () => {
    const open =
      openBreaker(newControls(), 'crm.update', at(1), { reason: 'timeouts' }) ?? newControls();
    expect(gateFor(open, { agentId: 'bot', tool: 'crm.update' }, NOW)).toMatchObject({
      kind: 'upstream_degraded',
      since: { reason: 'timeouts' },
    });
    const closed = closeBreaker(open, 'crm.update', at(3)) ?? open;
    expect(gateFor(closed, { agentId: 'bot', tool: 'crm.update' }, NOW)).toEqual({ kind: 'open' });
    expect(openBreaker(closed, 'crm.update', at(1), { reason: 'timeouts' })).toBeUndefined();
    expect(openBreaker(closed, 'crm.update', at(4), { reason: 'again' })).toBeDefined();
  });

  it('lets calls through from the probe time, until a later opening moves it', () => {
    const probeAt = Date.parse('2026-11-27T10:00:30.000000Z');
    const open =
      openBreaker(newControls(), 'crm.update', at(1), {
        probeAfter: '2026-11-27T10:00:30.000000Z',
      }) ?? newControls();
    const subject = { agentId: 'bot', tool: 'crm.update' };
    expect(gateFor(open, subject, probeAt - 1)).toMatchObject({ kind: 'upstream_degraded' });
    expect(gateFor(open, subject, probeAt)).toEqual({ kind: 'open' });
    // The probe failed: opened again, later, with the next probe time.
    const reopened =
      openBreaker(open, 'crm.update', at(2), { probeAfter: '2026-11-27T10:01:30.000000Z' }) ?? open;
    expect(gateFor(reopened, subject, probeAt + 1)).toMatchObject({ kind: 'upstream_degraded' });
    // A replay of the first opening changes nothing.
    expect(openBreaker(reopened, 'crm.update', at(1), {})).toBeUndefined();
  });

  it('does not close a breaker for a close older than its open', () => {
    const open = openBreaker(newControls(), 'crm.update', at(5), {}) ?? newControls();
    expect(closeBreaker(open, 'crm.update', at(4))).toBeUndefined();
  });
});

describe('gateFor', () => {
  it('names the paused agent before the paused workflow, and is open otherwise', () => {
    const workflowPaused =
      pauseScope(newControls(), { kind: 'workflow', id: 'triage' }, at(1), 'drill') ??
      newControls();
    const both =
      pauseScope(workflowPaused, { kind: 'agent', id: 'bot' }, at(2), 'runaway') ?? workflowPaused;
    expect(gateFor(both, { agentId: 'bot', workflow: 'triage', tool: 'noop' }, NOW)).toMatchObject({
      kind: 'paused',
      scope: { kind: 'agent', id: 'bot' },
    });
    expect(
      gateFor(both, { agentId: 'other', workflow: 'triage', tool: 'noop' }, NOW),
    ).toMatchObject({
      kind: 'paused',
      scope: { kind: 'workflow', id: 'triage' },
    });
    expect(gateFor(both, { agentId: 'other', tool: 'noop' }, NOW)).toEqual({ kind: 'open' });
  });
});

describe('rateLimitOf and dailyLimitOf', () => {
  const controls =
    configureBudget(
      newControls(),
      {
        scope: 'agent',
        agent_id: 'bot',
        rate_limits: { '*': { calls: 10, window_ms: 1000 }, noop: { calls: 2, window_ms: 1000 } },
      },
      at(1),
    ) ?? newControls();

  it("takes the tool's own rule, else the agent's `*` rule", () => {
    expect(rateLimitOf(controls, 'bot', 'noop')).toEqual({ calls: 2, window_ms: 1000 });
    expect(rateLimitOf(controls, 'bot', 'echo')).toEqual({ calls: 10, window_ms: 1000 });
    expect(rateLimitOf(controls, 'other', 'noop')).toBeUndefined();
    expect(rateLimitOf(controls, 'constructor', 'noop')).toBeUndefined();
  });

  it('has no daily limit for an agent configured with rate limits only', () => {
    expect(dailyLimitOf(controls, 'agent', 'bot')).toBeUndefined();
  });
});

describe('configuredRunLimits', () => {
  const defaults = { max_steps: 200, budget_micro_usd: 5_000_000 };

  it("prefers the operator's run budget, then the agent's registered default, then the env", () => {
    expect(configuredRunLimits(newControls(), defaults, undefined)).toEqual({
      max_steps: 200,
      budget_micro_usd: 5_000_000,
    });
    expect(configuredRunLimits(newControls(), defaults, 700)).toMatchObject({
      budget_micro_usd: 700,
    });
    const operator =
      configureBudget(
        newControls(),
        { scope: 'run', budget_micro_usd: 900, max_steps: 20, max_wall_clock_seconds: 60 },
        at(1),
      ) ?? newControls();
    expect(configuredRunLimits(operator, defaults, 700)).toEqual({
      max_steps: 20,
      budget_micro_usd: 900,
      max_duration_ms: 60_000,
    });
  });
});
