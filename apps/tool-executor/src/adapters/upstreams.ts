import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** An upstream's name, as a tool declaration's `executor.target` names it. */
const UpstreamName = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, {
  error: 'must be 1-64 characters of a-z, 0-9, "_" or "-", starting with a letter',
});

/** A glob of tool names: tool-name characters, `*` matching any run of them (dots included). */
const ToolGlob = z
  .string()
  .max(128)
  .regex(/^[a-z0-9_.*]+$/, { error: 'must be a tool name glob (a-z, 0-9, "_", "." and "*")' });

/** An absolute http(s) URL with no credentials, query or fragment: where the upstream lives. */
const BaseUrl = z.string().transform((raw, ctx): URL => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute http(s) URL' });
    return z.NEVER;
  }
  const problems = [
    url.protocol === 'http:' || url.protocol === 'https:' ? undefined : 'must be http or https',
    url.username === '' && url.password === '' ? undefined : 'must not hold credentials',
    url.search === '' && !raw.includes('?') ? undefined : 'must not have a query',
    url.hash === '' && !raw.includes('#') ? undefined : 'must not have a fragment',
  ].filter((problem) => problem !== undefined);
  for (const message of problems) ctx.addIssue({ code: 'custom', message });
  return problems.length === 0 ? url : z.NEVER;
});

/**
 * A host a redirect may go to: `name` or `name:port` (an IPv6 address in brackets). Normalised
 * as the URL parser does (lower case, IDN to punycode), so it compares with a URL's `host`.
 */
const AllowedHost = z.string().transform((raw, ctx): string => {
  const host = normaliseHost(raw);
  if (host === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be a host name or host:port, nothing else' });
    return z.NEVER;
  }
  return host;
});

/** One upstream of the env's table: where its tools' requests go and what they may do. */
export const Upstream = z.strictObject({
  base_url: BaseUrl,
  /** Globs of the tools allowed to call it; none by default (every call refused). */
  tools: z.array(ToolGlob).max(256).default([]),
  /** Whether its address (and its redirects') may be private, loopback, link-local or CGNAT. */
  allow_private: z.boolean().default(false),
  /** Hosts besides its own a redirect may go to. */
  allow_hosts: z.array(AllowedHost).max(64).default([]),
});
export type Upstream = z.output<typeof Upstream>;

/** The env's upstream table (`EXECUTOR_UPSTREAMS_FILE`): upstream name → upstream. */
export const UpstreamTable = z.record(UpstreamName, Upstream);
export type UpstreamTable = z.output<typeof UpstreamTable>;

/** The table, or every problem found in it (`path: message`). */
export type UpstreamTableParse =
  | { readonly ok: true; readonly table: UpstreamTable }
  | { readonly ok: false; readonly problems: readonly string[] };

/**
 * Parses an upstream table from the text of a YAML or JSON file (JSON is YAML). An empty file is
 * an empty table: no upstream, so every http tool is refused.
 */
export function parseUpstreamTable(text: string): UpstreamTableParse {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (error) {
    return { ok: false, problems: [`not YAML or JSON: ${(error as Error).message}`] };
  }
  const parsed = UpstreamTable.safeParse(raw);
  if (parsed.success) return { ok: true, table: parsed.data };
  return { ok: false, problems: problemsOf(parsed.error) };
}

/** Every issue of a zod error as `path: message` (`(root)` for the value itself). */
export function problemsOf(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return `${path === '' ? '(root)' : path}: ${issue.message}`;
  });
}

/** Whether `tool` matches one of the upstream's `tools` globs. */
export function isToolAllowed(upstream: Upstream, tool: string): boolean {
  return upstream.tools.some((glob) => globToRegExp(glob).test(tool));
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((literal) => literal.replace(/[.]/g, '\\.'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

/**
 * `host` or `host:port` as a URL's `host` would read: lower case, punycode, default ports
 * dropped. `undefined` when it is anything more (a path, credentials) or not a valid host.
 */
export function normaliseHost(raw: string): string | undefined {
  if (raw === '' || /[/?#@\\\s]/.test(raw)) return undefined;
  try {
    const url = new URL(`http://${raw}`);
    return url.host.replace(/\.(?=:|$)/, '');
  } catch {
    return undefined;
  }
}
