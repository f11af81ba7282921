import * as cedar from './cedar-wasm.js';
import { type Principal } from '@warden/contracts';
import { type RiskFlags } from '../derive-risk.js';
import { STANDARD_RISK_FLAGS, type ToolDeclaration } from '../tool-declaration.js';
import { type CedarRequest } from './cedar-engine.js';
import { entityKey, type RequestScope } from './policy-scope.js';
import { describe } from './validate-policy-set.js';

/** Everything the decision stage knows about one call, before Cedar. */
export interface DecisionInput {
  /** The identity broker's verified principal. */
  readonly principal: Principal;
  /** The registered tool (a `ToolDeclaration` will do: only these four fields are read). */
  readonly tool: {
    readonly name: string;
    readonly kind: ToolDeclaration['kind'];
    readonly domain: string;
    readonly groups: readonly string[];
  };
  /** The args, already validated against the tool's schema. */
  readonly args: unknown;
  /** `deriveRisk(tool, args)`: every standard flag and the tool's own flags. */
  readonly risk: RiskFlags;
  /** 1-based position of the intent in its run. */
  readonly step: number;
  /** The environment the stage runs in (`prod`); also the agent's when it names none. */
  readonly env: string;
  readonly now: Date;
}

/** A Cedar type as the request builder needs it (from the schema, types resolved). */
export type CedarType =
  | { readonly kind: 'Long' | 'String' | 'Bool' }
  | { readonly kind: 'Set'; readonly element: CedarType }
  | {
      readonly kind: 'Record';
      readonly attributes: Readonly<Record<string, { type: CedarType; required: boolean }>>;
    }
  /** Entities, extensions: no arg value may become one (it would be an injection vector). */
  | { readonly kind: 'unsupported'; readonly name: string };

/** The fields of the schema's `Args` common type: the only args a policy can read. */
export type ArgsShape = Readonly<Record<string, CedarType>>;

/** Names of the entity types and action, fixed by warden.cedarschema. */
export const CEDAR_NAMES = {
  agent: 'Warden::Agent',
  tool: 'Warden::Tool',
  toolGroup: 'Warden::ToolGroup',
  domain: 'Warden::Domain',
  action: 'Warden::Action',
  invoke: 'invoke',
} as const;

/**
 * Reads the field list of `Warden::Args` and each field's type from the schema, once per compile
 * (Cedar 4.13 has no open records: a request with an undeclared args field is refused, so the
 * builder must pass exactly the declared ones). Returns an error message when the schema has none.
 */
export function readArgsShape(schemaText: string): ArgsShape | string {
  try {
    const answer = cedar.schemaToJsonWithResolvedTypes(schemaText);
    if (answer.type === 'failure') return answer.errors.map((e) => e.message).join('; ');
    const namespaces = answer.json as unknown as Record<
      string,
      { commonTypes?: Record<string, unknown> }
    >;
    const common = namespaces.Warden?.commonTypes ?? {};
    const args = common.Args;
    const resolve = (name: string): unknown => common[name.replace(/^Warden::/, '')];
    const type = toCedarType(args, resolve, 0);
    if (type.kind !== 'Record') return 'the schema has no record type Warden::Args';
    const shape: Record<string, CedarType> = {};
    for (const [field, attribute] of Object.entries(type.attributes)) shape[field] = attribute.type;
    return shape;
  } catch (error) {
    return `cedar failed: ${describe(error)}`;
  }
}

function toCedarType(raw: unknown, resolve: (name: string) => unknown, depth: number): CedarType {
  if (typeof raw !== 'object' || raw === null || depth > 16) {
    return { kind: 'unsupported', name: 'unknown' };
  }
  const node = raw as { type?: unknown; element?: unknown; attributes?: unknown };
  const name = typeof node.type === 'string' ? node.type.replace(/^__cedar::/, '') : '';
  switch (name) {
    case 'Long':
    case 'String':
    case 'Bool':
    case 'Boolean':
      return { kind: name === 'Boolean' ? 'Bool' : name };
    case 'Set':
      return { kind: 'Set', element: toCedarType(node.element, resolve, depth + 1) };
    case 'Record': {
      const attributes: Record<string, { type: CedarType; required: boolean }> = {};
      const raws = (node.attributes ?? {}) as Record<string, { required?: boolean }>;
      for (const [field, attribute] of Object.entries(raws)) {
        attributes[field] = {
          type: toCedarType(attribute, resolve, depth + 1),
          required: attribute.required !== false,
        };
      }
      return { kind: 'Record', attributes };
    }
    default: {
      const common = resolve(name);
      return common === undefined
        ? { kind: 'unsupported', name }
        : toCedarType(common, resolve, depth + 1);
    }
  }
}

/** A built request, or why none could be built (the decision is then deny). */
export type BuiltRequest =
  | { readonly ok: true; readonly request: CedarRequest; readonly scope: RequestScope }
  | { readonly ok: false; readonly errors: readonly string[] };

/**
 * Builds the Cedar request for one call: the agent (with its domains as parents), the tool (with
 * its groups and domain as parents), `invoke`, and the context. Sends only these two entities:
 * Cedar's cost grows with every entity sent. Args are reduced to the fields `Args` declares and
 * converted to their declared types; a value that does not fit is an error, never dropped or
 * coerced, so the call is denied rather than decided on args a policy did not see.
 */
export function buildCedarRequest(shape: ArgsShape, input: DecisionInput): BuiltRequest {
  const errors: string[] = [];
  const { principal, tool } = input;

  const agentParents = unique(principal.domains).map((id) => uid(CEDAR_NAMES.domain, id));
  const agent: cedar.EntityJson = {
    uid: uid(CEDAR_NAMES.agent, principal.agent_id),
    attrs: {
      ...(principal.owner !== undefined && { owner: principal.owner }),
      domains: [...principal.domains],
      environment: principal.environment ?? input.env,
      ...(principal.risk_tier !== undefined && { risk_tier: principal.risk_tier }),
      tool_groups: [...(principal.tool_groups ?? [])],
    },
    parents: agentParents,
  };
  const toolParents = [
    ...unique(tool.groups).map((id) => uid(CEDAR_NAMES.toolGroup, id)),
    uid(CEDAR_NAMES.domain, tool.domain),
  ];
  const resource: cedar.EntityJson = {
    uid: uid(CEDAR_NAMES.tool, tool.name),
    attrs: { kind: tool.kind, domain: tool.domain, groups: [...tool.groups] },
    parents: toolParents,
  };

  const args: Record<string, cedar.CedarValueJson> = {};
  if (typeof input.args !== 'object' || input.args === null || Array.isArray(input.args)) {
    errors.push('args: must be an object');
  } else {
    const given = input.args as Record<string, unknown>;
    for (const [field, type] of Object.entries(shape)) {
      if (!Object.hasOwn(given, field) || given[field] === undefined) continue;
      const converted = toCedarValue(given[field], type, `args.${field}`);
      if (typeof converted === 'string') errors.push(converted);
      else args[field] = converted.value;
    }
  }

  const risk: Record<string, cedar.CedarValueJson> = {};
  const raised: string[] = [];
  for (const [flag, value] of Object.entries(input.risk)) {
    if (typeof value !== 'boolean') {
      errors.push(`risk.${flag}: must be a boolean`);
    } else if (flag === 'write' || (STANDARD_RISK_FLAGS as readonly string[]).includes(flag)) {
      risk[flag] = value;
    } else if (value) {
      raised.push(flag);
    }
  }
  for (const flag of ['write', ...STANDARD_RISK_FLAGS]) {
    if (!(flag in risk)) errors.push(`risk.${flag}: missing`);
  }
  risk.raised = raised.sort();

  if (!Number.isSafeInteger(input.step)) errors.push('run.step: must be an integer');
  const now = input.now instanceof Date ? input.now.getTime() : Number.NaN;
  if (Number.isNaN(now)) errors.push('now: not a valid date');
  if (errors.length > 0) return { ok: false, errors };

  const action = uid(CEDAR_NAMES.action, CEDAR_NAMES.invoke);
  return {
    ok: true,
    request: {
      principal: agent.uid,
      action,
      resource: resource.uid,
      context: {
        args,
        risk,
        run: { step: input.step },
        env: input.env,
        now: { __extn: { fn: 'datetime', arg: new Date(now).toISOString() } },
      },
      entities: [agent, resource],
    },
    scope: {
      principal: {
        key: entityKey(agent.uid),
        type: CEDAR_NAMES.agent,
        ancestors: agentParents.map(entityKey),
      },
      action: { key: entityKey(action), type: CEDAR_NAMES.action, ancestors: [] },
      resource: {
        key: entityKey(resource.uid),
        type: CEDAR_NAMES.tool,
        ancestors: toolParents.map(entityKey),
      },
    },
  };
}

/** `value` as a Cedar JSON value of `type`, or an error message naming `path`. */
function toCedarValue(
  value: unknown,
  type: CedarType,
  path: string,
): { value: cedar.CedarValueJson } | string {
  switch (type.kind) {
    case 'Long':
      // Cedar's Long is a signed 64-bit integer; JSON numbers beyond 2^53 are already inexact.
      return Number.isSafeInteger(value)
        ? { value: value as number }
        : `${path}: must be an integer (Cedar Long)`;
    case 'String':
      return typeof value === 'string' ? { value } : `${path}: must be a string`;
    case 'Bool':
      return typeof value === 'boolean' ? { value } : `${path}: must be a boolean`;
    case 'Set': {
      if (!Array.isArray(value)) return `${path}: must be a list (Cedar Set)`;
      const items: cedar.CedarValueJson[] = [];
      for (const [index, item] of (value as unknown[]).entries()) {
        const converted = toCedarValue(item, type.element, `${path}.${index}`);
        if (typeof converted === 'string') return converted;
        items.push(converted.value);
      }
      return { value: items };
    }
    case 'Record': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        return `${path}: must be an object`;
      }
      const record: Record<string, cedar.CedarValueJson> = {};
      const given = value as Record<string, unknown>;
      for (const [field, attribute] of Object.entries(type.attributes)) {
        if (!Object.hasOwn(given, field) || given[field] === undefined) {
          if (attribute.required) return `${path}.${field}: missing`;
          continue;
        }
        const converted = toCedarValue(given[field], attribute.type, `${path}.${field}`);
        if (typeof converted === 'string') return converted;
        record[field] = converted.value;
      }
      return { value: record };
    }
    case 'unsupported':
      return `${path}: the schema declares ${type.name}, which args cannot carry`;
  }
}

function uid(type: string, id: string): cedar.TypeAndId {
  return { type, id };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
