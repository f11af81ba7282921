import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '@warden/messaging';
import { identityTestEnv, registerAgents, seedBuiltins } from '@warden/testing';
import { startService, type ServiceProcess } from './processes.js';

/** The services of a governed call, in the order `warden up` starts them. */
export const STACK_SERVICES = [
  'trace-collector',
  'identity-broker',
  'policy-decision',
  'cost-governor',
  'tool-executor',
] as const;
export type StackService = (typeof STACK_SERVICES)[number];

/** Options of {@link startStack}. */
export interface StackOptions {
  env: string;
  natsUrl: string;
  /** The collector's chDB directory. */
  dataDir: string;
  /** Extra environment for every service. */
  extraEnv?: Record<string, string>;
  /**
   * Whether to register the built-in tools and publish the built-in policy set once the stack is
   * ready (default true): without a policy every intent is denied.
   */
  seedBuiltins?: boolean;
  /**
   * Environment for one service on top of the rest: on a server with scoped access, its
   * `NATS_CREDS` (and the broker's account signing key), e.g. `ScopedNats.serviceEnv` of
   * `@warden/testing`.
   */
  serviceEnv?: (service: StackService) => Record<string, string>;
  /**
   * How the stack's own admin connection (agent registration) authenticates on a server with
   * scoped access: the CLI's `.creds` and the inbox prefix its permissions allow (`_INBOX_cli`).
   * Unset: an anonymous connection.
   */
  adminNats?: { credsFile: string; inboxPrefix: string };
}

/**
 * Warden as production runs it: every service its own process (`node dist/apps/<app>/main.js`)
 * against a real NATS and chDB. Any service can be SIGKILLed and restarted, or given a replica.
 *
 * AckWait is short (2 s) so that what a killed process held unacked comes back quickly.
 */
export class Stack {
  private readonly replicas = new Map<StackService, ServiceProcess[]>();
  private readonly secrets = new Map<string, Promise<string>>();
  private admin: NatsConnection | undefined;

  private constructor(private readonly options: StackOptions) {}

  static async start(options: StackOptions): Promise<Stack> {
    const stack = new Stack(options);
    try {
      // Concurrently: each waits for its own /readyz.
      await Promise.all(STACK_SERVICES.map((service) => stack.addReplica(service)));
      if (options.seedBuiltins !== false) await seedBuiltins(await stack.adminNats(), options.env);
    } catch (error) {
      await stack.stop();
      throw error;
    }
    return stack;
  }

  /** The environment a process of `service` gets. */
  serviceEnv(service: StackService): Record<string, string> {
    const { env, natsUrl, dataDir, extraEnv, serviceEnv } = this.options;
    return {
      WARDEN_ENV: env,
      NATS_URL: natsUrl,
      WARDEN_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      EVENT_ACK_WAIT_MS: '2000',
      COLLECTOR_ACK_WAIT_MS: '3000',
      ...identityTestEnv(),
      ...extraEnv,
      ...serviceEnv?.(service),
    };
  }

  /**
   * The client secret of agent `agentId`, registered (through the broker's admin API, as the
   * bootstrap admin) the first time it is asked for.
   */
  clientSecret(agentId: string): Promise<string> {
    let secret = this.secrets.get(agentId);
    if (secret === undefined) {
      secret = this.register(agentId);
      this.secrets.set(agentId, secret);
    }
    return secret;
  }

  /** The stack's admin connection (agent registration, seeding, API calls of tests). */
  async adminNats(): Promise<NatsConnection> {
    this.admin ??= await connectNats({
      servers: this.options.natsUrl,
      name: 'e2e-admin',
      ...this.options.adminNats,
    });
    return this.admin;
  }

  private async register(agentId: string): Promise<string> {
    const secrets = await registerAgents(await this.adminNats(), this.options.env, [agentId]);
    const secret = secrets.get(agentId);
    if (secret === undefined) throw new Error(`agent ${agentId} got no client secret`);
    return secret;
  }

  /** Starts one more process of `service` (it shares the service's durables). */
  async addReplica(service: StackService): Promise<ServiceProcess> {
    const replica = await startService(service, this.serviceEnv(service));
    this.replicas.set(service, [...(this.replicas.get(service) ?? []), replica]);
    return replica;
  }

  /** The running processes of `service`. */
  processes(service: StackService): readonly ServiceProcess[] {
    return this.replicas.get(service) ?? [];
  }

  /** SIGKILLs every process of `service`: no shutdown hooks, no acks. */
  async kill(service: StackService): Promise<void> {
    const processes = this.replicas.get(service) ?? [];
    this.replicas.set(service, []);
    await Promise.all(processes.map((process) => process.kill()));
  }

  /** Starts `service` again after a kill (one process), and waits until it is ready. */
  async restart(service: StackService): Promise<ServiceProcess> {
    return this.addReplica(service);
  }

  /** Stops every process gracefully, stages first and the collector last (it records the rest). */
  async stop(): Promise<void> {
    await this.admin?.close();
    this.admin = undefined;
    for (const service of [...STACK_SERVICES].reverse()) {
      const processes = this.replicas.get(service) ?? [];
      this.replicas.delete(service);
      await Promise.all(processes.map((process) => process.stop()));
    }
  }

  /** Everything every process wrote, for a failing test's message. */
  output(): string {
    return [...this.replicas.entries()]
      .flatMap(([service, processes]) =>
        processes.map((process) => `--- ${service}\n${process.output()}`),
      )
      .join('\n');
  }
}
