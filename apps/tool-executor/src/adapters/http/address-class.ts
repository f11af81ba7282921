import { isIP } from 'node:net';

/**
 * What kind of network an address belongs to, for the SSRF guard. `public` may always be called;
 * the {@link PRIVATE_CLASSES} only from an upstream with `allow_private: true`; the rest never
 * (a cloud metadata service, "this host", multicast and reserved space are no tool's upstream).
 */
export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link_local'
  | 'cgnat'
  | 'unique_local'
  | 'metadata'
  | 'unspecified'
  | 'multicast'
  | 'reserved';

/** The classes `allow_private: true` lets through. */
export const PRIVATE_CLASSES: ReadonlySet<AddressClass> = new Set([
  'loopback',
  'private',
  'link_local',
  'cgnat',
  'unique_local',
]);

/** Host names of cloud metadata services: refused whatever they resolve to. */
const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata.goog', 'metadata']);

interface V4Range {
  readonly base: number;
  readonly bits: number;
  readonly cls: AddressClass;
}

const v4 = (dotted: string, bits: number, cls: AddressClass): V4Range => {
  const base = parseIPv4(dotted);
  if (base === undefined) throw new Error(`bad range ${dotted}`);
  return { base, bits, cls };
};

// Most specific first: the first range that contains the address decides.
const V4_RANGES: readonly V4Range[] = [
  v4('169.254.169.254', 32, 'metadata'), // AWS, GCP, Azure, OpenStack
  v4('100.100.100.200', 32, 'metadata'), // Alibaba Cloud
  v4('0.0.0.0', 8, 'unspecified'),
  v4('10.0.0.0', 8, 'private'),
  v4('100.64.0.0', 10, 'cgnat'),
  v4('127.0.0.0', 8, 'loopback'),
  v4('169.254.0.0', 16, 'link_local'),
  v4('172.16.0.0', 12, 'private'),
  v4('192.0.0.0', 24, 'private'), // IETF protocol assignments
  v4('192.0.2.0', 24, 'reserved'), // documentation
  v4('192.168.0.0', 16, 'private'),
  v4('198.18.0.0', 15, 'private'), // benchmarking
  v4('198.51.100.0', 24, 'reserved'),
  v4('203.0.113.0', 24, 'reserved'),
  v4('224.0.0.0', 4, 'multicast'),
  v4('240.0.0.0', 4, 'reserved'), // includes 255.255.255.255
];

/**
 * Parses an IPv4 address the way the WHATWG URL parser and `inet_aton` do: one to four parts,
 * each decimal, octal (`0177`) or hex (`0x7f`), the last part filling the remaining bytes
 * (`2130706433`, `127.1`). Returns the 32-bit value, or `undefined` if `text` is not one.
 */
export function parseIPv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length > 4 || parts.some((part) => part === '')) return undefined;
  const values: number[] = [];
  for (const part of parts) {
    const value = parseIPv4Part(part);
    if (value === undefined) return undefined;
    values.push(value);
  }
  const last = values.pop() ?? 0;
  if (values.some((value) => value > 255)) return undefined;
  if (last >= 256 ** (4 - values.length)) return undefined;
  return values.reduce((sum, value, index) => sum + value * 256 ** (3 - index), 0) + last;
}

function parseIPv4Part(part: string): number | undefined {
  if (/^0x[0-9a-f]*$/i.test(part)) return part.length === 2 ? 0 : parseInt(part.slice(2), 16);
  if (/^0[0-7]+$/.test(part)) return parseInt(part.slice(1), 8);
  if (/^(0|[1-9][0-9]*)$/.test(part)) return Number(part);
  return undefined;
}

/** Parses an IPv6 address (with `::`, an embedded dotted IPv4, no zone) into 8 16-bit groups. */
export function parseIPv6(text: string): number[] | undefined {
  const unbracketed = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (isIP(unbracketed) !== 6) return undefined;
  let body = unbracketed.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(body);
  if (dotted?.[1] !== undefined) {
    const value = parseIPv4(dotted[1]) ?? 0;
    body = `${body.slice(0, -dotted[1].length)}${(value >>> 16).toString(16)}:${(value & 0xffff).toString(16)}`;
  }
  const [head = '', tail] = body.split('::');
  const parse = (side: string) => (side === '' ? [] : side.split(':').map((g) => parseInt(g, 16)));
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  const zeros = new Array<number>(8 - front.length - back.length).fill(0);
  return [...front, ...zeros, ...back];
}

function classifyV4(value: number): AddressClass {
  for (const range of V4_RANGES) {
    const size = 2 ** (32 - range.bits);
    if (value >= range.base && value < range.base + size) return range.cls;
  }
  return 'public';
}

function classifyV6(groups: readonly number[]): AddressClass {
  const g = (index: number) => groups[index] ?? 0;
  const embeddedV4 = (high: number, low: number) => g(high) * 65536 + g(low);
  const zeroBetween = (from: number, to: number) => groups.slice(from, to).every((x) => x === 0);
  const zeroUpTo = (end: number) => zeroBetween(0, end);
  if (zeroUpTo(8)) return 'unspecified';
  if (zeroUpTo(7) && g(7) === 1) return 'loopback';
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d): the IPv4 address decides.
  if (zeroUpTo(5) && (g(5) === 0xffff || g(5) === 0)) return classifyV4(embeddedV4(6, 7));
  // NAT64 (64:ff9b::a.b.c.d) reaches the embedded IPv4 address.
  if (g(0) === 0x64 && g(1) === 0xff9b && zeroBetween(2, 6)) return classifyV4(embeddedV4(6, 7));
  // 6to4 (2002:AABB:CCDD::) tunnels to the embedded IPv4 address.
  if (g(0) === 0x2002) return classifyV4(embeddedV4(1, 2));
  if (g(0) === 0xfd00 && g(1) === 0x0ec2 && zeroBetween(2, 7) && g(7) === 0x254) return 'metadata';
  if ((g(0) & 0xfe00) === 0xfc00) return 'unique_local';
  if ((g(0) & 0xffc0) === 0xfe80) return 'link_local';
  if ((g(0) & 0xffc0) === 0xfec0) return 'private'; // deprecated site-local
  if ((g(0) & 0xff00) === 0xff00) return 'multicast';
  if (g(0) === 0x2001 && g(1) === 0x0db8) return 'reserved'; // documentation
  if (g(0) === 0x0100 && zeroBetween(1, 4)) return 'reserved'; // discard-only
  return 'public';
}

/**
 * Classifies a host as it appears in a URL or a DNS answer: an IPv4 address in any numeric form,
 * an IPv6 address (bracketed or not), or a name. A name is `public` unless it is a metadata
 * service's name: what it resolves to is classified separately.
 */
export function classifyHost(host: string): AddressClass {
  const lower = host.toLowerCase().replace(/\.$/, '');
  if (METADATA_HOSTS.has(lower)) return 'metadata';
  const ipv4 = parseIPv4(lower);
  if (ipv4 !== undefined) return classifyV4(ipv4);
  const ipv6 = parseIPv6(lower);
  if (ipv6 !== undefined) return classifyV6(ipv6);
  return 'public';
}

/** Whether `host` is an IP literal (any IPv4 form, or IPv6), not a name DNS must resolve. */
export function isIpLiteral(host: string): boolean {
  return parseIPv4(host) !== undefined || parseIPv6(host) !== undefined;
}

/** Why an address class is refused, and how to allow it if it can be allowed. */
export function refusalOf(cls: AddressClass, allowPrivate: boolean): string | undefined {
  if (cls === 'public') return undefined;
  if (PRIVATE_CLASSES.has(cls)) {
    return allowPrivate
      ? undefined
      : `${cls} address, refused unless the upstream sets allow_private: true in the env's upstream table`;
  }
  return `${cls} address, never allowed`;
}
