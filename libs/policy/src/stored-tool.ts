import { ToolView } from '@warden/contracts';
import { ToolDeclaration } from './tool-declaration.js';
import type { z } from 'zod';

/**
 * A tool version as KV `tools` keeps it (the policy decision service writes it; the tool executor
 * reads it): the API view plus the event that registered it. Keys: `latest.<name>` (the highest
 * version, what intents are decided against) and `version.<name>.<n>` (every version, immutable).
 */
export const StoredTool = ToolView.extend({ event_id: ToolView.shape.digest });
export type StoredTool = z.infer<typeof StoredTool>;

export const latestKey = (name: string) => `latest.${name}`;
export const versionKey = (name: string, version: number) => `version.${name}.${version}`;

/** A stored tool and its declaration, both checked: KV is shared state, never trusted blindly. */
export function parseStoredTool(
  value: unknown,
): { stored: StoredTool; declaration: ToolDeclaration } | { error: string } {
  const stored = StoredTool.safeParse(value);
  if (!stored.success) return { error: `invalid tool record: ${stored.error.message}` };
  const declaration = ToolDeclaration.safeParse(stored.data.declaration);
  if (!declaration.success) {
    return { error: `invalid declaration of ${stored.data.name}: ${declaration.error.message}` };
  }
  return { stored: stored.data, declaration: declaration.data };
}

/** The `tool.registered` event's data as a stored record. */
export function storedFromEvent(
  event: { event_id: string; occurred_at: string },
  data: {
    name: string;
    version: number;
    kind: 'read' | 'write';
    by?: string | undefined;
    digest?: string | undefined;
    declaration?: Record<string, unknown> | undefined;
  },
): StoredTool | undefined {
  const declaration = ToolDeclaration.safeParse(data.declaration);
  if (!declaration.success || data.digest === undefined) return undefined;
  const tool = declaration.data;
  return {
    name: tool.name,
    version: tool.version,
    kind: tool.kind,
    domain: tool.domain,
    groups: [...tool.groups],
    description: tool.description,
    digest: data.digest,
    registered_at: event.occurred_at,
    registered_by: data.by ?? 'unknown',
    declaration: data.declaration ?? {},
    event_id: event.event_id,
  };
}
