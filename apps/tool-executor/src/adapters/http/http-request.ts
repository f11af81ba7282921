import type { ToolArgs } from '../../domain/tools.js';
import type { HttpToolPlan } from './http-section.js';
import {
  encodeComponent,
  expandPath,
  expandTemplate,
  hasAllArgs,
  type Template,
} from './templates.js';

/** The first request of a call: its URL and target as sent, and its JSON body if any. */
export interface BuiltRequest {
  readonly url: URL;
  /** Path and query exactly as they go on the request line (never re-parsed by a URL parser). */
  readonly target: string;
  readonly body?: Buffer;
}

/**
 * Builds the request from the plan and the call's args. Throws `TemplateArgError` when an arg a
 * template needs is absent (path, or a body field given as text), not a scalar, or would make
 * an empty, `.` or `..` path segment. A query parameter or a `{arg}` body field whose args are
 * absent is left out: those are the tool's optional args.
 */
export function buildRequest(plan: HttpToolPlan, args: ToolArgs): BuiltRequest {
  const base = plan.upstream.base_url;
  const prefix = base.pathname.replace(/\/+$/, '');
  const path = `${prefix}${expandPath(plan.path, args)}`;
  const query = plan.query
    .filter(([, template]) => hasAllArgs(template, args))
    .map(
      ([name, template]) =>
        `${encodeComponent(name)}=${expandTemplate(template, args, encodeComponent, true)}`,
    )
    .join('&');
  const target = query === '' ? path : `${path}?${query}`;
  // Only the origin comes from the parser; the target is kept as built, because the URL parser
  // would turn a `%2e%2e` segment back into `..`.
  const url = new URL(target, base.origin);
  const body = bodyOf(plan, args);
  return { url, target, ...(body === undefined ? {} : { body }) };
}

function bodyOf(plan: HttpToolPlan, args: ToolArgs): Buffer | undefined {
  switch (plan.body.kind) {
    case 'none':
      return undefined;
    case 'args':
      return Buffer.from(JSON.stringify(args));
    case 'fields': {
      const out: Record<string, unknown> = {};
      for (const [field, template] of plan.body.fields) {
        const value = fieldValue(template, args);
        if (value !== undefined) out[field] = value;
      }
      return Buffer.from(JSON.stringify(out));
    }
  }
}

/** `"{arg}"` alone keeps the arg's JSON value (absent: left out); anything else is text. */
function fieldValue(template: Template, args: ToolArgs): unknown {
  const [only, ...rest] = template.parts;
  if (only !== undefined && 'arg' in only && rest.length === 0) return args[only.arg];
  return expandTemplate(template, args, (text) => text);
}
