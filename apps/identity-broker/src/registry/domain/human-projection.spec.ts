import { buildEvent, type Envelope } from '@warden/contracts';
import { ulid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { projectHuman, type HumanEvent, type StoredHuman } from './human-projection.js';
import { groupRegistryEvents } from './rebuild.js';

const producer = { service: 'test', instance: 'test-1', version: '0' };
const env = 'unit';
let clock = Date.parse('2026-01-01T00:00:00Z');
const tick = () => {
  clock += 1000;
  return new Date(clock).toISOString().replace('Z', '000Z');
};

function registered(humanId: string, roles: string[]): Envelope<'human.registered'> {
  return buildEvent({
    type: 'human.registered',
    env,
    eventId: ulid(),
    producer,
    occurredAt: tick(),
    data: {
      human_id: humanId,
      roles,
      authentication: { method: 'client_secret', verifier: '$scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaA' },
      by: 'bootstrap',
    },
  });
}

function updated(
  humanId: string,
  change: { roles?: string[]; status?: 'active' | 'disabled' },
): Envelope<'human.updated'> {
  return buildEvent({
    type: 'human.updated',
    env,
    eventId: ulid(),
    producer,
    occurredAt: tick(),
    data: { human_id: humanId, ...change, by: 'admin' },
  });
}

const fold = (events: readonly HumanEvent[]) =>
  events.reduce<StoredHuman | undefined>(projectHuman, undefined);

describe('projectHuman', () => {
  it('creates an active human with its roles', () => {
    expect(fold([registered('alice', ['admin'])])).toMatchObject({
      human_id: 'alice',
      roles: ['admin'],
      status: 'active',
    });
  });

  it('ignores a second registration and an update of an unknown human', () => {
    const record = fold([registered('alice', ['admin'])]);
    expect(projectHuman(record, registered('alice', []))).toBe(record);
    expect(projectHuman(undefined, updated('bob', { status: 'disabled' }))).toBeUndefined();
  });

  it('applies updates last-writer-wins, so their order does not matter', () => {
    const reg = registered('alice', ['admin']);
    const disable = updated('alice', { status: 'disabled' });
    const roles = updated('alice', { roles: ['support-leads'], status: 'active' });
    const inOrder = fold([reg, disable, roles]);
    expect(inOrder).toMatchObject({ roles: ['support-leads'], status: 'active' });
    expect(fold([reg, roles, disable])).toEqual(inOrder);
  });
});

describe('groupRegistryEvents (the replay path), humans', () => {
  it('groups the human events of a log by human id, registrations first', () => {
    const bob0 = registered('bob', []);
    const bobRoles = updated('bob', { roles: ['support-leads'] });
    // Read back out of order (one read per type): the registration still applies first.
    const { humans, agents } = groupRegistryEvents([
      registered('alice', ['admin']),
      bobRoles,
      bob0,
    ]);
    expect(agents.size).toBe(0);
    expect(humans.size).toBe(2);
    const bob = humans.get('bob') ?? [];
    expect(bob.map((e) => e.type)).toEqual(['human.registered', 'human.updated']);
    expect(bob.reduce<StoredHuman | undefined>(projectHuman, undefined)?.roles).toEqual([
      'support-leads',
    ]);
  });
});
