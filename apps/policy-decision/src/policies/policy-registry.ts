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
 * Policy versions (`warden policies publish|list|show|rollback|shadow|promote|stop-shadow`):
 * immutable sets of Cedar policy files with the schema they were validated against. Publishing
 * validates the whole set and refuses it on any error, reporting file, line and message; the active
 * version then does not change. A rollback publishes a new version with an old one's content, so
 * versions only go up and the log tells exactly what was in force when; promoting the shadow
 * version and stopping it are the same move (its content, or the active one's, as a new active
 * version), since the head is a projection of `policy.published` alone.
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
    const version = await this.publishVersion(caller, () =>
      Promise.resolve({
        schema: request.schema,
        files,
        message: request.message,
        mode: request.mode,
        policyIds: Object.keys(checked.policies),
      }),
    );
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
    return this.publishVersion(caller, () => Promise.resolve(copyOf(old, message)));
  }

  /**
   * Makes the shadow version the active one: a new active version with its content
   * (`rollback_of` names it), which ends the shadow evaluation (DESIGN §8). The head is read in
   * turn with other changes, so two admins promoting at once publish one version; the second is
   * told there is no shadow any more, or, naming the shadow it meant, gets the first's answer.
   */
  async promote(
    request: { message?: string | undefined; shadow?: number | undefined },
    caller: HumanCaller,
  ): Promise<{ version: PolicyVersionSummary; promoted: number; already: boolean }> {
    let promoted = 0;
    let already = false;
    const version = await this.publishVersion(caller, async (head) => {
      if (head.shadow === undefined) {
        const done =
          request.shadow === undefined
            ? undefined
            : await this.promotedBefore(head, request.shadow);
        if (done !== undefined) {
          promoted = request.shadow ?? 0;
          already = true;
          return { answer: done };
        }
        throw noShadow(head, 'nothing to promote');
      }
      if (request.shadow !== undefined && request.shadow !== head.shadow) {
        throw new ApiFailure(
          'shadow_changed',
          `shadow version ${head.shadow} is in force, not ${request.shadow}: nothing was promoted; review it (warden policies diff ${head.active} ${head.shadow}, warden policies shadow-report) and promote it by its number`,
        );
      }
      const shadow = await this.mustGet(head.shadow);
      promoted = shadow.version;
      return copyOf(shadow, request.message ?? `promote shadow version ${shadow.version}`);
    });
    return { version, promoted, already };
  }

  /**
   * Ends the shadow evaluation without activating it: a new active version with the active
   * version's content (`rollback_of` names it), since the head only moves through the log.
   */
  async stopShadow(
    request: { message?: string | undefined },
    caller: HumanCaller,
  ): Promise<{ version: PolicyVersionSummary; stopped: number }> {
    let stopped = 0;
    const version = await this.publishVersion(caller, async (head) => {
      if (head.shadow === undefined) throw noShadow(head, 'nothing to stop');
      if (head.active === 0) {
        throw new ApiFailure(
          'no_active_version',
          `no version is active, so shadow version ${head.shadow} cannot end by keeping the active one: promote it (warden policies promote) or publish an active version (warden policies publish <dir>)`,
        );
      }
      const active = await this.mustGet(head.active);
      stopped = head.shadow;
      return copyOf(active, request.message ?? `stop shadow version ${head.shadow}`);
    });
    return { version, stopped };
  }

  /** The active version, when it is the promotion of shadow version `shadow`. */
  private async promotedBefore(
    head: PolicyHead,
    shadow: number,
  ): Promise<PolicyVersionSummary | undefined> {
    if (head.active === 0) return undefined;
    const active = await this.store.get(head.active);
    const source = await this.store.get(shadow);
    const promoted =
      active?.rollback_of === shadow &&
      source?.mode === 'shadow' &&
      active.content_hash === source.content_hash;
    return promoted ? summary(active) : undefined;
  }

  private async mustGet(version: number): Promise<StoredPolicyVersion> {
    const stored = await this.store.get(version);
    if (stored === undefined) throw new Error(`policy version ${version} is missing from KV`);
    return stored;
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

  /**
   * Publishes the version `prepare` makes from the head, in turn with every other change: it runs
   * again on the new head when another change got in first. It may answer without publishing
   * (`{ answer }`), or refuse by throwing an {@link ApiFailure}.
   */
  private async publishVersion(
    caller: HumanCaller,
    prepare: (head: PolicyHead) => Promise<VersionContent | { answer: PolicyVersionSummary }>,
  ): Promise<PolicyVersionSummary> {
    let published = 0;
    return publishInTurn<PolicyVersionSummary>(this.nc, this.publisher, 'policy.published', {
      attempt: async () => {
        const head = await this.store.head();
        const content = await prepare(head);
        if ('answer' in content) return content;
        const contentHash = sha256(canonicalJson({ schema: content.schema, files: content.files }));
        const size = Buffer.byteLength(JSON.stringify(content));
        if (size > MAX_EVENT_BYTES - ENVELOPE_ALLOWANCE) {
          throw new ApiFailure(
            'too_large',
            `the policy set is ${size} bytes; one version must fit an event (${MAX_EVENT_BYTES - ENVELOPE_ALLOWANCE} bytes): split rarely used policies out`,
          );
        }
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

/** What a new version carries. */
interface VersionContent {
  schema: string;
  files: readonly PolicyFile[];
  message: string;
  mode: 'active' | 'shadow';
  policyIds: readonly string[];
  rollbackOf?: number;
}

/** A new active version with the content of `stored` (a rollback, a promotion, a stop). */
function copyOf(stored: StoredPolicyVersion, message: string): VersionContent {
  return {
    schema: stored.schema,
    files: stored.files,
    message,
    mode: 'active',
    policyIds: stored.policy_ids,
    rollbackOf: stored.version,
  };
}

/** `no_shadow`, saying what is in force and what to do instead. */
function noShadow(head: PolicyHead, consequence: string): ApiFailure {
  const active = head.active === 0 ? 'no version is active' : `version ${head.active} is active`;
  return new ApiFailure(
    'no_shadow',
    `no shadow version is in force (${active}): ${consequence}; start one with \`warden policies shadow <dir> --message "…"\``,
  );
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
