import type * as cedar from './cedar-wasm.js';

/**
 * What one scope constraint (principal, action or resource) of a policy requires of the request's
 * entity. Every present part must hold: `type` the entity's type, `exact` the entity itself, `within`
 * the entity or one of its ancestors. An empty object is unconstrained; `unknown` keeps the policy
 * in every slice (anything not classified must never be dropped).
 */
export interface ScopeConstraint {
  readonly unknown?: true;
  readonly type?: string;
  readonly exact?: string;
  readonly within?: readonly string[];
}

/** The parts of a policy the engine needs: effect, Warden annotations and scope. */
export interface PolicyMeta {
  readonly id: string;
  readonly effect: 'permit' | 'forbid';
  /** The group of `@approval("<group>")`, when the policy carries it. */
  readonly approval?: string;
  readonly separationOfDuties: boolean;
  readonly principal: ScopeConstraint;
  readonly action: ScopeConstraint;
  readonly resource: ScopeConstraint;
}

/** One entity of a request as scope matching sees it: its key, type and ancestors' keys. */
export interface ScopeEntity {
  readonly key: string;
  readonly type: string;
  readonly ancestors: readonly string[];
}

/** The three scope entities of one request. */
export interface RequestScope {
  readonly principal: ScopeEntity;
  readonly action: ScopeEntity;
  readonly resource: ScopeEntity;
}

/** A stable string for an entity uid, used as a map key. */
export function entityKey(uid: cedar.EntityUidJson): string {
  const plain = '__entity' in uid ? uid.__entity : uid;
  return `${plain.type}::${JSON.stringify(plain.id)}`;
}

/** Reads a policy's effect, annotations and scope from Cedar's JSON form of it. */
export function policyMeta(id: string, json: cedar.PolicyJson): PolicyMeta {
  // Cedar's types say string, but a bare annotation (`@separation_of_duties`) arrives as null.
  const annotations = (json.annotations ?? {}) as Record<string, string | null>;
  const approval = annotations.approval;
  return {
    id,
    effect: json.effect,
    ...(typeof approval === 'string' && { approval }),
    separationOfDuties: 'separation_of_duties' in annotations,
    principal: constraintOf(json.principal),
    action: constraintOf(json.action),
    resource: constraintOf(json.resource),
  };
}

/** A policy whose scope Cedar's JSON does not let us read: kept in every slice. */
export function unclassified(id: string, meta?: Omit<PolicyMeta, 'id'>): PolicyMeta {
  const unknown: ScopeConstraint = { unknown: true };
  return {
    id,
    effect: meta?.effect ?? 'permit',
    ...(meta?.approval !== undefined && { approval: meta.approval }),
    separationOfDuties: meta?.separationOfDuties ?? false,
    principal: unknown,
    action: unknown,
    resource: unknown,
  };
}

function constraintOf(
  constraint: cedar.PrincipalConstraint | cedar.ActionConstraint | cedar.ResourceConstraint,
): ScopeConstraint {
  // Read defensively: a form this code does not know (a template slot, a future operator) must
  // widen the slice, never narrow it.
  const raw = constraint as unknown as Record<string, unknown>;
  switch (raw.op) {
    case 'All':
      return {};
    case '==':
      return isUid(raw.entity) ? { exact: entityKey(raw.entity) } : { unknown: true };
    case 'in':
      if (isUid(raw.entity)) return { within: [entityKey(raw.entity)] };
      if (Array.isArray(raw.entities) && raw.entities.every(isUid)) {
        return { within: raw.entities.map(entityKey) };
      }
      return { unknown: true };
    case 'is': {
      if (typeof raw.entity_type !== 'string') return { unknown: true };
      if (raw.in === undefined) return { type: raw.entity_type };
      const inner = raw.in as Record<string, unknown>;
      return isUid(inner.entity)
        ? { type: raw.entity_type, within: [entityKey(inner.entity)] }
        : { unknown: true };
    }
    default:
      return { unknown: true };
  }
}

function isUid(value: unknown): value is cedar.EntityUidJson {
  if (typeof value !== 'object' || value === null) return false;
  const plain = '__entity' in value ? value.__entity : value;
  return (
    typeof plain === 'object' &&
    plain !== null &&
    typeof (plain as { type?: unknown }).type === 'string' &&
    typeof (plain as { id?: unknown }).id === 'string'
  );
}

/**
 * Whether a constraint can hold for an entity. Exact for the entities the engine sends (their
 * ancestors are exactly the parents it sends); `unknown` always can.
 */
export function canMatch(constraint: ScopeConstraint, entity: ScopeEntity): boolean {
  if (constraint.unknown === true) return true;
  if (constraint.type !== undefined && constraint.type !== entity.type) return false;
  if (constraint.exact !== undefined && constraint.exact !== entity.key) return false;
  if (constraint.within !== undefined) {
    return constraint.within.some((key) => key === entity.key || entity.ancestors.includes(key));
  }
  return true;
}

/** The entity keys under which a resource constraint is indexed; undefined for "index wide". */
function resourceKeys(constraint: ScopeConstraint): readonly string[] | undefined {
  if (constraint.unknown === true) return undefined;
  if (constraint.exact !== undefined) return [constraint.exact];
  return constraint.within;
}

/**
 * Policies indexed by their resource constraint (`resource == Tool::"x"`, `resource in
 * ToolGroup::"g"` / `Domain::"d"`), so finding the policies a request can match costs the
 * policies about its tool, its groups and its domain, plus the resource-wide ones, and not every
 * policy of the organisation. Principal and action constraints are then checked per candidate.
 */
export class ScopeIndex {
  private readonly byResource = new Map<string, PolicyMeta[]>();
  private readonly resourceWide: PolicyMeta[] = [];

  constructor(policies: readonly PolicyMeta[]) {
    for (const policy of policies) {
      const keys = resourceKeys(policy.resource);
      if (keys === undefined) {
        this.resourceWide.push(policy);
        continue;
      }
      for (const key of new Set(keys)) {
        const list = this.byResource.get(key);
        if (list === undefined) this.byResource.set(key, [policy]);
        else list.push(policy);
      }
    }
  }

  /** The ids, sorted, of every policy whose scope can match the request. */
  candidates(scope: RequestScope): string[] {
    const found = new Set<string>();
    const consider = (policy: PolicyMeta): void => {
      if (
        !found.has(policy.id) &&
        canMatch(policy.resource, scope.resource) &&
        canMatch(policy.principal, scope.principal) &&
        canMatch(policy.action, scope.action)
      ) {
        found.add(policy.id);
      }
    };
    this.resourceWide.forEach(consider);
    for (const key of [scope.resource.key, ...scope.resource.ancestors]) {
      this.byResource.get(key)?.forEach(consider);
    }
    return [...found].sort();
  }
}
