import { z } from 'zod';
import type { DeclaredTool } from '../tool-adapter.js';
import { isToolAllowed, problemsOf, type Upstream, type UpstreamTable } from '../upstreams.js';
import { argsOf, parseTemplate, type Template } from './templates.js';

/** Longest timeout a section may ask for, and the one it gets by default. */
export const HTTP_MAX_TIMEOUT_MS = 60_000;
export const HTTP_DEFAULT_TIMEOUT_MS = 10_000;
/** Response cap by default (1 MiB), and the largest a section may ask for (16 MiB). */
export const HTTP_DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
const HTTP_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Headers the adapter sets itself: a section may not set or override them. */
const RESERVED_HEADERS = new Set([
  'authorization',
  'idempotency-key',
  'content-type',
  'content-length',
  'accept',
  'host',
  'connection',
  'transfer-encoding',
  'te',
  'upgrade',
  'cookie',
  'proxy-authorization',
  'expect',
]);

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
// Visible ASCII and spaces/tabs inside: no CR, LF, NUL or other control characters.
const HEADER_VALUE = /^[\x20-\x7e]*$/;
// Unreserved, sub-delims, ":", "@", "/" and the template braces: no "?", "#", "%" or spaces.
const PATH_CHARS = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/{}]*$/;

const TemplateText = z
  .string()
  .max(2048)
  .transform((raw, ctx): Template => {
    const template = parseTemplate(raw);
    if ('error' in template) {
      ctx.addIssue({ code: 'custom', message: template.error });
      return z.NEVER;
    }
    return template;
  });

const PathTemplate = z
  .string()
  .max(2048)
  .superRefine((raw, ctx) => {
    if (!PATH_CHARS.test(raw)) {
      ctx.addIssue({
        code: 'custom',
        message: 'must start with "/" and hold only URL path characters (no "?", "#", "%", spaces)',
      });
    }
    if (raw.split('/').some((segment) => segment === '.' || segment === '..')) {
      ctx.addIssue({ code: 'custom', message: 'must not hold "." or ".." segments' });
    }
  })
  .pipe(TemplateText);

const HeaderValue = z
  .string()
  .max(1024)
  .regex(HEADER_VALUE, { error: 'must be printable ASCII on one line (no CR/LF)' });

const Headers = z.record(z.string(), HeaderValue).superRefine((headers, ctx) => {
  for (const name of Object.keys(headers)) {
    if (!HEADER_NAME.test(name)) {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: 'is not a valid header name (token characters only)',
      });
    } else if (RESERVED_HEADERS.has(name.toLowerCase())) {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: 'is set by the executor and cannot be configured',
      });
    }
  }
});

const BodySpec = z.union([
  z.literal('args'),
  z.literal('none'),
  z.record(z.string().min(1).max(128), TemplateText),
]);

/** The http adapter's executor section, as written in a tool declaration. */
export const HttpSection = z.strictObject({
  adapter: z.literal('http'),
  /** The upstream's name in the env's table. */
  target: z.string().min(1).max(64),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
  path: PathTemplate,
  query: z.record(z.string().min(1).max(128), TemplateText).optional(),
  body: BodySpec.optional(),
  headers: Headers.optional(),
  timeout_ms: z.number().int().min(1).max(HTTP_MAX_TIMEOUT_MS).default(HTTP_DEFAULT_TIMEOUT_MS),
  max_response_bytes: z
    .number()
    .int()
    .min(1)
    .max(HTTP_MAX_RESPONSE_BYTES)
    .default(HTTP_DEFAULT_MAX_RESPONSE_BYTES),
  secret_ref: z.string().min(1).max(256).optional(),
  auth: z.enum(['bearer', 'per_call_token']).optional(),
});
export type HttpSection = z.output<typeof HttpSection>;

/** What to send as the request body. */
export type BodyPlan =
  | { readonly kind: 'args' }
  | { readonly kind: 'none' }
  | { readonly kind: 'fields'; readonly fields: readonly (readonly [string, Template])[] };

/** A checked section, with its upstream: everything a call needs but the args and the secret. */
export interface HttpToolPlan {
  readonly tool: string;
  readonly upstreamName: string;
  readonly upstream: Upstream;
  readonly method: HttpMethod;
  readonly path: Template;
  readonly query: readonly (readonly [string, Template])[];
  readonly body: BodyPlan;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  readonly secretRef?: string;
  /** How the secret is sent; `undefined` when there is no secret. */
  readonly auth?: 'bearer' | 'per_call_token';
}

/** The plan, or every problem of the section (`path: message`). */
export type HttpSectionCheck =
  | { readonly ok: true; readonly plan: HttpToolPlan }
  | { readonly ok: false; readonly problems: readonly string[] };

/**
 * Checks an http executor section against the env's upstream table and, when given, the tool's
 * top-level arg names. Reports every problem at once: the section's own shape, an unknown
 * upstream, a tool the upstream's `tools` globs do not allow, templates naming unknown args.
 */
export function checkHttpSection(
  tool: string,
  section: Readonly<Record<string, unknown>>,
  upstreams: UpstreamTable,
  declared: DeclaredTool = {},
): HttpSectionCheck {
  const parsed = HttpSection.safeParse(section);
  const problems = parsed.success ? [] : problemsOf(parsed.error);
  const target = section.target;
  const upstream =
    typeof target === 'string' && Object.hasOwn(upstreams, target) ? upstreams[target] : undefined;
  if (typeof target === 'string' && upstream === undefined) {
    problems.push(`target: no upstream named "${target}" in the env's upstream table`);
  } else if (upstream !== undefined && !isToolAllowed(upstream, tool)) {
    problems.push(
      `target: upstream "${String(target)}" does not allow ${tool} (add a glob matching it to its tools)`,
    );
  }
  if (!parsed.success || upstream === undefined) return { ok: false, problems };

  const plan = planOf(tool, parsed.data, upstream);
  problems.push(...crossProblems(plan, parsed.data, declared));
  return problems.length === 0 ? { ok: true, plan } : { ok: false, problems };
}

function planOf(tool: string, section: HttpSection, upstream: Upstream): HttpToolPlan {
  const readOnly = section.method === 'GET' || section.method === 'DELETE';
  const body = section.body ?? (readOnly ? 'none' : 'args');
  const auth = section.secret_ref === undefined ? undefined : (section.auth ?? 'bearer');
  return {
    tool,
    upstreamName: section.target,
    upstream,
    method: section.method,
    path: section.path,
    query: Object.entries(section.query ?? {}),
    body:
      typeof body === 'string' ? { kind: body } : { kind: 'fields', fields: Object.entries(body) },
    headers: section.headers ?? {},
    timeoutMs: section.timeout_ms,
    maxResponseBytes: section.max_response_bytes,
    ...(section.secret_ref === undefined ? {} : { secretRef: section.secret_ref }),
    ...(auth === undefined ? {} : { auth }),
  };
}

function crossProblems(plan: HttpToolPlan, section: HttpSection, declared: DeclaredTool): string[] {
  const problems: string[] = [];
  if (section.auth !== undefined && section.secret_ref === undefined) {
    problems.push('auth: needs a secret_ref to sign or send');
  }
  if (plan.method === 'GET' && plan.body.kind !== 'none') {
    problems.push('body: a GET request has no body (use none, or query parameters)');
  }
  const argNames = declared.argNames;
  if (argNames === undefined) return problems;
  const known = new Set(argNames);
  const check = (where: string, template: Template) => {
    for (const name of argsOf(template)) {
      if (!known.has(name)) problems.push(`${where}: {${name}} is not a top-level arg of the tool`);
    }
  };
  check('path', plan.path);
  for (const [name, template] of plan.query) check(`query.${name}`, template);
  if (plan.body.kind === 'fields') {
    for (const [name, template] of plan.body.fields) check(`body.${name}`, template);
  }
  return problems;
}
