import { buildEvent, type Envelope } from '@warden/contracts';
import { ulid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { projectAgent, type AgentEvent, type StoredAgent } from './agent-projection.js';
import { groupRegistryEvents } from './rebuild.js';

const producer = { service: 'test', instance: 'test-1', version: '0' };
const env = 'unit';
let clock = Date.parse('2026-01-01T00:00:00Z');

/** A timestamp one second after the previous one, so events have distinct positions. */
function tick(): string {
  clock += 1000;
  return new Date(clock).toISOString().replace('Z', '000Z');
}

function registered(agentId = 'a1'): Envelope<'agent.registered'> {
  return buildEvent({
    type: 'agent.registered',
    env,
    eventId: ulid(),
    agentId,
    producer,
    occurredAt: tick(),
    data: {
      owner: 'alice',
      domains: ['support'],
      environment: env,
      risk_tier: 'low',
      authentication: { method: 'client_secret', verifier: '$scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaA' },
      by: 'admin',
    },
  });
}

function status(
  type: 'agent.suspended' | 'agent.resumed' | 'agent.retired',
  agentId = 'a1',
): AgentEvent {
  return buildEvent({
    type,
    env,
    eventId: ulid(),
    agentId,
    producer,
    occurredAt: tick(),
    data: { by: 'admin' },
  });
}

const fold = (events: readonly AgentEvent[], start?: StoredAgent) =>
  events.reduce<StoredAgent | undefined>(projectAgent, start);

describe('projectAgent', () => {
  it('creates an active agent from its registration, keeping who registered it', () => {
    const event = registered();
    const record = projectAgent(undefined, event);
    expect(record).toMatchObject({
      agent_id: 'a1',
      owner: 'alice',
      status: 'active',
      registered_by: 'admin',
      registered_at: event.occurred_at,
      updated_at: event.occurred_at,
      last_event_id: event.event_id,
      authentication: { method: 'client_secret' },
    });
  });

  it('ignores a second registration of the same id (the same object comes back)', () => {
    const record = projectAgent(undefined, registered());
    expect(projectAgent(record, registered())).toBe(record);
  });

  it('ignores a status change of an agent it never saw registered', () => {
    expect(projectAgent(undefined, status('agent.suspended'))).toBeUndefined();
  });

  it('ignores an event of another agent', () => {
    const record = projectAgent(undefined, registered('a1'));
    expect(projectAgent(record, status('agent.suspended', 'a2'))).toBe(record);
  });

  it('applies an event once: replaying it changes nothing', () => {
    const suspend = status('agent.suspended');
    const once = fold([registered(), suspend]);
    expect(projectAgent(once, suspend)).toBe(once);
  });

  it('lets the latest of suspend and resume win, whatever order they are applied in', () => {
    const reg = registered();
    const suspend = status('agent.suspended');
    const resume = status('agent.resumed');
    expect(fold([reg, suspend, resume])?.status).toBe('active');
    expect(fold([reg, resume, suspend])).toEqual(fold([reg, suspend, resume]));
  });

  it('keeps a retired agent retired, and the earliest retirement, whatever the order', () => {
    const reg = registered();
    const retire1 = status('agent.retired');
    const resume = status('agent.resumed');
    const retire2 = status('agent.retired');
    const inOrder = fold([reg, retire1, resume, retire2]);
    expect(inOrder).toMatchObject({ status: 'retired', last_event_id: retire1.event_id });
    expect(fold([reg, retire2, resume, retire1])).toEqual(inOrder);
    expect(fold([reg, resume, retire2, retire1])).toEqual(inOrder);
  });
});

/** What the replay writes for each agent: its group folded through the projection (RegistryStore). */
function replayed(log: Envelope[]): Map<string, StoredAgent | undefined> {
  const { agents } = groupRegistryEvents(log);
  return new Map(
    [...agents].map(([id, list]) => [
      id,
      list.reduce<StoredAgent | undefined>(projectAgent, undefined),
    ]),
  );
}

describe('groupRegistryEvents (the replay path)', () => {
  it('folds a log of several agents, skipping events of other types', () => {
    const log: Envelope[] = [
      registered('a1'),
      registered('a2'),
      status('agent.suspended', 'a1'),
      buildEvent({
        type: 'run.started',
        env,
        eventId: ulid(),
        agentId: 'a1',
        producer,
        data: {},
      }),
      status('agent.retired', 'a2'),
    ];
    const agents = replayed(log);
    expect([...agents.keys()].sort()).toEqual(['a1', 'a2']);
    expect(agents.get('a1')?.status).toBe('suspended');
    expect(agents.get('a2')?.status).toBe('retired');
  });

  it('puts each agent’s registration first, whatever order the types were read in', () => {
    const reg = registered('a3');
    const suspend = status('agent.suspended', 'a3');
    const { agents } = groupRegistryEvents([suspend, reg]);
    expect(agents.get('a3')?.map((e) => e.type)).toEqual(['agent.registered', 'agent.suspended']);
    expect(replayed([suspend, reg]).get('a3')?.status).toBe('suspended');
  });
});
