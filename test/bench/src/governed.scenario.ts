import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/transport-node';
import { removeEnv } from '@warden/messaging';
import { Warden, type Run } from '@warden/sdk';
import {
  childPids,
  getFreePortRange,
  identityTestEnv,
  registerAgents,
  seedBuiltins,
} from '@warden/testing';
import { stopChild, waitReady } from './app-process.js';
import { now, percentiles, type Percentiles } from './stats.js';

/** One mode of the governed-call bench: the whole mesh, measured from the agent's side. */
export interface GovernedResult {
  mode: 'in-process' | 'split';
  clients: number;
  /** Closed loop: every client keeps one call in flight. */
  saturated: { calls: number; perSecond: number; latencyMs: Percentiles };
  /**
   * Open loop at fixed rates (DESIGN §11: p99 ≤ 10 ms at 500 calls/s). A rate above what the mesh
   * sustains measures queueing, so a lower rate is measured too.
   */
  paced: { rate: number; calls: number; latencyMs: Percentiles }[];
  /** Resident memory of each process after the load, MiB (one per service in split mode). */
  rssMiB: Record<string, number>;
  /** CPU time each process spent per call under saturation, ms: where the mesh's time goes. */
  cpuMsPerCall: Record<string, number>;
}

const CLI = fileURLToPath(new URL('../../apps/cli/main.js', import.meta.url));
const SERVICES = 5;
/** Runs are short in real life: a client starts a new one every this many calls. */
const CALLS_PER_RUN = 100;

export async function measureGoverned(
  nc: NatsConnection,
  env: string,
  natsUrl: string,
  options: {
    mode: 'in-process' | 'split';
    clients: number;
    calls: number;
    rates: number[];
    /** Where to write a CPU profile of the `warden up` process (all services, in-process mode). */
    profileDir?: string | undefined;
    /** Node and V8 flags for `warden up` (`--trace-deopt`); its stdout then goes to stderr. */
    nodeFlags?: readonly string[] | undefined;
  },
): Promise<GovernedResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'warden-bench-governed-'));
  const stack = await startStack(env, natsUrl, dataDir, options.mode === 'split', [
    ...(options.profileDir === undefined
      ? []
      : ['--cpu-prof', '--cpu-prof-dir', options.profileDir]),
    ...(options.nodeFlags ?? []),
  ]);
  const clients: Client[] = [];
  try {
    await seedBuiltins(nc, env);
    const agentIds = Array.from({ length: options.clients }, (_, i) => `bench-agent-${i}`);
    const secrets = await registerAgents(nc, env, agentIds);
    for (const [agentId, clientSecret] of secrets) {
      clients.push(await Client.connect(natsUrl, env, agentId, clientSecret));
    }
    // A call to a stack that died would only time out: say what happened instead.
    const whileUp = <T>(load: Promise<T>) => Promise.race([load, stack.died]);
    // Warm-up: JIT, consumers, KV buckets.
    await whileUp(
      Promise.all(
        clients.map(async (client) => {
          for (let i = 0; i < 20; i++) await client.call();
        }),
      ),
    );

    const paced = [];
    for (const rate of options.rates) {
      paced.push(await whileUp(pacedLoad(clients, rate, Math.min(options.calls, rate * 5))));
    }
    const cpuBefore = stack.cpuMs();
    const saturated = await whileUp(closedLoop(clients, options.calls));
    const cpuAfter = stack.cpuMs();
    const cpuMsPerCall = Object.fromEntries(
      Object.entries(cpuAfter).map(([name, ms]) => [
        name,
        (ms - (cpuBefore[name] ?? Number.NaN)) / saturated.calls,
      ]),
    );
    return {
      mode: options.mode,
      clients: options.clients,
      saturated,
      paced,
      rssMiB: stack.rssMiB(),
      cpuMsPerCall,
    };
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await stack.stop();
    await removeEnv(nc, env);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** An SDK client with a run that it renews every {@link CALLS_PER_RUN} calls. */
class Client {
  private run: Run | undefined;
  private callsInRun = 0;

  private constructor(private readonly warden: Warden) {}

  static async connect(
    natsUrl: string,
    env: string,
    agentId: string,
    clientSecret: string,
  ): Promise<Client> {
    return new Client(
      await Warden.connect({ servers: natsUrl, env, agentId, credential: { clientSecret } }),
    );
  }

  /**
   * One governed call of the built-in echo with the call's number (the same call repeated would
   * rightly be halted as a loop); resolves to its latency in ms.
   */
  async call(): Promise<number> {
    if (this.run === undefined || this.callsInRun >= CALLS_PER_RUN) {
      await this.run?.end({ status: 'succeeded' });
      this.run = await this.warden.startRun({ limits: { maxSteps: CALLS_PER_RUN } });
      this.callsInRun = 0;
    }
    this.callsInRun++;
    const started = now();
    const result = await this.run.call('echo', { i: this.callsInRun });
    if (result.status !== 'executed')
      throw new Error(`echo ${result.status}: ${result.message ?? ''}`);
    return now() - started;
  }

  async close(): Promise<void> {
    await this.run?.end({ status: 'succeeded' }).catch(() => undefined);
    await this.warden.close();
  }
}

async function closedLoop(clients: Client[], calls: number) {
  const latencies: number[] = [];
  let issued = 0;
  const started = now();
  await Promise.all(
    clients.map(async (client) => {
      while (issued < calls) {
        issued++;
        latencies.push(await client.call());
      }
    }),
  );
  const seconds = (now() - started) / 1000;
  return {
    calls: latencies.length,
    perSecond: latencies.length / seconds,
    latencyMs: percentiles(latencies),
  };
}

/** Starts calls at a fixed rate (open loop), round-robin over clients, and waits for them all. */
async function pacedLoad(clients: Client[], rate: number, calls: number) {
  const latencies: number[] = [];
  const failures: unknown[] = [];
  const pending: Promise<void>[] = [];
  const interval = 1000 / rate;
  const started = now();
  for (let i = 0; i < calls && failures.length === 0; i++) {
    const due = started + i * interval;
    const wait = due - now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const client = clients[i % clients.length];
    if (client === undefined) break;
    pending.push(
      client.call().then(
        (ms) => {
          latencies.push(ms);
        },
        // Kept, not left unhandled while later calls are still being started.
        (error: unknown) => {
          failures.push(error);
        },
      ),
    );
  }
  await Promise.all(pending);
  if (failures.length > 0) throw failures[0];
  return { rate, calls: latencies.length, latencyMs: percentiles(latencies) };
}

interface Stack {
  /** Rejects, saying how, if `warden up` exits before {@link Stack.stop}; never resolves. */
  died: Promise<never>;
  rssMiB(): Record<string, number>;
  cpuMs(): Record<string, number>;
  stop(): Promise<void>;
}

/** `warden up` (all services in one process, or `--split`), on its own env and data dir. */
async function startStack(
  env: string,
  natsUrl: string,
  dataDir: string,
  split: boolean,
  nodeFlags: readonly string[],
): Promise<Stack> {
  const base = await getFreePortRange(SERVICES);
  const child = spawn(
    process.execPath,
    [
      ...nodeFlags,
      CLI,
      'up',
      '--env',
      env,
      '--nats',
      natsUrl,
      '--data',
      dataDir,
      '--http-port',
      String(base),
      // Its own state (keys, the reference helpdesk), and no demo agent competing for the stages.
      '--state',
      join(dataDir, 'state'),
      '--no-demo',
      ...(split ? ['--split'] : []),
    ],
    {
      env: { ...process.env, ...identityTestEnv(), LOG_LEVEL: 'warn' },
      // Its stdout is the banner, or a flag's trace: to stderr then, away from the figures.
      stdio: ['ignore', nodeFlags.length > 0 ? process.stderr : 'ignore', 'inherit'],
    },
  );
  const urls = Array.from({ length: SERVICES }, (_, i) => `http://127.0.0.1:${base + i}`);
  await waitReady(child, urls, 'warden up');
  let stopping = false;
  const died = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => {
      if (stopping) return;
      const how = signal === null ? `with code ${code}` : `on ${signal}`;
      reject(new Error(`warden up exited ${how} under load: its output above says why`));
    });
  });
  died.catch(() => undefined); // read by whileUp; a death after the load is not an error
  return {
    died,
    rssMiB: () => Object.fromEntries(processTree(child).map(({ name, pid }) => [name, rssOf(pid)])),
    cpuMs: () =>
      Object.fromEntries(processTree(child).map(({ name, pid }) => [name, cpuMsOf(pid)])),
    stop: () => {
      stopping = true;
      return stopChild(child);
    },
  };
}

/** The `warden up` process and each process it spawned (services, the helpdesk), by name. */
function processTree(root: ChildProcess): { name: string; pid: number }[] {
  if (root.pid === undefined) return [];
  const out = [{ name: 'warden up', pid: root.pid }];
  for (const pid of childPids(root.pid)) {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    out.push({ name: /([^/]+)\/main\.js/.exec(cmdline)?.[1] ?? String(pid), pid });
  }
  return out;
}

function rssOf(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** CPU time (user + system) a process has used so far, in ms. */
function cpuMsOf(pid: number): number {
  try {
    // Fields after the command name (which may hold spaces, hence the last ')'): utime is the
    // 12th, stime the 13th, in clock ticks of 10 ms.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}
