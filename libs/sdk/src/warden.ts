import { hostname } from 'node:os';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  buildEvent,
  isSubjectToken,
  parseUsd,
  ReleaseVersion,
  SUBJECT_TOKEN_RULE,
  type Envelope,
} from '@warden/contracts';
import { connectNats, EventPublisher } from '@warden/messaging';
import { ulid } from 'ulid';
import { connectAgent, type ScopedNatsOptions } from './agent-connection.js';
import { CallRegistry } from './call-scope.js';
import { parseDuration, type Duration } from './duration.js';
import { WardenConnectionError } from './errors.js';
import { fetchRecording } from './load-recording.js';
import { parseRecording } from './recording.js';
import { assignRelease } from './release-assignment.js';
import { ReplayRun } from './replay-run.js';
import { OutcomeListener } from './outcome-listener.js';
import { LiveRun, type Run, type RunContext } from './run.js';
import type { AgentCredential } from './token-source.js';

/** The SDK's version, stamped on the events it publishes. */
export const SDK_VERSION = '0.1.0';

/** How long one publish attempt waits for JetStream's ack before it is tried again. */
const PUBLISH_ATTEMPT_TIMEOUT_MS = 5_000;
/** How long `close()` lets the connection drain before it simply closes it. */
const DRAIN_WAIT_MS = 500;

/** Options of {@link Warden.connect}. */
export interface WardenOptions {
  /** NATS URL(s) of the Warden deployment, e.g. `nats://127.0.0.1:4222`. */
  servers: string | string[];
  /** The deployment's env (`dev`, `staging`, `prod`). */
  env: string;
  /** This agent's id, as registered (a subject token: `triage-bot`). */
  agentId: string;
  /**
   * How the agent proves who it is: `{ clientSecret }` (shown once at registration), or
   * `{ privateKey, kid? }` for an agent registered with a public key. Never logged.
   */
  credential: AgentCredential;
  /** A name for this client in events (`producer.instance`). Default `<host>-<pid>`. */
  name?: string;
  /** How long `run.call` waits for an outcome by default, in ms. Default 30,000. */
  callTimeoutMs?: number;
  /**
   * Scoped NATS access (a deployment from `warden nats setup`): connect with the bootstrap
   * credential, get this agent's own short-lived NATS credential with its first token, and use
   * that from then on. Leave it out for an open NATS server (`npm start`).
   */
  nats?: ScopedNatsOptions;
}

/** Options of {@link Warden.startRun}. */
export interface StartRunOptions {
  /** The run's id; default `run-<ulid in lower case>`. Must be a subject token. */
  runId?: string;
  /** The workflow this run belongs to (budgets and kill switches apply per workflow). */
  workflow?: string;
  /** Limits the run declares for itself; they can only tighten the configured ones. */
  limits?: RunLimitOptions;
  /**
   * The release this runtime runs when the workflow has neither a canary nor a promoted release
   * (`v1`; letters, digits, `.`, `_`, `-`). The run's {@link Run.version} is the one to use.
   */
  version?: string;
}

/** The limits a run may declare for itself ({@link StartRunOptions.limits}). */
export interface RunLimitOptions {
  /** The most governed calls the run may make (then {@link StepCapReachedError}). */
  maxSteps?: number;
  /**
   * The most the run may spend, tool calls and model calls together, in USD as a decimal
   * (`'0.50'` or `0.5`, at most 6 decimals); then {@link BudgetExceededError} (`run_budget`, or
   * `budget_exhausted` for a model call).
   */
  budgetUsd?: string | number;
  /** The run's wall-clock time, as a duration (`'15m'`) or ms; past it calls are denied `run_budget`. */
  maxDuration?: Duration;
}

/** Options of {@link Warden.resumeRun}. */
export interface ResumeRunOptions {
  /** The step the next new call gets (1-based). Default 1. */
  nextStep?: number;
  /** The workflow the run belongs to, as given to `startRun`. */
  workflow?: string;
  /** The run's release, as `startRun` gave it ({@link Run.version}). */
  version?: string;
}

/**
 * Options of {@link Warden.replay}: a recording at hand (the parsed JSON of
 * `warden runs recording <run> --purpose …`), or where to fetch one.
 */
export type ReplayOptions =
  | {
      /** A recording, e.g. `JSON.parse(readFileSync('run-42.json', 'utf8'))`; checked on load. */
      recording: unknown;
    }
  | {
      /** NATS URL(s) of the deployment that recorded the run. */
      servers: string | string[];
      /** The run's env. */
      env: string;
      /** The recorded run. */
      runId: string;
      /**
       * A human token with the `admin` role (`WARDEN_TOKEN`, or `warden login`'s): the executor
       * opens sealed outputs for admins only. Never logged.
       */
      token: string;
      /** Why, for the log: the executor records `run.outputs_opened` with who and this. */
      purpose: string;
    };

/**
 * An agent's connection to Warden: it fetches and refreshes the agent's short-lived credential,
 * proposes actions, and receives their outcomes.
 *
 * @example
 * const warden = await Warden.connect({
 *   servers: 'nats://127.0.0.1:4222',
 *   env: 'dev',
 *   agentId: 'triage-bot',
 *   credential: { clientSecret: process.env.WARDEN_CLIENT_SECRET ?? '' },
 * });
 * const run = await warden.startRun({ workflow: 'support-triage' });
 * const { output } = await run.call('echo', { text: 'hello' });
 * await run.end({ status: 'succeeded' });
 * await warden.close();
 */
export class Warden {
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly context: RunContext,
    /** The env this client acts in. */
    readonly env: string,
  ) {}

  /**
   * Connects to NATS, gets a credential from the identity broker and starts listening for this
   * agent's outcomes, in that order: once it resolves, no outcome of a later call can be missed.
   *
   * @throws WardenConnectionError when NATS or the identity broker does not answer, the env was
   *   never started, or an option is invalid; its message says what to do.
   */
  static async connect(options: WardenOptions): Promise<Warden> {
    checkOptions(options);
    const { env, agentId } = options;
    const { nc, tokens, connection, inboxPrefix, scoped } = await connectAgent(options);
    try {
      const outcomes = await OutcomeListener.start(nc, env, agentId, {
        reconnects: connection,
        ...(inboxPrefix === undefined ? {} : { inboxPrefix }),
        // An agent on its own scoped connection has no grant to delete consumers; the server
        // drops them once nobody listens.
        deleteConsumers: !scoped,
      }).catch((error: unknown) => {
        if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) {
          throw WardenConnectionError.envNotProvisioned(env, error);
        }
        throw error;
      });
      const name = options.name ?? `${hostname()}-${process.pid}`;
      const publisher = new EventPublisher(nc, {
        env,
        producer: { service: 'sdk', instance: name.slice(0, 128), version: SDK_VERSION },
        timeoutMs: PUBLISH_ATTEMPT_TIMEOUT_MS,
      });
      const context: RunContext = {
        agentId,
        publisher,
        outcomes,
        tokens,
        calls: new CallRegistry(),
        connection,
        callTimeoutMs: options.callTimeoutMs ?? 30_000,
      };
      return new Warden(nc, context, env);
    } catch (error) {
      tokens.close();
      await nc.close();
      throw error;
    }
  }

  /**
   * A run that replays a recorded one instead of acting (DESIGN §8, tool replay): each `call`
   * returns the recorded step's answer — its output (raw, for a tool that seals it) or the typed
   * error the live call threw — and throws a {@link NonDeterminismError} naming the step when the
   * agent asks for another tool or other args, or for more steps than were recorded. Nothing is
   * published and no stage sees it, so the agent's new prompt or model meets yesterday's world
   * with no side effect. `end()` reports whether every recorded step was asked for.
   *
   * Given `{ servers, env, runId, token, purpose }` it reads the run's timeline from the trace
   * collector and has the tool executor open its sealed outputs (logged as `run.outputs_opened`),
   * then closes that connection; given `{ recording }` it needs no connection at all.
   *
   * @throws RecordingError when the recording cannot be read, opened or parsed.
   * @example
   * const replay = await Warden.replay({
   *   recording: JSON.parse(readFileSync('run-42.json', 'utf8')),
   * });
   * await new TriageAgent(replay).triageQueue();
   * const { complete } = await replay.end({ status: 'succeeded' });
   */
  static async replay(options: ReplayOptions): Promise<ReplayRun> {
    if ('recording' in options) return new ReplayRun(parseRecording(options.recording));
    const { servers, env, runId, token, purpose } = options;
    checkToken('env', env);
    checkToken('runId', runId);
    const nc = await connectNats({ servers, name: 'warden-sdk-replay' });
    try {
      return new ReplayRun(await fetchRecording(nc, { env, runId, token, purpose }));
    } finally {
      await nc.close();
    }
  }

  /** The agent this client acts for. */
  get agentId(): string {
    return this.context.agentId;
  }

  /**
   * Starts a run (publishes `run.started`) and returns it; its calls are counted against its
   * limits. For a run of a workflow it first asks which release the run gets: a canary of the
   * workflow (`warden canary start`) gives its version to its share of new runs, always the same
   * for the same run id; else the workflow's promoted release; else `options.version`. The run's
   * `version` and `canary` say which, and `run.started` logs them. When the policy service does not
   * answer within 2 s the run keeps `options.version`.
   */
  async startRun(options: StartRunOptions = {}): Promise<Run> {
    const runId = options.runId ?? `run-${ulid().toLowerCase()}`;
    checkToken('runId', runId);
    if (options.workflow !== undefined) checkToken('workflow', options.workflow);
    checkVersion(options.version);
    const { publisher, agentId, calls } = this.context;
    if (calls.isClosed) throw WardenConnectionError.closed();
    const limits = runLimits(options.limits);
    const assigned =
      options.workflow === undefined
        ? undefined
        : await assignRelease(this.nc, this.env, options.workflow, runId);
    const version = assigned?.version ?? options.version;
    const release = {
      ...(version === undefined ? {} : { version }),
      ...(assigned?.canary === undefined ? {} : { canary: assigned.canary }),
    };
    await publisher.publish(
      buildEvent({
        type: 'run.started',
        env: publisher.env,
        eventId: ulid(),
        runId,
        agentId,
        ...(options.workflow === undefined ? {} : { workflow: options.workflow }),
        producer: publisher.producer,
        data: {
          ...(options.workflow === undefined ? {} : { workflow: options.workflow }),
          ...(limits === undefined ? {} : { limits }),
          ...release,
        },
      }),
    );
    return new LiveRun(this.context, runId, options.workflow, 1, release);
  }

  /**
   * A handle on a run started earlier (by this process before a restart, or by another client of
   * the same agent); publishes nothing. A call with the `intentId` of an earlier call returns that
   * call's outcome, even when it was published before this client connected.
   */
  resumeRun(runId: string, options: ResumeRunOptions = {}): Run {
    checkToken('runId', runId);
    if (options.workflow !== undefined) checkToken('workflow', options.workflow);
    checkVersion(options.version);
    const nextStep = options.nextStep ?? 1;
    if (!Number.isInteger(nextStep) || nextStep < 1) {
      throw new TypeError(`nextStep must be a positive integer, got ${nextStep}`);
    }
    return new LiveRun(
      this.context,
      runId,
      options.workflow,
      nextStep,
      options.version === undefined ? {} : { version: options.version },
    );
  }

  /**
   * Closes the client: calls still waiting reject with a `WardenConnectionError` (code
   * `closed`; their outcomes stay on the stream for a later call with the same intent id), the
   * outcome readers stop, and the connection drains. Takes well under a second, even with the
   * NATS server gone. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const { calls, outcomes, connection, tokens } = this.context;
    calls.close();
    tokens.close();
    if (this.nc.isClosed()) return;
    if (!connection.isConnected) {
      // Nothing can be deleted or drained without a server; its consumers expire on their own.
      await outcomes.close({ deleteConsumers: false });
      await this.nc.close();
      return;
    }
    await outcomes.close({ deleteConsumers: true });
    // A drain waits for the server to confirm; one that just went away must not hold close() up.
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      this.nc.drain().then(
        () => true,
        () => false,
      ),
      new Promise<false>((resolve) => {
        timer = setTimeout(resolve, DRAIN_WAIT_MS, false);
      }),
    ]);
    clearTimeout(timer);
    if (!drained && !this.nc.isClosed()) await this.nc.close();
  }
}

function checkOptions(options: WardenOptions): void {
  for (const [field, value] of [
    ['env', options.env],
    ['agentId', options.agentId],
  ] as const) {
    if (typeof value !== 'string' || !isSubjectToken(value)) {
      throw new WardenConnectionError(
        'invalid_options',
        `${field} ${JSON.stringify(value)} ${SUBJECT_TOKEN_RULE}`,
      );
    }
  }
  if (!isCredential(options.credential)) {
    throw new WardenConnectionError(
      'invalid_options',
      'credential must be { clientSecret } or { privateKey, kid? }: the agent’s registered credential',
    );
  }
  const { callTimeoutMs } = options;
  if (callTimeoutMs !== undefined && (!(callTimeoutMs > 0) || !Number.isFinite(callTimeoutMs))) {
    throw new WardenConnectionError(
      'invalid_options',
      `callTimeoutMs must be a positive number of milliseconds, got ${callTimeoutMs}`,
    );
  }
  const { nats } = options;
  if (
    nats !== undefined &&
    (typeof nats !== 'object' ||
      typeof nats.bootstrapCreds !== 'string' ||
      nats.bootstrapCreds.trim() === '')
  ) {
    throw new WardenConnectionError(
      'invalid_options',
      'nats must be { bootstrapCreds }: the path of creds/bootstrap.creds from `warden nats setup`, or its contents',
    );
  }
}

function isCredential(value: unknown): value is AgentCredential {
  if (typeof value !== 'object' || value === null) return false;
  const { clientSecret, privateKey } = value as { clientSecret?: unknown; privateKey?: unknown };
  if (typeof clientSecret === 'string') return clientSecret.length > 0;
  return typeof privateKey === 'object' && privateKey !== null;
}

function checkToken(field: string, value: string): void {
  if (!isSubjectToken(value))
    throw new TypeError(`${field} ${JSON.stringify(value)} ${SUBJECT_TOKEN_RULE}`);
}

function checkVersion(version: string | undefined): void {
  if (version === undefined) return;
  const checked = ReleaseVersion.safeParse(version);
  if (!checked.success) {
    throw new TypeError(`version ${JSON.stringify(version)} ${checked.error.issues[0]?.message}`);
  }
}

type RunLimits = NonNullable<Envelope<'run.started'>['data']['limits']>;

/** The declared limits as `run.started` carries them; `undefined` when none is declared. */
function runLimits(options: RunLimitOptions | undefined): RunLimits | undefined {
  if (options === undefined) return undefined;
  const limits: { -readonly [K in keyof RunLimits]: RunLimits[K] } = {};
  if (options.maxSteps !== undefined) limits.max_steps = options.maxSteps;
  if (options.budgetUsd !== undefined) {
    const parsed = parseUsd(String(options.budgetUsd));
    if (!parsed.ok) {
      throw new TypeError(
        `budgetUsd must be a USD amount in decimal such as '0.50', got ${JSON.stringify(options.budgetUsd)}`,
      );
    }
    limits.budget_micro_usd = parsed.microUsd;
  }
  if (options.maxDuration !== undefined) {
    limits.max_duration_ms = parseDuration(options.maxDuration, 'maxDuration');
  }
  return Object.keys(limits).length === 0 ? undefined : limits;
}
