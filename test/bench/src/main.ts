import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connectNats } from '@warden/messaging';
import { benchArgsValidation } from '@warden/policy/bench';
import { benchRedaction } from '@warden/redaction/bench';
import Table from 'cli-table3';
import { decisionRows, measureDecision } from './decision.scenario.js';
import { measureGoverned } from './governed.scenario.js';
import { measureExecutor } from './executor.scenario.js';
import { measureGovernor } from './governor.scenario.js';
import { measureIdentity } from './identity.scenario.js';
import { measureIngest } from './ingest.scenario.js';
import { measurePolicyStage } from './policy-stage.scenario.js';
import { measureTransportFloor } from './transport.scenario.js';

const SCENARIOS = [
  'transport',
  'redaction',
  'args',
  'decision',
  'policy-stage',
  'governor',
  'executor',
  'identity',
  'ingest',
  'governed',
] as const;
const MODES = ['in-process', 'split'] as const;

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', multiple: true },
    events: { type: 'string', default: '100000' },
    clients: { type: 'string', default: '16' },
    calls: { type: 'string', default: '10000' },
    rate: { type: 'string', multiple: true },
    mode: { type: 'string', multiple: true },
    nats: { type: 'string', default: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' },
    profile: { type: 'string' },
    'node-flag': { type: 'string', multiple: true },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    `npm run bench -- [--scenario transport|redaction|args|decision|policy-stage|governor|identity|ingest|governed]... [--events N] [--nats URL]\n` +
      `                 [--clients N] [--calls N] [--rate N] [--mode in-process|split]... [--profile DIR]\n` +
      `                 [--node-flag FLAG]...\n\n` +
      `Scenarios (all by default; the transport floor is always measured, for comparison):\n` +
      `  transport  one JetStream hop (publish → consume → ack) p50/p99, async publish throughput\n` +
      `  redaction  µs per event redacted (clean and dirty)\n` +
      `  args       µs per tool-argument validation (6 fields, valid and invalid) and risk derivation\n` +
      `  decision   policy decision p50/p99 in-process: reference set, +500 policies sliced/unsliced\n` +
      `  policy-stage  the policy-decision process over NATS: decisions/s and publish→decided p50/p99\n` +
      `  governor   cost-governor processes (1 and 2 replicas): reservations/s racing on shared runs\n` +
      `  executor   a tool-executor process calling a no-op HTTP upstream: overhead per call p50/p99\n` +
      `  identity   authentication stage in-process: verifications/s and p99, new token vs cached\n` +
      `  ingest     trace collector: backlog drain and publish→committed rows, events/s\n` +
      `  governed   the whole mesh (warden up, in one process and --split): --clients SDK agents\n` +
      `             calling the built-in echo; paced at --rate calls/s, then saturated for --calls;\n` +
      `             --profile DIR writes a V8 CPU profile of the warden up process there (open in Chrome DevTools);\n` +
      `             --node-flag passes a Node or V8 flag to warden up (--node-flag=--trace-deopt)\n`,
  );
  process.exit(0);
}

const chosen = values.scenario ?? [...SCENARIOS];
for (const name of chosen) {
  if (!(SCENARIOS as readonly string[]).includes(name)) {
    process.stderr.write(
      `error: unknown scenario ${JSON.stringify(name)}; choose from ${SCENARIOS.join(', ')}\n`,
    );
    process.exit(2);
  }
}
for (const mode of values.mode ?? []) {
  if (!(MODES as readonly string[]).includes(mode)) {
    process.stderr.write(
      `error: unknown mode ${JSON.stringify(mode)}; choose from ${MODES.join(', ')}\n`,
    );
    process.exit(2);
  }
}
const total = Number(values.events);
const nc = await connectNats({ servers: values.nats, name: 'warden-bench' });
const run = `b${Date.now().toString(36)}`;
const results: Record<string, unknown> = {
  at: new Date().toISOString(),
  node: process.version,
  events: total,
};
const table = new Table({ head: ['scenario', 'figure', 'value'], style: { head: ['cyan'] } });

process.stderr.write('measuring the transport floor (one JetStream hop)...\n');
const floor = await measureTransportFloor(nc, `${run}-floor`);
results.transport = floor;
table.push(
  [
    'transport floor',
    'one hop p50 / p99',
    `${(floor.hopUs.p50 / 1000).toFixed(2)} ms / ${(floor.hopUs.p99 / 1000).toFixed(2)} ms`,
  ],
  ['transport floor', 'five hops (p50 × 5)', `${((floor.hopUs.p50 * 5) / 1000).toFixed(2)} ms`],
  [
    'transport floor',
    'async publish (validated events, 256 in flight)',
    `${Math.round(floor.publishPerSecond).toLocaleString('en')} events/s`,
  ],
);

if (chosen.includes('redaction')) {
  const redaction = benchRedaction(100_000);
  results.redaction = redaction;
  table.push(
    ['redaction', 'clean event (~660 B)', `${redaction.cleanMicros.toFixed(1)} µs`],
    ['redaction', 'dirty event (~790 B, 5 findings)', `${redaction.dirtyMicros.toFixed(1)} µs`],
  );
}

if (chosen.includes('args')) {
  const args = benchArgsValidation(200_000);
  results.args = args;
  table.push(
    ['args', 'validate 6-field args (valid)', `${args.validMicros.toFixed(2)} µs`],
    ['args', 'validate 6-field args (4 violations)', `${args.invalidMicros.toFixed(2)} µs`],
    ['args', 'derive risk', `${args.deriveRiskMicros.toFixed(2)} µs`],
    ['args', 'compile a schema', `${args.compileMicros.toFixed(2)} µs`],
  );
}

if (chosen.includes('decision')) {
  process.stderr.write('measuring policy decisions in-process...\n');
  const decision = measureDecision(Math.min(total, 20_000));
  results.decision = decision;
  table.push(...decisionRows(decision));
}

if (chosen.includes('policy-stage')) {
  process.stderr.write('measuring the policy stage over NATS...\n');
  const stage = await measurePolicyStage(nc, `${run}-policy`, values.nats, Math.min(total, 10_000));
  results.policyStage = stage;
  table.push(
    [
      'policy stage',
      `decisions/s (${stage.intents.toLocaleString('en')} intents in one burst)`,
      Math.round(stage.perSecond).toLocaleString('en'),
    ],
    [
      'policy stage',
      'publish → policy.decided p50 / p99 (burst)',
      `${stage.latencyMs.p50.toFixed(1)} ms / ${stage.latencyMs.p99.toFixed(1)} ms`,
    ],
  );
}

if (chosen.includes('governor')) {
  process.stderr.write('measuring the cost governor over NATS (1 and 2 replicas)...\n');
  const governor = await measureGovernor(nc, `${run}-gov`, values.nats, Math.min(total, 10_000));
  results.governor = governor;
  for (const replicas of ['1', '2']) {
    table.push([
      'governor',
      `${replicas} replica(s): answers/s (${governor.intents.toLocaleString('en')} intents, ${governor.runs} runs)`,
      `${Math.round(governor.perSecond[replicas] ?? 0).toLocaleString('en')} (${governor.reserved[replicas] ?? 0} reserved, ${((governor.conflictRate[replicas] ?? 0) * 100).toFixed(1)} % CAS rounds lost)`,
    ]);
  }
}

if (chosen.includes('executor')) {
  process.stderr.write('measuring the tool executor over a no-op HTTP upstream...\n');
  const executor = await measureExecutor(nc, `${run}-exec`, values.nats, Math.min(total, 2_000));
  results.executor = executor;
  const { executedMs, upstreamMs } = executor;
  table.push(
    [
      'executor',
      `budget.reserved → intent.resolved p50 / p99 (${executor.calls.toLocaleString('en')} calls, one at a time)`,
      `${executedMs.p50.toFixed(2)} ms / ${executedMs.p99.toFixed(2)} ms`,
    ],
    [
      'executor',
      'the no-op upstream called directly p50 / p99',
      `${upstreamMs.p50.toFixed(2)} ms / ${upstreamMs.p99.toFixed(2)} ms`,
    ],
    [
      'executor',
      'overhead per call (p50 difference)',
      `${(executedMs.p50 - upstreamMs.p50).toFixed(2)} ms`,
    ],
  );
}

if (chosen.includes('identity')) {
  process.stderr.write('measuring the authentication stage in-process...\n');
  const identity = await measureIdentity(Math.min(total, 100_000));
  results.identity = identity;
  for (const [path, label] of [
    ['cold', 'new token (signature verified)'],
    ['warm', 'cached token (revocation + status checked)'],
  ] as const) {
    const figures = identity[path];
    table.push(
      ['identity', `${label}: verifications/s`, Math.round(figures.perSecond).toLocaleString('en')],
      [
        'identity',
        `${label}: p50 / p99`,
        `${figures.p50Us.toFixed(1)} µs / ${figures.p99Us.toFixed(1)} µs`,
      ],
    );
  }
}

if (chosen.includes('ingest')) {
  process.stderr.write(
    `measuring collector ingest (${total.toLocaleString('en')} events, twice)...\n`,
  );
  const ingest = await measureIngest(nc, `${run}-ingest`, values.nats, total);
  results.ingest = ingest;
  table.push(
    [
      'ingest',
      'backlog drain into chDB',
      `${Math.round(ingest.drainPerSecond).toLocaleString('en')} events/s`,
    ],
    [
      'ingest',
      'publish → committed rows',
      `${Math.round(ingest.endToEndPerSecond).toLocaleString('en')} events/s`,
    ],
    [
      'ingest',
      'published / stored',
      `${ingest.published.toLocaleString('en')} / ${ingest.stored.toLocaleString('en')}`,
    ],
    ['ingest', 'collector RSS (embeds chDB)', `${ingest.collectorRssMiB} MiB`],
  );
}
if (chosen.includes('governed')) {
  const fiveHopsMs = (floor.hopUs.p50 * 5) / 1000;
  const modes = (values.mode ?? [...MODES]) as (typeof MODES)[number][];
  const governed = [];
  for (const mode of modes) {
    process.stderr.write(`measuring governed calls, ${mode} (${values.clients} clients)...\n`);
    const result = await measureGoverned(
      nc,
      `${run}-gov-${mode === 'split' ? 's' : 'p'}`,
      values.nats,
      {
        mode,
        clients: Number(values.clients),
        calls: Number(values.calls),
        rates: (values.rate ?? ['100', '500']).map(Number),
        profileDir: values.profile,
        nodeFlags: values['node-flag'],
      },
    );
    governed.push(result);
    const { saturated, paced } = result;
    table.push(
      [
        `governed, ${mode}`,
        `throughput (${result.clients} clients, 1 call in flight each)`,
        `${Math.round(saturated.perSecond).toLocaleString('en')} calls/s`,
      ],
      [
        `governed, ${mode}`,
        'intent → resolved p50 / p99, saturated',
        `${saturated.latencyMs.p50.toFixed(2)} ms / ${saturated.latencyMs.p99.toFixed(2)} ms`,
      ],
      ...paced.flatMap((at) => [
        [
          `governed, ${mode}`,
          `intent → resolved p50 / p99 at ${at.rate} calls/s`,
          `${at.latencyMs.p50.toFixed(2)} ms / ${at.latencyMs.p99.toFixed(2)} ms`,
        ],
        [
          `governed, ${mode}`,
          `p50 at ${at.rate}/s ÷ five hops' floor (target ≤ 1.5)`,
          (at.latencyMs.p50 / fiveHopsMs).toFixed(2),
        ],
      ]),
      [
        `governed, ${mode}`,
        'RSS after load, MiB',
        Object.entries(result.rssMiB)
          .map(([name, mib]) => `${name} ${mib}`)
          .join(', '),
      ],
      [
        `governed, ${mode}`,
        'CPU per call, saturated (ms)',
        Object.entries(result.cpuMsPerCall)
          .map(([name, ms]) => `${name} ${ms.toFixed(2)}`)
          .join(', '),
      ],
    );
  }
  results.governed = governed;
}
await nc.close();

process.stdout.write(`${table.toString()}\n`);
const dir = fileURLToPath(new URL('../../../test/bench/results/', import.meta.url));
mkdirSync(dir, { recursive: true });
const file = `${dir}bench-${results.at as string}.json`.replaceAll(':', '-');
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`results written to ${file}\n`);
