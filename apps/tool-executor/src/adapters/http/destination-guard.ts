import { lookup } from 'node:dns/promises';
import type { Upstream } from '../upstreams.js';
import { classifyHost, isIpLiteral, refusalOf } from './address-class.js';

/** One address a host name resolved to. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to all its addresses (injected so tests need no DNS). */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** The system resolver (`getaddrinfo`), every address, in the order the system gives them. */
export const systemResolver: Resolver = async (hostname) => {
  const answers = await lookup(hostname, { all: true, verbatim: true });
  return answers.map((answer) => ({
    address: answer.address,
    family: answer.family === 6 ? 6 : 4,
  }));
};

/** Where a request may go: the URL and the vetted addresses it must connect to (pinned). */
export type Destination =
  | { readonly ok: true; readonly url: URL; readonly addresses: readonly ResolvedAddress[] }
  | { readonly ok: false; readonly refused: true; readonly message: string }
  | { readonly ok: false; readonly refused: false; readonly message: string };

const refused = (url: URL, rule: string): Destination => ({
  ok: false,
  refused: true,
  message: `destination ${url.protocol}//${url.host} refused: ${rule}`,
});

/** `[::1]` → `::1`: the URL keeps IPv6 hosts in brackets, sockets want them bare. */
export function bareHostname(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * The SSRF guard: checks a URL before anything is sent to it. Only http and https, no
 * credentials in the URL, never a metadata service, and no private, loopback, link-local or CGNAT
 * address (of the URL's IP literal, or of ANY address its name resolves to) unless the upstream
 * sets `allow_private`. The caller connects to the returned addresses only, so a name that
 * resolves differently a moment later (DNS rebinding) changes nothing.
 *
 * A name that does not resolve is not a refusal (`refused: false`): nothing was sent, the
 * upstream is unavailable.
 */
export async function vetDestination(
  url: URL,
  upstream: Upstream,
  resolve: Resolver,
): Promise<Destination> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return refused(url, `the scheme ${url.protocol} is not allowed (only http and https)`);
  }
  if (url.username !== '' || url.password !== '') {
    return refused(url, 'credentials in the URL are never allowed');
  }
  const hostname = bareHostname(url);
  // The URL parser already turned decimal, octal and hex IPv4 forms into dotted ones; the
  // classifier parses those forms again in case a host reaches here another way.
  const byName = refusalOf(classifyHost(hostname), upstream.allow_private);
  if (byName !== undefined) return refused(url, byName);
  if (isIpLiteral(hostname)) {
    const family = hostname.includes(':') ? 6 : 4;
    return { ok: true, url, addresses: [{ address: hostname, family }] };
  }
  let addresses: readonly ResolvedAddress[];
  try {
    addresses = await resolve(hostname);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return {
      ok: false,
      refused: false,
      message: `${hostname} did not resolve (${typeof code === 'string' ? code : 'DNS error'})`,
    };
  }
  if (addresses.length === 0) {
    return { ok: false, refused: false, message: `${hostname} resolved to no address` };
  }
  for (const { address } of addresses) {
    const rule = refusalOf(classifyHost(address), upstream.allow_private);
    if (rule !== undefined) return refused(url, `${hostname} resolves to ${address}, a ${rule}`);
  }
  return { ok: true, url, addresses };
}
