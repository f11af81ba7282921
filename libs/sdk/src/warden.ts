import { hostname } from 'node:os';
import type { NatsConnection } from '@nats-io/transport-node';
import { buildEvent, isSubjectToken, SUBJECT_TOKEN_RULE } from '@warden/contracts';
import { connectNats, EventPublisher } from '@warden/messaging';
import { ulid } from 'ulid';
import { WardenConnectionError } from './errors.js';
import { OutcomeListener } from './outcome-listener.js';
import { Run, type RunContext } from './run.js';
import { TokenSource } from './token-source.js';

/** The SDK's version, stamped on the events it publishes. */
export const SDK_VERSION = '0.1.0';

/** Options of {@link Warden.connect}. */
export interface WardenOptions {
  /** NATS URL(s) of the Warden deployment, e.g. `nats://127.0.0.1:4222`. */
  servers: string | string[];
  /** The deployment's env (`dev`, `staging`, `prod`). */
  env: string;
  /** This agent's id, as registered (a subject token: `triage-bot`). */
  agentId: string;
  /** A name for this client in logs and events. Default `<host>-<pid>`. */
  name?: string;
  /** How long `run.call` waits for an outcome by default. Default 30 s. */
  callTimeoutMs?: number;
}

/** Options of {@link Warden.startRun}. */
export interface StartRunOptions {
  /** The run's id; default `run-<ulid>`. Must be a subject token. */
  runId?: string;
  /** The workflow this run belongs to (budgets and kill switches apply per workflow). */
  workflow?: string;
  /** Limits the run declares for itself; they can only tighten the configured ones. */
  limits?: { maxSteps?: number };
}

/**
 * An agent's connection to Warden: it fetches and refreshes the agent's short-lived credential,
 * proposes actions, and receives their outcomes.
 *
 * @example
 * const warden = await Warden.connect({ servers: 'nats://127.0.0.1:4222', env: 'dev', agentId: 'triage-bot' });
 * const run = await warden.startRun({ workflow: 'support-triage' });
 * const { output } = await run.call('echo', { text: 'hello' });
 * await run.end({ status: 'succeeded' });
 * await warden.close();
 */
export class Warden {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly context: RunContext,
    private readonly closing: AbortController,
  ) {}

  /**
   * Connects, gets a credential from the identity broker and starts listening for outcomes.
   *
   * @throws WardenConnectionError when NATS or the identity broker does not answer, with what to do.
   */
  static async connect(options: WardenOptions): Promise<Warden> {
    for (const [field, value] of [
      ['env', options.env],
      ['agentId', options.agentId],
    ] as const) {
      if (!isSubjectToken(value)) {
        throw new WardenConnectionError(`${field} ${JSON.stringify(value)} ${SUBJECT_TOKEN_RULE}`);
      }
    }
    const name = options.name ?? `${hostname()}-${process.pid}`;
    let nc: NatsConnection;
    try {
      nc = await connectNats({ servers: options.servers, name: `sdk ${options.agentId}` });
    } catch (error) {
      throw new WardenConnectionError(error instanceof Error ? error.message : String(error), {
        cause: error,
      });
    }
    try {
      const tokens = new TokenSource(nc, options.env, options.agentId);
      await tokens.token();
      const outcomes = await OutcomeListener.start(nc, options.env, options.agentId);
      const publisher = new EventPublisher(nc, {
        env: options.env,
        producer: { service: 'sdk', instance: name.slice(0, 128), version: SDK_VERSION },
      });
      const closing = new AbortController();
      const context: RunContext = {
        agentId: options.agentId,
        publisher,
        outcomes,
        tokens,
        callTimeoutMs: options.callTimeoutMs ?? 30_000,
        closed: closing.signal,
      };
      return new Warden(nc, context, closing);
    } catch (error) {
      await nc.close();
      throw error;
    }
  }

  /** The agent this client acts for. */
  get agentId(): string {
    return this.context.agentId;
  }

  /** Starts a run (`run.started`) and returns it; its calls are counted against its limits. */
  async startRun(options: StartRunOptions = {}): Promise<Run> {
    const runId = options.runId ?? `run-${ulid().toLowerCase()}`;
    if (!isSubjectToken(runId))
      throw new TypeError(`runId ${JSON.stringify(runId)} ${SUBJECT_TOKEN_RULE}`);
    const { publisher, agentId } = this.context;
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
          ...(options.limits?.maxSteps === undefined
            ? {}
            : { limits: { max_steps: options.limits.maxSteps } }),
        },
      }),
    );
    return new Run(this.context, runId, options.workflow);
  }

  /**
   * A handle on a run started earlier (by this process before a restart, or by another client of
   * the same agent). Calls with the `intentId` of an earlier call return that call's outcome.
   */
  resumeRun(runId: string, options: { workflow?: string; nextStep?: number } = {}): Run {
    if (!isSubjectToken(runId))
      throw new TypeError(`runId ${JSON.stringify(runId)} ${SUBJECT_TOKEN_RULE}`);
    return new Run(this.context, runId, options.workflow, options.nextStep ?? 1);
  }

  /** Stops listening, rejects calls still waiting, and drains the connection. */
  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort(new WardenConnectionError('the Warden client was closed'));
    this.context.outcomes.close();
    if (!this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
  }
}
