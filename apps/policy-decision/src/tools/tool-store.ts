import type { KV } from '@nats-io/kv';
import type { Envelope } from '@warden/contracts';
import { casUpdate } from '@warden/messaging';
import {
  latestKey,
  parseStoredTool,
  storedFromEvent,
  versionKey,
  type StoredTool,
} from '@warden/policy';

const encoder = new TextEncoder();

/**
 * KV `tools`: a projection of the `tool.registered` events. {@link apply} is the one way a record
 * is written, by the API path right after publishing and by the replay at start; applying an event
 * twice changes nothing.
 */
export class ToolStore {
  constructor(readonly kv: KV) {}

  /** Projects one `tool.registered` event: its immutable version record, and `latest` if higher. */
  async apply(event: Envelope<'tool.registered'>): Promise<StoredTool | undefined> {
    const stored = storedFromEvent(event, event.data);
    if (stored === undefined) return undefined;
    try {
      await this.kv.create(
        versionKey(stored.name, stored.version),
        encoder.encode(JSON.stringify(stored)),
      );
    } catch {
      // Already there: versions are immutable, the first registration of a version stands.
    }
    await casUpdate<StoredTool>(this.kv, latestKey(stored.name), (current) =>
      current !== undefined && current.version >= stored.version ? undefined : stored,
    );
    return stored;
  }

  /** The highest version of a tool, or one version. */
  async get(name: string, version?: number): Promise<StoredTool | undefined> {
    const key = version === undefined ? latestKey(name) : versionKey(name, version);
    const entry = await this.kv.get(key);
    if (entry === null || entry.operation !== 'PUT') return undefined;
    const parsed = parseStoredTool(entry.json<unknown>());
    return 'error' in parsed ? undefined : parsed.stored;
  }

  /** The highest version of every tool. */
  async listLatest(): Promise<StoredTool[]> {
    const tools: StoredTool[] = [];
    for await (const key of await this.kv.keys('latest.>')) {
      const tool = await this.get(key.slice('latest.'.length));
      if (tool !== undefined) tools.push(tool);
    }
    return tools.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Every registered version number of a tool, ascending. */
  async versions(name: string): Promise<number[]> {
    const versions: number[] = [];
    for await (const key of await this.kv.keys(`version.${name}.*`)) {
      versions.push(Number(key.slice(key.lastIndexOf('.') + 1)));
    }
    return versions.sort((a, b) => a - b);
  }
}
