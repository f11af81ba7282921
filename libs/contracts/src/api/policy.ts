import { z } from 'zod';
import {
  Actor,
  ApprovalRequirement,
  ArgsHash,
  CanaryPercent,
  type CanaryChanged,
  PolicyFile,
  PolicyVersion,
  ReleaseVersion,
  RunCanary,
  ToolArgs,
  ToolName,
} from '../events/index.js';
import { RoleName } from '../events/identity.js';
import { SubjectToken, Ulid } from '../ids.js';
import { Timestamp } from '../time.js';

/*
 * The policy decision service's request/reply APIs: `warden.<env>.api.policy.<op>`, one op per
 * entry of POLICY_API. Every op needs a human token in the `Warden-Credential` header: changes to
 * tools and policies need the `admin` role, answering an approval needs membership of its group,
 * reading needs only an active human.
 */

/** A registered tool version as the APIs show it. */
export const ToolView = z.strictObject({
  name: ToolName,
  version: z.number().int().positive(),
  kind: z.enum(['read', 'write']),
  domain: SubjectToken,
  groups: z.array(SubjectToken),
  description: z.string(),
  digest: z.string(),
  registered_at: Timestamp,
  registered_by: z.string(),
  /** The whole declaration (libs/policy `ToolDeclaration`), executor section included. */
  declaration: z.record(z.string(), z.unknown()),
});
export type ToolView = z.infer<typeof ToolView>;

/**
 * `tool-register`: a declaration as its author wrote it, YAML or JSON. A malformed one is refused
 * with `invalid_declaration` and every error in `details`. The same name and version with the same
 * content again is a no-op (`created: false`); a version must be higher than the registered one.
 */
export const ToolRegisterRequest = z.strictObject({
  source: z
    .string()
    .min(1)
    .max(256 * 1024),
  /** The file it came from, for error messages; `.json` parses as JSON, anything else as YAML. */
  file: z.string().max(1024).optional(),
});
export const ToolRegisterResult = z.strictObject({ tool: ToolView, created: z.boolean() });

export const ToolListRequest = z.strictObject({});
/** The latest version of every tool. */
export const ToolListResult = z.strictObject({ tools: z.array(ToolView) });

export const ToolShowRequest = z.strictObject({
  name: ToolName,
  /** Omitted: the latest. */
  version: z.number().int().positive().optional(),
});
export const ToolShowResult = z.strictObject({
  tool: ToolView,
  /** Every registered version of the tool, oldest first. */
  versions: z.array(z.number().int().positive()),
});

/** A published policy set version as `policy-list` shows it. */
export const PolicyVersionSummary = z.strictObject({
  version: z.number().int().positive(),
  mode: z.enum(['active', 'shadow']),
  content_hash: z.string(),
  author: z.string(),
  message: z.string().optional(),
  published_at: Timestamp,
  rollback_of: z.number().int().positive().optional(),
  policy_ids: z.array(z.string()),
});
export type PolicyVersionSummary = z.infer<typeof PolicyVersionSummary>;

/** One version with its content, as `policy-show` answers. */
export const PolicyVersionView = PolicyVersionSummary.extend({
  schema: z.string(),
  files: z.array(PolicyFile),
});
export type PolicyVersionView = z.infer<typeof PolicyVersionView>;

/**
 * `policy-publish`: a new immutable version from policy files and the Cedar schema. The whole set
 * is validated against the schema and refused on any error (`invalid_policy_set`, every error in
 * `details` with file, line and message); the active version then does not change.
 */
export const PolicyPublishRequest = z.strictObject({
  schema: z.string().min(1).max(100_000),
  files: z.array(PolicyFile).max(256),
  message: z.string().min(1).max(2048),
  /** `shadow`: evaluated beside the active version and only logged (default `active`). */
  mode: z.enum(['active', 'shadow']).default('active'),
});
export const PolicyPublishResult = z.strictObject({
  version: PolicyVersionSummary,
  /** Cedar's warnings: they never refuse a set. */
  warnings: z.array(z.string()),
});

export const PolicyListRequest = z.strictObject({});
export const PolicyListResult = z.strictObject({
  versions: z.array(PolicyVersionSummary),
  /** The version in force (0: none published, everything is denied). */
  active: PolicyVersion,
  /** The version evaluated in shadow, if any. */
  shadow: PolicyVersion.optional(),
});

export const PolicyShowRequest = z.strictObject({
  /** Omitted: the active version. */
  version: z.number().int().positive().optional(),
});
export const PolicyShowResult = z.strictObject({ version: PolicyVersionView });

/** `policy-rollback`: publishes a new active version with the content of `version`. */
export const PolicyRollbackRequest = z.strictObject({
  version: z.number().int().positive(),
  message: z.string().min(1).max(2048),
});
export const PolicyRollbackResult = z.strictObject({ version: PolicyVersionSummary });

/**
 * `policy-promote`: the shadow version becomes the active one. Like a rollback it publishes a new
 * active version, here with the shadow version's content (`rollback_of` names the shadow version),
 * so versions only go up and the log says who promoted what when; the shadow evaluation ends.
 * Refused with `no_shadow` when no shadow version is in force, and with `shadow_changed` when
 * `shadow` is given and another shadow version is in force.
 */
export const PolicyPromoteRequest = z.strictObject({
  /** For the version history; default `promote shadow version <n>`. */
  message: z.string().min(1).max(2048).optional(),
  /**
   * The shadow version the caller reviewed. With it, a promotion already done answers again
   * (`already: true`) instead of `no_shadow`, so a retried promote is idempotent.
   */
  shadow: z.number().int().positive().optional(),
});
export const PolicyPromoteResult = z.strictObject({
  /** The new active version. */
  version: PolicyVersionSummary,
  /** The shadow version whose content it carries. */
  promoted: z.number().int().positive(),
  /** True when that shadow version had been promoted before this request (nothing published). */
  already: z.boolean(),
});

/**
 * `policy-shadow-stop`: ends the shadow evaluation without activating it. The head is a projection
 * of `policy.published`, so this publishes a new active version with the active version's content
 * (`rollback_of` names it): what is enforced does not change, and the log says who stopped it.
 * Refused with `no_shadow` when no shadow version is in force, with `no_active_version` when there
 * is no active version whose content could stay in force.
 */
export const PolicyShadowStopRequest = z.strictObject({
  /** For the version history; default `stop shadow version <n>`. */
  message: z.string().min(1).max(2048).optional(),
});
export const PolicyShadowStopResult = z.strictObject({
  /** The new active version (the content that was active). */
  version: PolicyVersionSummary,
  /** The shadow version no longer evaluated. */
  stopped: z.number().int().positive(),
});

/** An approval request as humans see it. */
export const ApprovalView = z.strictObject({
  approval_id: Ulid,
  status: z.enum(['pending', 'granted', 'denied', 'expired']),
  intent_id: Ulid,
  run_id: SubjectToken.optional(),
  agent_id: SubjectToken,
  tool: ToolName,
  args: ToolArgs,
  args_hash: ArgsHash,
  step: z.number().int().positive(),
  ...ApprovalRequirement.shape,
  owner: z.string().optional(),
  policy_ids: z.array(z.string()),
  policy_version: PolicyVersion,
  requested_at: Timestamp,
  expires_at: Timestamp,
  answered_by: z.string().optional(),
  answered_at: Timestamp.optional(),
  comment: z.string().optional(),
});
export type ApprovalView = z.infer<typeof ApprovalView>;

export const ApprovalListRequest = z.strictObject({
  status: z.enum(['pending', 'granted', 'denied', 'expired']).optional(),
  group: RoleName.optional(),
});
export const ApprovalListResult = z.strictObject({ approvals: z.array(ApprovalView) });

export const ApprovalShowRequest = z.strictObject({ approval_id: Ulid });
export const ApprovalResult = z.strictObject({ approval: ApprovalView });

/**
 * `approval-approve` / `approval-deny`. `args_hash`, when given, must equal the request's: an
 * approver who checked one set of args never approves another.
 */
export const ApprovalAnswerRequest = z.strictObject({
  approval_id: Ulid,
  reason: z.string().min(1).max(2048),
  args_hash: ArgsHash.optional(),
});

/** A canary in force, as the APIs show it. */
export const CanaryView = z.strictObject({
  workflow: SubjectToken,
  canary_id: Ulid,
  version: ReleaseVersion,
  baseline: ReleaseVersion.optional(),
  percent: CanaryPercent,
  policy_version: PolicyVersion.optional(),
  started_at: Timestamp,
  started_by: Actor,
  reason: z.string().optional(),
});
export type CanaryView = z.infer<typeof CanaryView>;

/** The canary a `canary.changed` event describes, started at `startedAt` (the start's time). */
export function canaryViewOf(data: CanaryChanged, startedAt: string): CanaryView {
  return {
    workflow: data.workflow,
    canary_id: data.canary_id,
    version: data.version,
    ...(data.baseline === undefined ? {} : { baseline: data.baseline }),
    percent: data.percent,
    ...(data.policy_version === undefined ? {} : { policy_version: data.policy_version }),
    started_at: startedAt,
    started_by: data.by,
    ...(data.reason === undefined ? {} : { reason: data.reason }),
  };
}

/** A workflow's promoted release: the version every new run gets when no canary says otherwise. */
export const ReleaseView = z.strictObject({
  workflow: SubjectToken,
  version: ReleaseVersion,
  canary_id: Ulid,
  promoted_at: Timestamp,
  promoted_by: Actor,
});
export type ReleaseView = z.infer<typeof ReleaseView>;

/**
 * `canary-start`: gives `version` to `percent` of the workflow's new runs (and, with
 * `policy_version`, decides their intents under that stored version). Refused with
 * `canary_running` while the workflow has one, `not_found` for an unknown policy version,
 * `same_version` when `version` is already the workflow's release.
 */
export const CanaryStartRequest = z.strictObject({
  workflow: SubjectToken,
  version: ReleaseVersion,
  percent: CanaryPercent,
  policy_version: z.number().int().positive().optional(),
  reason: z.string().min(1).max(2048).optional(),
});
export const CanaryStartResult = z.strictObject({ canary: CanaryView });

export const CanaryListRequest = z.strictObject({});
export const CanaryListResult = z.strictObject({
  canaries: z.array(CanaryView),
  releases: z.array(ReleaseView),
});

/** `canary-promote` / `canary-abort`: ends the workflow's canary; the log keeps who and why. */
export const CanaryEndRequest = z.strictObject({
  workflow: SubjectToken,
  reason: z.string().min(1).max(2048),
});
/**
 * A promotion makes the canary's version the workflow's release and, when the canary had a policy
 * version, publishes its content as the new active policy version.
 */
export const CanaryPromoteResult = z.strictObject({
  canary: CanaryView,
  release: ReleaseView,
  policy_version: PolicyVersionSummary.optional(),
});
export const CanaryAbortResult = z.strictObject({ canary: CanaryView });

/**
 * `release-assign`, the one policy op an agent calls (no human token: its NATS grants let only
 * agents and services reach it, and the answer is a version label): which release a new run of
 * `workflow` gets. Sticky: asked again for the same run, the answer is the same.
 */
export const RELEASE_ASSIGN_OP = 'release-assign';
export const ReleaseAssignRequest = z.strictObject({
  workflow: SubjectToken,
  run_id: SubjectToken,
});
export const ReleaseAssignResult = z.strictObject({
  /** The release the run gets; none when the workflow has neither a canary nor a release. */
  version: ReleaseVersion.optional(),
  canary: RunCanary.optional(),
});
export type ReleaseAssignResult = z.infer<typeof ReleaseAssignResult>;

/** Every policy API op: its request and result schemas, and who may call it. */
export const POLICY_API = {
  'tool-register': { request: ToolRegisterRequest, result: ToolRegisterResult, access: 'admin' },
  'tool-list': { request: ToolListRequest, result: ToolListResult, access: 'human' },
  'tool-show': { request: ToolShowRequest, result: ToolShowResult, access: 'human' },
  'policy-publish': {
    request: PolicyPublishRequest,
    result: PolicyPublishResult,
    access: 'admin',
  },
  'policy-list': { request: PolicyListRequest, result: PolicyListResult, access: 'human' },
  'policy-show': { request: PolicyShowRequest, result: PolicyShowResult, access: 'human' },
  'policy-rollback': {
    request: PolicyRollbackRequest,
    result: PolicyRollbackResult,
    access: 'admin',
  },
  'policy-promote': {
    request: PolicyPromoteRequest,
    result: PolicyPromoteResult,
    access: 'admin',
  },
  'policy-shadow-stop': {
    request: PolicyShadowStopRequest,
    result: PolicyShadowStopResult,
    access: 'admin',
  },
  'approval-list': { request: ApprovalListRequest, result: ApprovalListResult, access: 'human' },
  'approval-show': { request: ApprovalShowRequest, result: ApprovalResult, access: 'human' },
  'approval-approve': {
    request: ApprovalAnswerRequest,
    result: ApprovalResult,
    access: 'group',
  },
  'approval-deny': { request: ApprovalAnswerRequest, result: ApprovalResult, access: 'group' },
  'canary-start': { request: CanaryStartRequest, result: CanaryStartResult, access: 'admin' },
  'canary-list': { request: CanaryListRequest, result: CanaryListResult, access: 'human' },
  'canary-promote': { request: CanaryEndRequest, result: CanaryPromoteResult, access: 'admin' },
  'canary-abort': { request: CanaryEndRequest, result: CanaryAbortResult, access: 'admin' },
} as const;
export type PolicyApiOp = keyof typeof POLICY_API;
