import type { NatsConnection } from '@nats-io/transport-node';
import {
  canonicalJson,
  sha256,
  type ToolRegisterRequest,
  type ToolShowRequest,
  type ToolView,
} from '@warden/contracts';
import { ApiFailure, type EventPublisher } from '@warden/messaging';
import { parseToolDeclaration, type DeclarationError, type StoredTool } from '@warden/policy';
import { ulid } from 'ulid';
import type { z } from 'zod';
import type { HumanCaller } from '@warden/service';
import { publishInTurn } from '../log-guard.js';
import type { ToolStore } from './tool-store.js';

/**
 * The tool registry's use cases (`warden tools register|list|show`). A registration is refused
 * with every error of the declaration; a version is immutable (the same content again is a no-op,
 * other content under a registered version is refused) and versions only go up.
 */
export class ToolRegistry {
  constructor(
    private readonly nc: NatsConnection,
    private readonly publisher: EventPublisher,
    private readonly store: ToolStore,
  ) {}

  async register(
    request: z.output<typeof ToolRegisterRequest>,
    caller: HumanCaller,
  ): Promise<{ tool: ToolView; created: boolean }> {
    const file = request.file ?? 'the declaration';
    const parsed = parseToolDeclaration(request.source, {
      format: request.file?.toLowerCase().endsWith('.json') ? 'json' : 'yaml',
    });
    if (!parsed.ok) {
      throw new ApiFailure(
        'invalid_declaration',
        `${file} has ${parsed.errors.length} error(s): nothing was registered`,
        parsed.errors.map((error) => ({
          path: locate(request.file, error),
          message: error.message,
        })),
      );
    }
    const tool = parsed.tool;
    const digest = sha256(canonicalJson(tool));
    return publishInTurn<{ tool: ToolView; created: boolean }>(
      this.nc,
      this.publisher,
      'tool.registered',
      {
        attempt: async () => {
          const same = await this.store.get(tool.name, tool.version);
          if (same !== undefined) {
            if (same.digest === digest) return { answer: { tool: view(same), created: false } };
            throw new ApiFailure(
              'version_exists',
              `${tool.name} version ${tool.version} is registered with other content: bump version to register a change`,
            );
          }
          const latest = await this.store.get(tool.name);
          if (latest !== undefined && latest.version > tool.version) {
            throw new ApiFailure(
              'version_not_newer',
              `${tool.name} is registered at version ${latest.version}: a new declaration needs a higher version`,
            );
          }
          const event = this.publisher.build({
            type: 'tool.registered',
            eventId: ulid(),
            data: {
              name: tool.name,
              version: tool.version,
              kind: tool.kind,
              by: `human:${caller.human_id}`,
              domain: tool.domain,
              groups: [...tool.groups],
              digest,
              declaration: JSON.parse(JSON.stringify(tool)) as Record<string, unknown>,
            },
          });
          return { publish: event };
        },
        apply: async (event) => {
          if (event.type === 'tool.registered') await this.store.apply(event);
        },
        answer: async () => {
          const stored = await this.store.get(tool.name, tool.version);
          if (stored === undefined)
            throw new Error(`${tool.name} v${tool.version} vanished from KV`);
          return { tool: view(stored), created: true };
        },
      },
    );
  }

  async list(): Promise<ToolView[]> {
    return (await this.store.listLatest()).map(view);
  }

  async show(
    request: z.output<typeof ToolShowRequest>,
  ): Promise<{ tool: ToolView; versions: number[] }> {
    const stored = await this.store.get(request.name, request.version);
    if (stored === undefined) {
      const which = request.version === undefined ? '' : ` version ${request.version}`;
      throw new ApiFailure(
        'not_found',
        `no tool ${request.name}${which} is registered (warden tools list)`,
      );
    }
    return { tool: view(stored), versions: await this.store.versions(request.name) };
  }
}

function view(stored: StoredTool): ToolView {
  const { event_id: _eventId, ...rest } = stored;
  return rest;
}

/** `file:line:column path`, as much of it as is known. */
function locate(file: string | undefined, error: DeclarationError): string {
  const where =
    error.line === undefined
      ? ''
      : `:${error.line}${error.column === undefined ? '' : `:${error.column}`}`;
  const at = file === undefined ? where.slice(1) : `${file}${where}`;
  return [at, error.path].filter((part) => part.length > 0).join(' ') || '(root)';
}
