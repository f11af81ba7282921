import {
  BudgetSetting,
  formatMicros,
  type DailySpend,
  type Envelope,
  type PauseTarget,
  type PausedView,
} from '@warden/contracts';
import type { EventPublisher } from '@warden/messaging';
import type { HumanCaller } from '@warden/service';
import { ulid } from 'ulid';
import {
  configureBudget,
  configuredView,
  pauseScope,
  resumeScope,
  type ChangeStamp,
  type GovernorControls,
} from '../domain/controls.js';
import { listPaused, type PauseScope } from '../domain/guards/index.js';
import {
  agentDayKey,
  dayOf,
  remainingOf,
  usedOf,
  workflowDayKey,
  type DayBoundary,
} from '../domain/ledger/index.js';
import type { ControlsStore } from '../infra/controls-store.js';
import type { DailyAccounts } from '../infra/daily-accounts.js';

const MS_PER_DAY = 86_400_000;

/**
 * What operators do to the governor (`warden budgets`, `warden pause`): each change is published
 * to the log first (who, when, why), then applied to the controls before the answer, so it holds
 * from the next intent on. The projection (ControlsHandler) applies the same event again from the
 * log, which changes nothing: a change is applied only when it is newer than the one in force.
 */
export class GovernorDesk {
  constructor(
    private readonly controls: ControlsStore,
    private readonly daily: DailyAccounts,
    private readonly publisher: EventPublisher,
    private readonly day: DayBoundary,
  ) {}

  async setBudget(setting: BudgetSetting, caller: HumanCaller) {
    const by = `human:${caller.human_id}`;
    const event = this.publisher.build({ ...budgetConfiguredEvent(setting, by), eventId: ulid() });
    await this.publisher.publish(event);
    const { controls, changed } = await this.controls.update((current) =>
      configureBudget(current, setting, stampOf(event, by)),
    );
    return { budgets: configuredView(controls), changed };
  }

  async showBudgets(request: { agent_id?: string; workflow?: string; day?: string }) {
    const controls = await this.controls.read();
    const day = request.day ?? dayOf(Date.now(), this.day);
    const spend: DailySpend[] = [];
    if (request.agent_id !== undefined) {
      spend.push(await this.spendOf('agent', request.agent_id, day));
    }
    if (request.workflow !== undefined) {
      spend.push(await this.spendOf('workflow', request.workflow, day));
    }
    return { budgets: configuredView(controls), spend };
  }

  async pause(target: PauseTarget, reason: string, caller: HumanCaller) {
    return this.toggle(target, reason, caller, true);
  }

  async resume(target: PauseTarget, reason: string | undefined, caller: HumanCaller) {
    return this.toggle(target, reason, caller, false);
  }

  async listPaused(controls?: GovernorControls) {
    const current = controls ?? (await this.controls.read());
    return {
      paused: pausedViews(current),
      degraded: Object.entries(current.degraded)
        .map(([tool, since]) => ({
          tool,
          since: since.at,
          ...(since.reason === undefined ? {} : { reason: since.reason }),
        }))
        .sort((a, b) => a.tool.localeCompare(b.tool)),
    };
  }

  private async toggle(
    target: PauseTarget,
    reason: string | undefined,
    caller: HumanCaller,
    paused: boolean,
  ): Promise<{ changed: boolean; paused: PausedView[] }> {
    const by = `human:${caller.human_id}`;
    const scope = scopeOf(target);
    const data = { by, ...(reason === undefined ? {} : { reason }) };
    const event =
      scope.kind === 'agent'
        ? this.publisher.build({
            type: paused ? 'agent.paused' : 'agent.unpaused',
            eventId: ulid(),
            agentId: scope.id,
            data: { agent_id: scope.id, ...data },
          })
        : this.publisher.build({
            type: paused ? 'workflow.paused' : 'workflow.resumed',
            eventId: ulid(),
            workflow: scope.id,
            data: { workflow: scope.id, ...data },
          });
    await this.publisher.publish(event);
    const stamp = stampOf(event, by);
    const { controls, changed } = await this.controls.update((current) =>
      paused
        ? pauseScope(current, scope, stamp, reason)
        : resumeScope(current, scope, stamp, reason),
    );
    return { changed, paused: pausedViews(controls) };
  }

  private async spendOf(scope: 'agent' | 'workflow', id: string, day: string): Promise<DailySpend> {
    const start = Date.parse(`${day}T00:00:00.000Z`) - this.day.offsetMinutes * 60_000;
    const key =
      scope === 'agent' ? agentDayKey(id, start, this.day) : workflowDayKey(id, start, this.day);
    const account = await this.daily.read(key);
    const used = account === undefined ? { micro_usd: 0, tokens: 0 } : usedOf(account);
    const booked = account?.booked ?? { micro_usd: 0, tokens: 0 };
    const remaining = account === undefined ? undefined : remainingOf(account).micro_usd;
    return {
      scope,
      id,
      day,
      ...(account?.limit.micro_usd === undefined
        ? {}
        : { limit_micro_usd: account.limit.micro_usd }),
      ...(account?.limit.tokens === undefined ? {} : { limit_tokens: account.limit.tokens }),
      booked_micro_usd: booked.micro_usd,
      reserved_micro_usd: used.micro_usd - booked.micro_usd,
      booked_tokens: booked.tokens,
      ...(remaining === undefined ? {} : { remaining_micro_usd: remaining }),
      resets_at: formatMicros((start + MS_PER_DAY) * 1000),
    };
  }
}

/** The `budget.configured` event of a setting (`scope_id` `default` for the run defaults). */
export function budgetConfiguredEvent(setting: BudgetSetting, by: string) {
  const { scope, ...fields } = setting;
  const limits: Record<string, number> = {};
  let scopeId = 'default';
  let rateLimits: Record<string, { calls: number; window_ms: number }> | undefined;
  for (const [field, value] of Object.entries(fields)) {
    if (field === 'agent_id' || field === 'workflow') scopeId = value as string;
    else if (field === 'rate_limits') rateLimits = value as typeof rateLimits;
    else if (typeof value === 'number') limits[field] = value;
  }
  return {
    type: 'budget.configured' as const,
    ...(scope === 'agent' ? { agentId: scopeId } : {}),
    ...(scope === 'workflow' ? { workflow: scopeId } : {}),
    data: {
      scope,
      scope_id: scopeId,
      limits,
      by,
      ...(rateLimits === undefined ? {} : { rate_limits: rateLimits }),
    },
  };
}

/** The setting a `budget.configured` event states, or `undefined` when it does not parse. */
export function settingOf(event: Envelope<'budget.configured'>): BudgetSetting | undefined {
  const { scope, scope_id: id, limits, rate_limits: rateLimits } = event.data;
  const parsed = BudgetSetting.safeParse({
    scope,
    ...(scope === 'agent' ? { agent_id: id } : {}),
    ...(scope === 'workflow' ? { workflow: id } : {}),
    ...limits,
    ...(rateLimits === undefined ? {} : { rate_limits: rateLimits }),
  });
  return parsed.success ? parsed.data : undefined;
}

/** The stamp a change event gives: its time, id and author. */
export function stampOf(event: Envelope, by: string): ChangeStamp {
  return { at: event.occurred_at, event_id: event.event_id, by };
}

function scopeOf(target: PauseTarget): PauseScope {
  return target.scope === 'agent'
    ? { kind: 'agent', id: target.agent_id }
    : { kind: 'workflow', id: target.workflow };
}

function pausedViews(controls: GovernorControls): PausedView[] {
  return listPaused(controls.pauses).map(({ scope, entry }) => ({
    scope: scope.kind,
    id: scope.id,
    by: entry.by,
    at: entry.at,
    ...(entry.reason === undefined ? {} : { reason: entry.reason }),
  }));
}
