import { AdapterReason, scrubSecrets } from '../adapter-errors.js';
import type {
  AdapterCall,
  AdapterResult,
  DeclaredTool,
  PreparedTool,
  SectionProblems,
  ToolAdapter,
} from '../tool-adapter.js';
import type { UpstreamTable } from '../upstreams.js';
import { systemResolver, vetDestination, type Resolver } from './destination-guard.js';
import { buildRequest } from './http-request.js';
import { checkHttpSection, type HttpToolPlan } from './http-section.js';
import { sendPinned, type Exchange } from './http-transport.js';
import { mintPerCallToken } from './per-call-token.js';
import { TemplateArgError } from './templates.js';

/** Redirects one call follows at most. */
export const MAX_REDIRECTS = 3;
/** How much of an error answer's body goes into a failure message. */
const EXCERPT_CHARS = 300;

/** What the http adapter needs from the executor's configuration. */
export interface HttpAdapterOptions {
  /** The env's upstream table (`EXECUTOR_UPSTREAMS_FILE`). */
  readonly upstreams: UpstreamTable;
  /** DNS; the system resolver by default. */
  readonly resolve?: Resolver;
  /** The clock of per-call tokens. */
  readonly now?: () => Date;
}

/**
 * The `http` adapter (issue 7 §2): calls an upstream of the env's table through the SSRF guard.
 *
 * Failure mapping. Nothing sent (a guard refusal, a name that does not resolve, a refused
 * connection, bad args) → `maybeApplied: false`. An answer → by status (4xx false; 5xx, a refused
 * redirect and an oversized answer true for any method but GET). No answer after the request may
 * have been sent (a timeout, a connection lost mid-request) → throws `OutcomeUnknownError`: the
 * executor turns a throw into `unansweredResult`, which knows from the tool's kind whether a
 * write may have landed.
 */
export class HttpAdapter implements ToolAdapter {
  readonly kind = 'http';

  constructor(private readonly options: HttpAdapterOptions) {}

  prepare(
    tool: string,
    section: Readonly<Record<string, unknown>>,
    declared?: DeclaredTool,
  ): PreparedTool | SectionProblems {
    const checked = checkHttpSection(tool, section, this.options.upstreams, declared);
    if (!checked.ok) return { ok: false, problems: checked.problems };
    return new PreparedHttpTool(
      checked.plan,
      this.options.resolve ?? systemResolver,
      this.options.now ?? (() => new Date()),
    );
  }
}

/** A needed secret the call came without. */
const MISSING = Symbol('missing-secret');

/** One hop of a call: where it goes and what it carries. */
interface Hop {
  readonly url: URL;
  readonly target: string;
  readonly method: string;
  readonly body?: Buffer;
}

class PreparedHttpTool implements PreparedTool {
  readonly ok = true;
  readonly timeoutMs: number;
  readonly secretRef?: string;

  constructor(
    private readonly plan: HttpToolPlan,
    private readonly resolve: Resolver,
    private readonly now: () => Date,
  ) {
    this.timeoutMs = plan.timeoutMs;
    if (plan.secretRef !== undefined) this.secretRef = plan.secretRef;
  }

  private get isWrite(): boolean {
    return this.plan.method !== 'GET';
  }

  async call(call: AdapterCall): Promise<AdapterResult> {
    const { plan } = this;
    let hop: Hop;
    try {
      hop = { ...buildRequest(plan, call.args), method: plan.method };
    } catch (error) {
      if (!(error instanceof TemplateArgError)) throw error;
      return this.failure(AdapterReason.invalidArgs, `${plan.tool}: ${error.message}`, false);
    }
    const credential = await this.credentialOf(call);
    if (credential === MISSING) {
      return this.failure(
        AdapterReason.secretMissing,
        `${plan.tool} needs the secret ${plan.secretRef ?? ''} and none was resolved`,
        false,
      );
    }
    const secrets = [call.secret, credential];
    const signal = AbortSignal.any([call.signal, AbortSignal.timeout(plan.timeoutMs)]);
    for (let redirects = 0; ; redirects++) {
      const result = await this.send(hop, redirects, call.intentId, credential, signal);
      if (!('redirect' in result)) return scrub(result, secrets);
      const next = this.redirectOf(hop, result.redirect, result.status);
      if (typeof next === 'string' || redirects >= MAX_REDIRECTS) {
        const why = typeof next === 'string' ? next : `more than ${MAX_REDIRECTS} redirects`;
        return scrub(this.failure(AdapterReason.redirectRefused, why, this.isWrite, 0), secrets);
      }
      hop = next;
    }
  }

  /** The Authorization value: the secret, or a token minted with it; {@link MISSING} if absent. */
  private async credentialOf(call: AdapterCall): Promise<string | typeof MISSING | undefined> {
    const { plan } = this;
    if (plan.auth === undefined) return undefined;
    if (call.secret === undefined || call.secret === '') return MISSING;
    if (plan.auth === 'bearer') return call.secret;
    return mintPerCallToken(
      call.secret,
      { upstream: plan.upstreamName, tool: plan.tool, intentId: call.intentId },
      this.now(),
    );
  }

  /** Vets and sends one hop: its result, or the Location of a redirect to vet. */
  private async send(
    hop: Hop,
    redirects: number,
    intentId: string,
    credential: string | undefined,
    signal: AbortSignal,
  ): Promise<AdapterResult | { readonly redirect: string; readonly status: number }> {
    const { plan } = this;
    // After the first hop a write may already have been applied by the upstream.
    const sentBefore = redirects > 0 && this.isWrite;
    const destination = await vetDestination(hop.url, plan.upstream, this.resolve);
    if (!destination.ok) {
      if (!destination.refused) {
        return this.failure(AdapterReason.upstreamUnavailable, destination.message, sentBefore);
      }
      return redirects === 0
        ? this.failure(AdapterReason.destinationRefused, destination.message, false)
        : this.failure(AdapterReason.redirectRefused, destination.message, sentBefore);
    }
    const exchange = await sendPinned({
      url: hop.url,
      addresses: destination.addresses,
      method: hop.method,
      target: hop.target,
      headers: this.headersOf(hop, intentId, credential),
      ...(hop.body === undefined ? {} : { body: hop.body }),
      maxResponseBytes: plan.maxResponseBytes,
      signal,
      timeoutMs: plan.timeoutMs,
      label: `upstream ${plan.upstreamName}`,
    });
    return this.resultOf(exchange, sentBefore);
  }

  private headersOf(
    hop: Hop,
    intentId: string,
    credential: string | undefined,
  ): Record<string, string> {
    return {
      ...this.plan.headers,
      Accept: 'application/json',
      'Idempotency-Key': intentId,
      ...(credential === undefined ? {} : { Authorization: `Bearer ${credential}` }),
      ...(hop.body === undefined ? {} : { 'Content-Type': 'application/json' }),
    };
  }

  private resultOf(
    exchange: Exchange,
    sentBefore: boolean,
  ): AdapterResult | { readonly redirect: string; readonly status: number } {
    const upstream = `upstream ${this.plan.upstreamName}`;
    switch (exchange.kind) {
      case 'unreachable':
        return this.failure(
          AdapterReason.upstreamUnavailable,
          `${upstream} could not be reached (${exchange.detail})`,
          sentBefore,
        );
      case 'too_large':
        return this.failure(
          AdapterReason.responseTooLarge,
          `${upstream} answered ${exchange.status} with more than ${this.plan.maxResponseBytes} bytes`,
          this.isWrite,
          exchange.status,
        );
      case 'response':
        break;
    }
    const { status, headers, body } = exchange;
    if (status >= 300 && status < 400) {
      const location = headers.location;
      if (location !== undefined && [301, 302, 303, 307, 308].includes(status)) {
        return { redirect: location, status };
      }
      return this.failure(
        AdapterReason.redirectRefused,
        `${upstream} answered ${status} without a redirect to follow`,
        this.isWrite,
        status,
      );
    }
    if (status >= 200 && status < 300) {
      const output = parseBody(headers['content-type'], body);
      if (output === invalidJson) {
        return this.failure(
          AdapterReason.invalidResponse,
          `${upstream} answered ${status} with a body that is not the JSON it declared`,
          this.isWrite,
          status,
        );
      }
      return { ok: true, output, upstreamStatus: status };
    }
    const excerpt = body.toString('utf8').slice(0, EXCERPT_CHARS).replace(/\s+/g, ' ').trim();
    const message = `${upstream} answered ${status}${excerpt === '' ? '' : `: ${excerpt}`}`;
    if (status >= 400 && status < 500) {
      return this.failure(AdapterReason.upstreamRejected, message, false, status);
    }
    return this.failure(AdapterReason.upstreamError, message, this.isWrite, status);
  }

  /** The next hop of a redirect, or why it is refused (before any DNS: the guard runs next). */
  private redirectOf(from: Hop, location: string, status: number): Hop | string {
    let url: URL;
    try {
      url = new URL(location, from.url);
    } catch {
      return `the redirect to ${JSON.stringify(location.slice(0, 200))} is not a URL`;
    }
    const refusal = redirectRefusal(from.url, url, this.plan);
    if (refusal !== undefined) return refusal;
    // 303 means "see other with GET"; 301, 302, 307 and 308 repeat the request as it was.
    const asGet = status === 303 && from.method !== 'GET';
    return {
      url,
      target: `${url.pathname}${url.search}`,
      method: asGet ? 'GET' : from.method,
      ...(asGet || from.body === undefined ? {} : { body: from.body }),
    };
  }

  private failure(
    reason: string,
    message: string,
    maybeApplied: boolean,
    upstreamStatus?: number,
  ): AdapterResult {
    return {
      ok: false,
      reason,
      message,
      maybeApplied,
      ...(upstreamStatus === undefined || upstreamStatus === 0 ? {} : { upstreamStatus }),
    };
  }
}

/**
 * Why a redirect from `from` to `to` may not be followed: it must stay on http(s), not downgrade
 * https to http, and go to the upstream's own host (same port) or one of its `allow_hosts`. Hosts
 * compare as the URL parser normalised them (punycode), so an IDN look-alike never matches.
 */
export function redirectRefusal(from: URL, to: URL, plan: HttpToolPlan): string | undefined {
  const where = `the redirect to ${to.protocol}//${to.host}`;
  if (to.protocol !== 'http:' && to.protocol !== 'https:') {
    return `${where} is refused: only http and https`;
  }
  if (to.username !== '' || to.password !== '') {
    return `${where} is refused: credentials in the URL are never allowed`;
  }
  if (from.protocol === 'https:' && to.protocol === 'http:') {
    return `${where} is refused: it would downgrade https to http`;
  }
  const host = withoutRootDot(to.host);
  const own = withoutRootDot(plan.upstream.base_url.host);
  const allowed =
    host === own ||
    plan.upstream.allow_hosts.some(
      (entry) => entry === host || (!/:\d+$/.test(entry) && entry === withoutRootDot(to.hostname)),
    );
  if (allowed) return undefined;
  return `${where} is refused: not upstream ${plan.upstreamName}'s host; add it to its allow_hosts in the env's upstream table`;
}

function withoutRootDot(host: string): string {
  return host.replace(/\.(?=:\d+$|$)/, '');
}

const invalidJson = Symbol('invalid-json');

/** JSON when the content type says so, else text; an empty body is `null`. */
function parseBody(contentType: string | undefined, body: Buffer): unknown {
  if (body.length === 0) return null;
  const text = body.toString('utf8');
  if (contentType === undefined || !/^application\/([\w.+-]*\+)?json\b/i.test(contentType.trim())) {
    return text;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return invalidJson;
  }
}

/** Removes the secret and the credential from a failure's message (an upstream may echo them). */
function scrub(result: AdapterResult, secrets: readonly (string | undefined)[]): AdapterResult {
  return result.ok ? result : { ...result, message: scrubSecrets(result.message, secrets) };
}
