/**
 * Daily budgets (per agent, per workflow) reset at a day boundary. The day an instant belongs to
 * is part of the account's KV key, so a new day is simply a new, empty account: nothing has to
 * run at midnight, and yesterday's account stays readable for reporting.
 */

/** The widest offset in use anywhere (UTC−12:00 … UTC+14:00), in minutes. */
const MAX_OFFSET_MINUTES = 14 * 60;
const MS_PER_MINUTE = 60_000;
const MS_PER_DAY = 86_400_000;

/**
 * Where a day begins, as minutes east of UTC: 0 (the default) is UTC midnight, 60 is midnight in
 * UTC+01:00, -300 is midnight in UTC−05:00. A fixed offset rather than an IANA zone: budgets reset
 * at the same instant every day, with no 23- or 25-hour days at a DST change.
 */
export interface DayBoundary {
  readonly offsetMinutes: number;
}

/** Days start at UTC midnight. */
export const UTC_DAY: DayBoundary = { offsetMinutes: 0 };

/**
 * The day (`YYYY-MM-DD`) that the instant `atMs` (epoch milliseconds) belongs to.
 *
 * @throws RangeError when `atMs` is not a finite integer or the offset is out of range.
 */
export function dayOf(atMs: number, boundary: DayBoundary = UTC_DAY): string {
  assertInstant(atMs);
  const shifted = atMs + offsetMs(boundary);
  return new Date(shifted).toISOString().slice(0, 10);
}

/**
 * When the day after the one containing `atMs` begins (epoch milliseconds): the instant a daily
 * budget resets, for a denial message ("resets at …").
 */
export function nextDayStart(atMs: number, boundary: DayBoundary = UTC_DAY): number {
  assertInstant(atMs);
  const offset = offsetMs(boundary);
  const shifted = atMs + offset;
  // Floor division, correct for instants before 1970 as well.
  const dayIndex = Math.floor(shifted / MS_PER_DAY);
  return (dayIndex + 1) * MS_PER_DAY - offset;
}

/** The scope kinds an account can belong to, narrowest first (see `RESERVATION_ORDER`). */
export type ScopeKind = 'run' | 'agent' | 'workflow';

/**
 * Account keys, valid as NATS KV keys: `run.<run_id>`, `agent.<agent_id>.<day>`,
 * `workflow.<workflow>.<day>`. Dots, not colons: a colon is not allowed in a KV key. Ids are
 * subject tokens (no dots), so a key splits back unambiguously, and `agent.<id>.>` watches every
 * day of one agent.
 */
export type AccountKey = string;

/** The key of a run's account. */
export function runAccountKey(runId: string): AccountKey {
  return `run.${runId}`;
}

/** The key of an agent's account for the day containing `atMs`. */
export function agentDayKey(agentId: string, atMs: number, boundary?: DayBoundary): AccountKey {
  return `agent.${agentId}.${dayOf(atMs, boundary)}`;
}

/** The key of a workflow's account for the day containing `atMs`. */
export function workflowDayKey(workflow: string, atMs: number, boundary?: DayBoundary): AccountKey {
  return `workflow.${workflow}.${dayOf(atMs, boundary)}`;
}

/** The scope kind a key belongs to, or `undefined` for a key no builder above produces. */
export function scopeOfKey(key: AccountKey): ScopeKind | undefined {
  const kind = key.slice(0, key.indexOf('.'));
  return kind === 'run' || kind === 'agent' || kind === 'workflow' ? kind : undefined;
}

function offsetMs(boundary: DayBoundary): number {
  const { offsetMinutes } = boundary;
  if (!Number.isInteger(offsetMinutes) || Math.abs(offsetMinutes) > MAX_OFFSET_MINUTES) {
    throw new RangeError(
      `day boundary offset must be whole minutes within ±${MAX_OFFSET_MINUTES}: ${offsetMinutes}`,
    );
  }
  return offsetMinutes * MS_PER_MINUTE;
}

function assertInstant(atMs: number): void {
  if (!Number.isSafeInteger(atMs))
    throw new RangeError(`instant must be epoch milliseconds: ${atMs}`);
}
