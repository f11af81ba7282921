import { describe, expect, it } from 'vitest';
import {
  isPaused,
  listPaused,
  newPauseBoard,
  pause,
  resume,
  type PauseBoard,
  type PauseCommand,
} from './pause.js';

const T1 = '2026-05-14T10:00:00.000000Z';
const T2 = '2026-05-14T10:05:00.000000Z';
const T3 = '2026-05-14T10:09:00.000000Z';

function command(
  kind: 'agent' | 'workflow',
  id: string,
  at: string,
  eventId: string,
  reason?: string,
): PauseCommand {
  return { scope: { kind, id }, by: 'alice@example.com', at, eventId, reason };
}

function apply(board: PauseBoard, next: PauseBoard | undefined): PauseBoard {
  return next ?? board;
}

describe('pause and isPaused', () => {
  it('pauses an agent, with who, when and why', () => {
    const board = apply(
      newPauseBoard(),
      pause(newPauseBoard(), command('agent', 'triage-bot', T1, 'e1', 'closing tickets in bulk')),
    );
    expect(isPaused(board, { agentId: 'triage-bot', workflow: 'triage' })).toEqual({
      paused: true,
      scope: { kind: 'agent', id: 'triage-bot' },
      entry: {
        paused: true,
        by: 'alice@example.com',
        at: T1,
        event_id: 'e1',
        reason: 'closing tickets in bulk',
      },
    });
    expect(isPaused(board, { agentId: 'other-bot', workflow: 'triage' })).toEqual({
      paused: false,
    });
  });

  it('pauses every agent of a paused workflow, and nothing outside it', () => {
    const board = apply(
      newPauseBoard(),
      pause(newPauseBoard(), command('workflow', 'triage', T1, 'e1')),
    );
    expect(isPaused(board, { agentId: 'a', workflow: 'triage' })).toMatchObject({
      paused: true,
      scope: { kind: 'workflow', id: 'triage' },
    });
    expect(isPaused(board, { agentId: 'a', workflow: 'billing' }).paused).toBe(false);
    expect(isPaused(board, { agentId: 'a' }).paused).toBe(false);
  });

  it('names the agent when both the agent and its workflow are paused', () => {
    let board = newPauseBoard();
    board = apply(board, pause(board, command('workflow', 'triage', T1, 'e1')));
    board = apply(board, pause(board, command('agent', 'bot', T2, 'e2')));
    expect(isPaused(board, { agentId: 'bot', workflow: 'triage' })).toMatchObject({
      scope: { kind: 'agent', id: 'bot' },
    });
  });

  it('keeps the first pause on a second one: nothing to write', () => {
    let board = newPauseBoard();
    board = apply(board, pause(board, command('agent', 'bot', T1, 'e1', 'first')));
    expect(pause(board, command('agent', 'bot', T1, 'e1', 'first'))).toBeUndefined();
    expect(pause(board, command('agent', 'bot', T2, 'e2', 'second'))).toBeUndefined();
    expect(listPaused(board)).toMatchObject([
      { scope: { kind: 'agent', id: 'bot' }, entry: { reason: 'first', event_id: 'e1' } },
    ]);
  });

  it('does not confuse a scope named after an Object.prototype member', () => {
    expect(isPaused(newPauseBoard(), { agentId: 'constructor', workflow: 'tostring' })).toEqual({
      paused: false,
    });
  });
});

describe('resume', () => {
  it('resumes a paused scope and keeps who paused it, when and why', () => {
    let board = newPauseBoard();
    board = apply(board, pause(board, command('workflow', 'triage', T1, 'e1', 'incident 42')));
    board = apply(board, resume(board, { ...command('workflow', 'triage', T2, 'e2'), by: 'bob' }));
    expect(isPaused(board, { agentId: 'a', workflow: 'triage' })).toEqual({ paused: false });
    expect(board.workflows['triage']).toEqual({
      paused: false,
      by: 'bob',
      at: T2,
      event_id: 'e2',
      paused_by: 'alice@example.com',
      paused_at: T1,
      paused_reason: 'incident 42',
    });
    expect(listPaused(board)).toEqual([]);
  });

  it('is a no-op for a scope that is not paused, and for a redelivered resume', () => {
    expect(resume(newPauseBoard(), command('agent', 'bot', T1, 'e1'))).toBeUndefined();
    let board = newPauseBoard();
    board = apply(board, pause(board, command('agent', 'bot', T1, 'e1')));
    board = apply(board, resume(board, command('agent', 'bot', T2, 'e2')));
    expect(resume(board, command('agent', 'bot', T2, 'e2'))).toBeUndefined();
  });

  it('ignores a redelivered pause that arrives after the resume that followed it', () => {
    let board = newPauseBoard();
    board = apply(board, pause(board, command('agent', 'bot', T1, 'e1')));
    board = apply(board, resume(board, command('agent', 'bot', T2, 'e2')));
    expect(pause(board, command('agent', 'bot', T1, 'e1'))).toBeUndefined();
    // A genuinely new pause still applies.
    board = apply(board, pause(board, command('agent', 'bot', T3, 'e3')));
    expect(isPaused(board, { agentId: 'bot' }).paused).toBe(true);
  });

  it('ignores a resume older than the pause (events out of order), tie broken by event id', () => {
    let board = newPauseBoard();
    board = apply(board, pause(board, command('agent', 'bot', T2, 'e2')));
    expect(resume(board, command('agent', 'bot', T1, 'e1'))).toBeUndefined();
    expect(resume(board, command('agent', 'bot', T2, 'e1'))).toBeUndefined();
    expect(resume(board, command('agent', 'bot', T2, 'e3'))).toBeDefined();
  });
});
