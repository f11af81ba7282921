import type {
  AgentAttributes,
  AuthenticationMethod,
  HumanView,
  AgentView,
} from '@warden/contracts';

/*
 * The seams between the broker's two halves: `registry/` (who exists: agents and humans, their
 * status and how they authenticate) and `credentials/` (keys, tokens, revocations, and the
 * authentication stage). Each half implements its ports and reads the other's through these
 * tokens only.
 */

/** An agent as the registry keeps it (KV `agents`, key = agent id). */
export interface AgentRecord extends AgentAttributes {
  readonly agent_id: string;
  readonly status: AgentView['status'];
  readonly authentication: AuthenticationMethod;
  readonly registered_at: string;
  readonly registered_by: string;
  readonly updated_at: string;
}

/** A human as the registry keeps it (KV `humans`, key = human id). */
export interface HumanRecord {
  readonly human_id: string;
  readonly roles: readonly string[];
  readonly status: HumanView['status'];
  readonly authentication: AuthenticationMethod;
  readonly registered_at: string;
  readonly updated_at: string;
}

/** Reads the agent registry. Implemented by `registry/`. */
export interface AgentDirectory {
  /**
   * The agent as this replica last saw it (an in-memory view the KV watch keeps current, so the
   * authentication stage costs no round trip). `undefined` when unknown to the view.
   */
  get(agentId: string): AgentRecord | undefined;
  /** The agent as stored right now (one KV read): for token issuance and for a view miss. */
  load(agentId: string): Promise<AgentRecord | undefined>;
}
export const AGENT_DIRECTORY = Symbol('identity.agent-directory');

/** Reads the human registry. Implemented by `registry/`. */
export interface HumanDirectory {
  /** The human as stored right now (one KV read). */
  load(humanId: string): Promise<HumanRecord | undefined>;
}
export const HUMAN_DIRECTORY = Symbol('identity.human-directory');

/** The verified human behind an admin request. */
export interface AdminCaller {
  readonly human_id: string;
  readonly roles: readonly string[];
}

/** Checks that an API request comes from an active human with the admin role. Implemented by `credentials/`. */
export interface AdminAuthorizer {
  /**
   * The caller, from the human token in the request's `Warden-Credential` header. Throws an
   * `ApiFailure`: `unauthenticated` (no token, or one that does not verify), `forbidden` (a
   * valid human without the admin role, or disabled).
   */
  requireAdmin(headers: Readonly<Record<string, string>>): Promise<AdminCaller>;
  /** The same checks without the role: any active human (`human-introspect`). */
  requireHuman(headers: Readonly<Record<string, string>>): Promise<AdminCaller>;
}
export const ADMIN_AUTHORIZER = Symbol('identity.admin-authorizer');
