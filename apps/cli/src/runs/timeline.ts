import { formatUsd } from '@warden/contracts';

/*
 * One run's stored events (the rows `audit.timeline` returns, in timeline order) turned into a
 * narrative a person can read: what the agent did, what Warden decided and why, who approved, what
 * each step cost. Pure: rows in, lines out. `data` is the redacted JSON the collector stored, so
 * tool outputs and args appear here exactly as redacted in the log, never more.
 */

/** One event of the timeline, as `warden runs timeline --json` prints it. */
export interface TimelineEntry {
  readonly event_id: string;
  readonly type: string;
  /** RFC 3339 with microseconds, as stored. */
  readonly at: string;
  /** Microseconds since the run's first event. */
  readonly offset_us: number;
  /** The intent (tool or model call) the event belongs to, if any. */
  readonly intent_id: string | null;
  readonly step: number | null;
  readonly tool: string | null;
  /** What happened, in a sentence. */
  readonly text: string;
  /** What the run had spent once this event happened (micro-USD). */
  readonly run_spend_micro_usd: number;
  /** Kinds of redaction the collector applied to this event's data (`email`, …). */
  readonly redactions: readonly string[];
}

/** One intent of the run: its step, its tool and a summary of its args (null for model calls). */
export interface TimelineIntent {
  step: number | null;
  tool: string | null;
  args: string | null;
}

/** A run's timeline: who ran it, and its events in order. */
export interface RunTimeline {
  readonly run_id: string;
  readonly agent_id: string;
  readonly workflow: string;
  readonly started_at: string | null;
  readonly entries: readonly TimelineEntry[];
  /** The run's intents by id. */
  readonly intents: Readonly<Record<string, TimelineIntent>>;
  /** The run's spend after its last event (micro-USD). */
  readonly run_spend_micro_usd: number;
}

type Data = Record<string, unknown>;

/** The longest args summary and output excerpt shown on one line. */
const ARGS_CHARS = 80;
const OUTPUT_CHARS = 120;

/**
 * Builds the timeline of one run from its stored event rows (already in timeline order). The
 * run's spend after each event is what `budget.settled` reported as the run's cost when it carries
 * `run_cost_micro_usd`, else the settlements summed so far.
 */
export function buildTimeline(
  runId: string,
  rows: readonly Record<string, unknown>[],
): RunTimeline {
  const intents = new Map<string, TimelineIntent>();
  const first = rows[0];
  const startUs = first === undefined ? 0 : toMicros(str(first.occurred_at));
  let spend = 0;
  let agentId = '';
  let workflow = '';
  let startedAt: string | null = null;
  const entries: TimelineEntry[] = [];
  for (const row of rows) {
    const type = str(row.type);
    const data = parseData(row.data);
    const at = str(row.occurred_at);
    agentId ||= str(row.agent_id);
    workflow ||= str(row.workflow) || (type === 'run.started' ? str(data.workflow) : '');
    if (type === 'run.started') startedAt ??= at;
    const intentId = str(row.intent_id) || null;
    let intent = intentId === null ? undefined : intents.get(intentId);
    if (intentId !== null && intent === undefined) {
      intent = { step: null, tool: null, args: null };
      intents.set(intentId, intent);
    }
    if (intent !== undefined) {
      intent.step ??= int(data.step) ?? null;
      intent.tool ??= str(row.tool) || str(data.tool) || null;
      intent.args ??= isRecord(data.args) ? summarize(data.args, ARGS_CHARS) : null;
    }
    if (type === 'budget.settled') {
      const runCost = int(data.run_cost_micro_usd);
      spend = runCost ?? spend + (int(row.cost_micro_usd) ?? int(data.cost_micro_usd) ?? 0);
    }
    entries.push({
      event_id: str(row.event_id),
      type,
      at,
      offset_us: Math.max(0, toMicros(at) - startUs),
      intent_id: intentId,
      step: intent?.step ?? null,
      tool: intent?.tool ?? null,
      text: describe(type, row, data, spend),
      run_spend_micro_usd: spend,
      redactions: Array.isArray(row.redactions) ? row.redactions.map(String) : [],
    });
  }
  return {
    run_id: runId,
    agent_id: agentId,
    workflow,
    started_at: startedAt ?? first?.occurred_at?.toString() ?? null,
    entries,
    intents: Object.fromEntries(intents),
    run_spend_micro_usd: spend,
  };
}

/**
 * The timeline as text: one line per event with its offset from the run's first event. The events
 * of one intent are indented under a line naming its step, tool and args; when intents run
 * concurrently and interleave, the heading is repeated where an intent picks up again.
 */
export function renderTimeline(timeline: RunTimeline): string {
  const head = [
    `run ${timeline.run_id}`,
    timeline.agent_id && `agent ${timeline.agent_id}`,
    timeline.workflow && `workflow ${timeline.workflow}`,
    timeline.started_at && `started ${timeline.started_at}`,
    `${timeline.entries.length} events`,
    `spent $${formatUsd(timeline.run_spend_micro_usd)}`,
  ].filter(Boolean);
  const lines = [head.join(' · '), ''];
  const offsets = timeline.entries.map((entry) => formatOffset(entry.offset_us));
  const width = Math.max(0, ...offsets.map((offset) => offset.length));
  const blank = ' '.repeat(width);
  let group: string | null = null;
  const headed = new Set<string>();
  timeline.entries.forEach((entry, i) => {
    const offset = (offsets[i] ?? '').padStart(width);
    if (entry.intent_id === null) {
      group = null;
      lines.push(`${offset}  ${entry.text}`);
      return;
    }
    if (entry.intent_id !== group) {
      group = entry.intent_id;
      const again = headed.has(entry.intent_id);
      headed.add(entry.intent_id);
      lines.push(
        `${blank}  ┌ ${intentHeading(entry.intent_id, timeline.intents[entry.intent_id], again)}`,
      );
    }
    lines.push(`${offset}  │ ${entry.text}`);
  });
  return `${lines.join('\n')}\n`;
}

/**
 * `step 2 · helpdesk.bulk_close(ticket_id=2) · intent 01J…`, or `model call · intent …`; where
 * the intent picks up again after another's events, `step 2 · helpdesk.bulk_close, continued`.
 */
function intentHeading(
  intentId: string,
  intent: TimelineIntent | undefined,
  again: boolean,
): string {
  const tool = intent?.tool ?? null;
  const what =
    tool === null ? 'model call' : `${intent?.step == null ? '' : `step ${intent.step} · `}${tool}`;
  if (again) return `${what}, continued`;
  const args = tool === null || intent?.args == null ? '' : `(${intent.args})`;
  return `${what}${args} · intent ${intentId}`;
}

/** What one event says, in a sentence. */
function describe(type: string, row: Record<string, unknown>, data: Data, spend: number): string {
  const reason = str(row.reason) || str(data.reason);
  switch (type) {
    case 'run.started':
      return `run started${releaseText(data)}${limitsText(data.limits)}`;
    case 'run.ended': {
      const outcome = str(data.outcome);
      return `run ended: ${str(data.status) || 'ended'}${outcome ? ` (${outcome})` : ''}`;
    }
    case 'run.halted':
      return join([
        `run HALTED: ${reason || 'no reason given'}`,
        str(data.by) && `by ${str(data.by)}`,
        str(data.message),
      ]);
    case 'trace.span':
      return join([
        `span ${str(data.kind) || 'other'} "${str(data.name)}"`,
        ms(data.duration_ms),
        isRecord(data.attributes) ? summarize(data.attributes, ARGS_CHARS) : '',
      ]);
    case 'intent.proposed':
      return 'proposed by the agent';
    case 'intent.authenticated': {
      const principal = isRecord(data.principal) ? data.principal : {};
      return join([
        `authenticated as ${str(principal.agent_id) || str(row.agent_id)}`,
        str(principal.owner) && `owner ${str(principal.owner)}`,
      ]);
    }
    case 'policy.decided':
      return join([
        `policy: ${str(row.effect) || str(data.effect)}`,
        policiesText(data.determining_policy_ids, data.policy_version),
        riskText(data.risk),
        reason && `reason ${reason}`,
        ...strings(data.errors).map((error) => `error: ${error}`),
      ]);
    case 'policy.shadow_diverged':
      return `shadow policy v${num(data.shadow_version) ?? '?'} would have said ${str(data.shadow_effect)} (${strings(data.shadow_policy_ids).join(', ') || 'no policy'})`;
    case 'approval.requested':
      return join([
        `approval requested from group ${str(data.group)}`,
        data.separation_of_duties === true &&
          `not the agent's owner${str(data.owner) ? ` ${str(data.owner)}` : ''}`,
        str(data.expires_at) && `expires ${str(data.expires_at)}`,
        strings(data.policy_ids).length > 0 && `by ${strings(data.policy_ids).join(', ')}`,
      ]);
    case 'approval.granted':
    case 'approval.denied':
      return join([
        `${type === 'approval.granted' ? 'APPROVED' : 'approval DENIED'} by ${str(data.approver) || 'unknown'}`,
        str(data.comment) && `"${str(data.comment)}"`,
      ]);
    case 'approval.expired':
      return `approval expired: nobody answered by ${str(data.expires_at)}`;
    case 'budget.reserved': {
      const steps = int(data.run_steps);
      const max = int(data.max_steps);
      const remaining = int(data.run_remaining_micro_usd);
      return join([
        `budget reserved $${formatUsd(int(row.cost_micro_usd) ?? int(data.reserved_micro_usd) ?? 0)}`,
        steps !== undefined && `step ${steps}${max === undefined ? '' : ` of ${max}`}`,
        remaining !== undefined && `$${formatUsd(remaining)} left to reserve`,
      ]);
    }
    case 'budget.settled':
      return join([
        `budget settled $${formatUsd(int(data.cost_micro_usd) ?? 0)}`,
        (int(data.released_micro_usd) ?? 0) > 0 &&
          `released $${formatUsd(int(data.released_micro_usd) ?? 0)}`,
        data.reconciled === true && 'reconciled at the reserved price (no result came)',
        `run spend $${formatUsd(spend)}`,
      ]);
    case 'tool.started':
      return `tool started (attempt ${num(data.attempt) ?? 1})`;
    case 'intent.resolved':
      return resolvedText(row, data, reason);
    case 'model.requested':
      return `model requested for ${str(data.task_class)}, ~${num(data.estimated_tokens) ?? 0} tokens`;
    case 'model.routed':
      return join([
        `model routed: ${str(data.model)}`,
        num(data.tier) !== undefined && `tier ${num(data.tier)}`,
        str(data.reason),
        `reserved $${formatUsd(int(data.estimated_micro_usd) ?? 0)}`,
      ]);
    case 'model.usage':
      return join([
        `model used: ${str(data.model)}`,
        `${num(data.input_tokens) ?? 0} tokens in, ${num(data.output_tokens) ?? 0} out`,
        ms(data.latency_ms),
      ]);
    default:
      return join([type, summarize(data, OUTPUT_CHARS)]);
  }
}

function resolvedText(row: Record<string, unknown>, data: Data, reason: string): string {
  const status = str(row.status) || str(data.status);
  const stage = str(row.stage) || str(data.stage);
  const duration = ms(data.duration_ms);
  const upstream = num(data.upstream_status);
  const head =
    status === 'executed' || status === 'failed' || status === 'in_doubt'
      ? `${status.toUpperCase()}${duration === '' ? '' : ` in ${duration}`}${upstream === undefined ? '' : ` (upstream ${upstream})`}`
      : `${status.toUpperCase()} at ${stage}`;
  const details = Array.isArray(data.details)
    ? data.details
        .filter(isRecord)
        .map((detail) => `${str(detail.path)}: ${str(detail.message)}`)
        .join('; ')
    : '';
  return join([
    head,
    reason && `reason ${reason}`,
    strings(data.policy_ids).length > 0 && `policies ${strings(data.policy_ids).join(', ')}`,
    str(data.message),
    details,
    data.output !== undefined && `output ${shorten(JSON.stringify(data.output), OUTPUT_CHARS)}`,
  ]);
}

/** ` · release v2 (canary 01J…, canary side)`: what drove the run, and which canary chose it. */
function releaseText(data: Record<string, unknown>): string {
  const version = str(data.version);
  const canary = isRecord(data.canary) ? data.canary : undefined;
  const chosen = canary === undefined ? '' : ` (canary ${str(canary.id)}, ${str(canary.arm)} side)`;
  return version === '' && chosen === '' ? '' : ` · release ${version || '(none)'}${chosen}`;
}

function limitsText(limits: unknown): string {
  if (!isRecord(limits)) return '';
  const parts = [
    int(limits.max_steps) !== undefined && `${int(limits.max_steps)} steps`,
    int(limits.budget_micro_usd) !== undefined &&
      `budget $${formatUsd(int(limits.budget_micro_usd) ?? 0)}`,
    int(limits.max_tokens) !== undefined && `${int(limits.max_tokens)} tokens`,
    int(limits.max_duration_ms) !== undefined && `${int(limits.max_duration_ms)} ms`,
  ].filter((part): part is string => typeof part === 'string');
  return parts.length === 0 ? '' : ` · declared limits: ${parts.join(', ')}`;
}

function policiesText(ids: unknown, version: unknown): string {
  const list = strings(ids);
  const v = num(version) === undefined ? '' : ` (policy v${num(version)})`;
  return list.length === 0 ? `no policy matched${v}` : `by ${list.join(', ')}${v}`;
}

function riskText(risk: unknown): string {
  if (!isRecord(risk)) return '';
  const flags = Object.entries(risk)
    .filter(([key, value]) => value === true && key !== 'raised')
    .map(([key]) => key)
    .concat(strings(risk.raised));
  return flags.length === 0 ? '' : `risk ${flags.join(', ')}`;
}

/** `ticket_id=42 status=solved`, cut to `max` characters. */
export function summarize(record: Data, max: number): string {
  const parts = Object.entries(record).map(
    ([key, value]) =>
      `${key}=${typeof value === 'string' && !/\s/.test(value) ? value : JSON.stringify(value)}`,
  );
  return shorten(parts.join(' '), max);
}

function shorten(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** `+0.012s`, `+2m03.456s`, `+1h02m03s`. */
export function formatOffset(us: number): string {
  const ms = Math.floor(us / 1000);
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = (ms % 60_000) / 1000;
  if (hours > 0)
    return `+${hours}h${String(minutes).padStart(2, '0')}m${String(Math.floor(seconds)).padStart(2, '0')}s`;
  if (minutes > 0) return `+${minutes}m${seconds.toFixed(3).padStart(6, '0')}s`;
  return `+${seconds.toFixed(3)}s`;
}

/** Microseconds since the epoch of an RFC 3339 time with up to 9 fractional digits. */
function toMicros(at: string): number {
  const match = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})$/.exec(at);
  if (match === null) return 0;
  const [, base = '', fraction = '', zone = 'Z'] = match;
  const seconds = Date.parse(`${base}${zone}`);
  return Number.isNaN(seconds) ? 0 : seconds * 1000 + Number(fraction.padEnd(6, '0').slice(0, 6));
}

/** Milliseconds as measured (often fractional), to a tenth: `254.4 ms`; '' when absent. */
function ms(value: unknown): string {
  const n = num(value);
  return n === undefined ? '' : `${Math.round(n * 10) / 10} ms`;
}

function join(parts: readonly (string | false | undefined)[]): string {
  return parts
    .filter((part): part is string => typeof part === 'string' && part !== '')
    .join(' · ');
}

function parseData(value: unknown): Data {
  if (isRecord(value)) return value;
  if (typeof value !== 'string' || value === '') return {};
  try {
    const parsed: unknown = JSON.parse(value);
    return isRecord(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

function isRecord(value: unknown): value is Data {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** A safe integer from a number or a 64-bit integer quoted as a string. */
function int(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) ? n : undefined;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item) => typeof item === 'string') : [];
}
