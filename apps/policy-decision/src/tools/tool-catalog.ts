import type { KvWatchEntry } from '@nats-io/kv';
import {
  kvPosition,
  WatchSupervisor,
  type MessagingLogger,
  type WatchTiming,
} from '@warden/messaging';
import {
  compileArgs,
  latestKey,
  parseStoredTool,
  type ArgsValidator,
  type ToolDeclaration,
} from '@warden/policy';
import type { ToolStore } from './tool-store.js';

/** A registered tool as the decision stage uses it: the declaration and its compiled validator. */
export interface CatalogTool {
  readonly declaration: ToolDeclaration;
  readonly digest: string;
  readonly validate: ArgsValidator;
}

/**
 * The latest version of every tool, in memory with its args validator compiled once per version,
 * kept current by a supervised watch on KV `tools` (`latest.>`). A tool the view does not hold (a
 * registration a moment ago, or a stale watch) is read from KV, so a miss costs a round trip,
 * never a wrong "unknown tool".
 */
export class ToolCatalog {
  private readonly view = new Map<string, { tool: CatalogTool; revision: number }>();
  private readonly watch: WatchSupervisor<KvWatchEntry>;

  constructor(
    private readonly store: ToolStore,
    private readonly logger: MessagingLogger,
    timing?: Partial<WatchTiming>,
  ) {
    this.watch = new WatchSupervisor<KvWatchEntry>({
      name: 'KV tools',
      open: async () => this.store.kv.watch({ key: 'latest.>' }),
      onEntry: (entry) => {
        this.apply(entry);
      },
      position: () => kvPosition(store.kv),
      logger,
      ...(timing === undefined ? {} : { timing }),
    });
  }

  /** Whether the watch is alive (readiness `tool-catalog`). */
  get status(): { ok: boolean; detail: string } {
    return this.watch.live
      ? { ok: true, detail: `${this.view.size} tools` }
      : { ok: false, detail: `tools view stale: ${this.watch.detail}` };
  }

  async start(): Promise<void> {
    await this.watch.start();
  }

  stop(): void {
    this.watch.stop();
  }

  /** The latest version of `name`, or `undefined` when no such tool is registered. */
  async get(name: string): Promise<CatalogTool | undefined> {
    if (this.watch.live) {
      const held = this.view.get(name);
      if (held !== undefined) return held.tool;
    }
    const entry = await this.store.kv.get(latestKey(name));
    if (entry === null) return undefined;
    this.apply(entry);
    return this.view.get(name)?.tool;
  }

  private apply(entry: Pick<KvWatchEntry, 'key' | 'operation' | 'revision' | 'json'>): void {
    if (entry.operation !== 'PUT') return;
    const name = entry.key.slice('latest.'.length);
    const held = this.view.get(name);
    if (held !== undefined && held.revision >= entry.revision) return;
    const parsed = parseStoredTool(entry.json<unknown>());
    if ('error' in parsed) {
      // One bad record must not stop the watch: the tool stays as it was (or unknown: denied).
      this.logger.error({ key: entry.key, reason: parsed.error }, 'invalid tool record in KV');
      return;
    }
    const tool: CatalogTool =
      held?.tool.digest === parsed.stored.digest
        ? held.tool
        : {
            declaration: parsed.declaration,
            digest: parsed.stored.digest,
            validate: compileArgs(parsed.declaration.args),
          };
    this.view.set(name, { tool, revision: entry.revision });
  }
}
