/**
 * The kill switch (issue 6 §5): which agents and workflows are paused, by whom, when and why.
 *
 * One board holds every scope, so checking an intent is a single KV read. Each scope keeps its
 * latest transition, resumed ones included: a pause or resume is applied only when it is newer
 * than the one already recorded (by time, then event id). That makes both idempotent and
 * order-proof: a redelivered `workflow.paused` arriving after the `workflow.resumed` that
 * followed it does not pause the workflow again.
 */

/** What a pause applies to. */
export type PauseScope =
  | { readonly kind: 'agent'; readonly id: string }
  | { readonly kind: 'workflow'; readonly id: string };

/** The latest transition of one scope. */
export interface PauseEntry {
  readonly paused: boolean;
  /** Who paused or resumed (a human principal or a service). */
  readonly by: string;
  /** When, RFC 3339 UTC with µs (fixed width, so strings compare in time order). */
  readonly at: string;
  /** The event that made the transition; breaks ties between equal times. */
  readonly event_id: string;
  readonly reason?: string;
  /** For a resumed scope: who paused it, when and why, so the log can tell the whole story. */
  readonly paused_by?: string;
  readonly paused_at?: string;
  readonly paused_reason?: string;
}

/** The kill-switch state: the latest transition per agent and per workflow. */
export interface PauseBoard {
  readonly agents: Readonly<Record<string, PauseEntry>>;
  readonly workflows: Readonly<Record<string, PauseEntry>>;
}

/** A pause or resume as an operator issued it. */
export interface PauseCommand {
  readonly scope: PauseScope;
  readonly by: string;
  readonly at: string;
  readonly eventId: string;
  readonly reason?: string | undefined;
}

/** Who an intent acts as. */
export interface PauseSubject {
  readonly agentId: string;
  readonly workflow?: string | undefined;
}

/** Whether an intent may proceed. */
export type PauseVerdict =
  | { readonly paused: false }
  | { readonly paused: true; readonly scope: PauseScope; readonly entry: PauseEntry };

/** An empty board: nothing paused. */
export function newPauseBoard(): PauseBoard {
  return { agents: {}, workflows: {} };
}

/**
 * Whether the intent's agent or workflow is paused. The agent is checked first: pausing an
 * agent is the narrower, more deliberate act, so it is the reason worth showing.
 */
export function isPaused(board: PauseBoard, subject: PauseSubject): PauseVerdict {
  const agent = entryOf(board, { kind: 'agent', id: subject.agentId });
  if (agent?.paused === true) {
    return { paused: true, scope: { kind: 'agent', id: subject.agentId }, entry: agent };
  }
  if (subject.workflow !== undefined) {
    const scope: PauseScope = { kind: 'workflow', id: subject.workflow };
    const workflow = entryOf(board, scope);
    if (workflow?.paused === true) return { paused: true, scope, entry: workflow };
  }
  return { paused: false };
}

/**
 * Pauses a scope. `undefined` (nothing to write) when the command is not newer than the scope's
 * latest transition (a redelivery, or a stale event), or when the scope is already paused: the
 * first pause keeps its who, when and why.
 */
export function pause(board: PauseBoard, command: PauseCommand): PauseBoard | undefined {
  const current = entryOf(board, command.scope);
  if (current !== undefined && (current.paused || !isNewer(command, current))) return undefined;
  return withEntry(board, command.scope, {
    paused: true,
    by: command.by,
    at: command.at,
    event_id: command.eventId,
    ...(command.reason === undefined ? {} : { reason: command.reason }),
  });
}

/**
 * Resumes a scope. `undefined` when it is not paused, or when the command is not newer than the
 * pause (a resume can only undo a pause that came before it).
 */
export function resume(board: PauseBoard, command: PauseCommand): PauseBoard | undefined {
  const current = entryOf(board, command.scope);
  if (current?.paused !== true || !isNewer(command, current)) return undefined;
  return withEntry(board, command.scope, {
    paused: false,
    by: command.by,
    at: command.at,
    event_id: command.eventId,
    ...(command.reason === undefined ? {} : { reason: command.reason }),
    paused_by: current.by,
    paused_at: current.at,
    ...(current.reason === undefined ? {} : { paused_reason: current.reason }),
  });
}

/** The paused scopes, for `warden pause --list` and the like. */
export function listPaused(board: PauseBoard): { scope: PauseScope; entry: PauseEntry }[] {
  const agents = Object.entries(board.agents).map(([id, entry]) => ({
    scope: { kind: 'agent', id } as const,
    entry,
  }));
  const workflows = Object.entries(board.workflows).map(([id, entry]) => ({
    scope: { kind: 'workflow', id } as const,
    entry,
  }));
  return [...agents, ...workflows].filter(({ entry }) => entry.paused);
}

function entryOf(board: PauseBoard, scope: PauseScope): PauseEntry | undefined {
  const entries = scope.kind === 'agent' ? board.agents : board.workflows;
  // Own keys only: an agent named `constructor` must not find Object.prototype's.
  return Object.hasOwn(entries, scope.id) ? entries[scope.id] : undefined;
}

function withEntry(board: PauseBoard, scope: PauseScope, entry: PauseEntry): PauseBoard {
  return scope.kind === 'agent'
    ? { ...board, agents: { ...board.agents, [scope.id]: entry } }
    : { ...board, workflows: { ...board.workflows, [scope.id]: entry } };
}

function isNewer(command: PauseCommand, current: PauseEntry): boolean {
  if (command.at !== current.at) return command.at > current.at;
  return command.eventId > current.event_id;
}
