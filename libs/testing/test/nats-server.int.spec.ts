import { existsSync } from 'node:fs';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import {
  getFreePort,
  hasJetStream,
  makeTempDir,
  removeTempDir,
  spawnNatsServer,
  startNats,
} from '../src/index.js';

describe('startNats', () => {
  it('returns a server with JetStream', async () => {
    const nats = await startNats();
    try {
      expect(await hasJetStream(nats.url)).toBe(true);
    } finally {
      await nats.stop();
    }
  });
});

describe('spawnNatsServer', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it('keeps JetStream data across a crash and a restart on the same port', async () => {
    const server = await spawnNatsServer();
    cleanups.push(() => server.stop());
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);

    let nc = await connect({ servers: server.url });
    let jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'KEEP', subjects: ['keep.>'] });
    await jsm.jetstream().publish('keep.one', 'x');
    await nc.close();

    await server.kill();
    expect(server.pid).toBeUndefined();
    expect(await hasJetStream(server.url)).toBe(false);

    await server.restart();
    nc = await connect({ servers: server.url });
    jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info('KEEP')).state.messages).toBe(1);
    await nc.close();
  });

  it('stops the server and removes the store it created', async () => {
    const server = await spawnNatsServer();
    expect(existsSync(server.storeDir)).toBe(true);
    await server.stop();
    expect(await hasJetStream(server.url)).toBe(false);
    expect(existsSync(server.storeDir)).toBe(false);
  });

  it('runs with a configuration file and a store the caller owns', async () => {
    const dir = await makeTempDir('nats-config');
    cleanups.push(() => removeTempDir(dir));
    const port = await getFreePort();
    const server = await spawnNatsServer({
      port,
      storeDir: dir,
      config: 'max_payload: 2MB\n',
    });
    try {
      const nc = await connect({ servers: server.url });
      expect(nc.info?.max_payload).toBe(2 * 1024 * 1024);
      await nc.close();
    } finally {
      await server.stop();
    }
    // The caller's store is left alone.
    expect(existsSync(dir)).toBe(true);
  });
});
