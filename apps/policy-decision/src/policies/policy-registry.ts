import type { NatsConnection } from '@nats-io/transport-node';
import {
  canonicalJson,
  MAX_EVENT_BYTES,
  sha256,
  type PolicyFile,
  type PolicyPublishRequest,
  type PolicyVersionSummary,
  type PolicyVersionView,
} from '@warden/contracts';
import { ApiFailure, type EventPublisher } from '@warden/messaging';
import { checkPolicyFiles, type PolicyFileIssue } from '@warden/policy';
import { ulid } from 'ulid';
import type { z } from 'zod';
import type { HumanCaller } from '@warden/service';
import { publishInTurn } from '../log-guard.js';
import type { PolicyStore } from './policy-store.js';
import type { PolicyHead, StoredPolicyVersion } from './stored-policy.js';

/** Room left in an event for the envelope around a policy set. */
const ENVELOPE_ALLOWANCE = 8 * 1024;

/**
 * Policy versions (`warden policies publish|list|show|rollback`): immutable sets of Cedar policy
 * files with the schema they were validated against. Publishing validates the whole set and refuses
 * it on any error, reporting file, line and message; the active version then does not change. A
 * rollback publishes a new version with an old one's content, so versions only go up and the log
 * tells exactly what was in force when.
 */
export class PolicyRegistry {
  constructor(
    private readonly nc: NatsConnection,
    private readonly publisher: EventPublisher,
    private readonly store: PolicyStore,
  ) {}

  async publish(
    request: z.output<typeof PolicyPublishRequest>,
    caller: HumanCaller,
  ): Promise<{ version: PolicyVersionSummary; warnings: string[] }> {
    const files = [...request.files].sort((a, b) => a.name.localeCompare(b.name));
    const names = new Set(files.map((file) => file.name));
    if (names.size !== files.length) {
      throw new ApiFailure('invalid_policy_set', 'two files have the same name');
    }
    const checked = checkPolicyFiles(request.schema, files);
    if (!checked.ok) {
      const head = await this.store.head();
      throw new ApiFailure(
        'invalid_policy_set',
        `the policy set has ${checked.errors.length} error(s): nothing was published, version ${head.active} stays active`,
        checked.errors.map((issue) => ({ path: locate(issue), message: issue.message })),
      );
    }
    const version = await this.publishVersion(caller, {
      schema: request.schema,
      files,
      message: request.message,
      mode: request.mode,
      policyIds: Object.keys(checked.policies),
    });
    return { version, warnings: checked.warnings.map((w) => `${locate(w)}: ${w.message}`) };
  }

  /** Publishes a new active version with the content of `version`. */
  async rollback(
    version: number,
    message: string,
    caller: HumanCaller,
  ): Promise<PolicyVersionSummary> {
    const old = await this.store.get(version);
    if (old === undefined) {
      throw new ApiFailure('not_found', `no policy version ${version} (warden policies list)`);
    }
    return this.publishVersion(caller, {
      schema: old.schema,
      files: old.files,
      message,
      mode: 'active',
      policyIds: old.policy_ids,
      rollbackOf: version,
    });
  }

  async list(): Promise<{ versions: PolicyVersionSummary[]; head: PolicyHead }> {
    const [versions, head] = await Promise.all([this.store.list(), this.store.head()]);
    return { versions: versions.map(summary), head };
  }

  async show(version: number | undefined): Promise<PolicyVersionView> {
    const wanted = version ?? (await this.store.head()).active;
    if (wanted === 0) {
      throw new ApiFailure(
        'not_found',
        'no policy version is active: every intent is denied (warden policies publish)',
      );
    }
    const stored = await this.store.get(wanted);
    if (stored === undefined) {
      throw new ApiFailure('not_found', `no policy version ${wanted} (warden policies list)`);
    }
    const { event_id: _eventId, ...view } = stored;
    return view;
  }

  private async publishVersion(
    caller: HumanCaller,
    content: {
      schema: string;
      files: readonly PolicyFile[];
      message: string;
      mode: 'active' | 'shadow';
      policyIds: readonly string[];
      rollbackOf?: number;
    },
  ): Promise<PolicyVersionSummary> {
    const contentHash = sha256(canonicalJson({ schema: content.schema, files: content.files }));
    const size = Buffer.byteLength(JSON.stringify(content));
    if (size > MAX_EVENT_BYTES - ENVELOPE_ALLOWANCE) {
      throw new ApiFailure(
        'too_large',
        `the policy set is ${size} bytes; one version must fit an event (${MAX_EVENT_BYTES - ENVELOPE_ALLOWANCE} bytes): split rarely used policies out`,
      );
    }
    let published = 0;
    return publishInTurn<PolicyVersionSummary>(this.nc, this.publisher, 'policy.published', {
      attempt: async () => {
        const head = await this.store.head();
        published = head.latest + 1;
        const event = this.publisher.build({
          type: 'policy.published',
          eventId: ulid(),
          data: {
            version: published,
            content_hash: contentHash,
            author: `human:${caller.human_id}`,
            message: content.message,
            mode: content.mode,
            ...(content.rollbackOf === undefined ? {} : { rollback_of: content.rollbackOf }),
            schema: content.schema,
            files: [...content.files],
            policy_ids: [...content.policyIds],
          },
        });
        return { publish: event };
      },
      apply: async (event) => {
        if (event.type === 'policy.published') await this.store.apply(event);
      },
      answer: async () => {
        const stored = await this.store.get(published);
        if (stored === undefined) throw new Error(`policy version ${published} vanished from KV`);
        return summary(stored);
      },
    });
  }
}

function summary(stored: StoredPolicyVersion): PolicyVersionSummary {
  const { schema: _schema, files: _files, event_id: _eventId, ...rest } = stored;
  return rest;
}

/** `file:line:column` (or the policy id) of an issue, as much as is known. */
function locate(issue: PolicyFileIssue): string {
  if (issue.file === undefined) return issue.policyId ?? '(schema)';
  const line = issue.line === undefined ? '' : `:${issue.line}`;
  const column = issue.line === undefined || issue.column === undefined ? '' : `:${issue.column}`;
  return `${issue.file}${line}${column}`;
}
