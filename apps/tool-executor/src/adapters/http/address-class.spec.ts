import { describe, expect, it } from 'vitest';
import { classifyHost, parseIPv4, refusalOf, type AddressClass } from './address-class.js';

describe('classifyHost', () => {
  const corpus: [string, AddressClass][] = [
    ['169.254.169.254', 'metadata'],
    ['metadata.google.internal', 'metadata'],
    ['METADATA.GOOGLE.INTERNAL.', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['2130706433', 'loopback'],
    ['0177.0.0.1', 'loopback'],
    ['0x7f.0.0.1', 'loopback'],
    ['0x7f000001', 'loopback'],
    ['127.1', 'loopback'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['[::ffff:7f00:1]', 'loopback'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['2002:7f00:1::', 'loopback'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['::ffff:192.168.1.1', 'private'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['169.254.1.1', 'link_local'],
    ['fe80::1', 'link_local'],
    ['fc00::1', 'unique_local'],
    ['fdff:ffff::1', 'unique_local'],
    ['0.0.0.0', 'unspecified'],
    ['0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['8.8.8.8', 'public'],
    ['172.32.0.1', 'public'],
    ['100.128.0.1', 'public'],
    ['172.15.255.255', 'public'],
    ['2606:4700::1111', 'public'],
    ['::ffff:8.8.8.8', 'public'],
    ['example.com', 'public'],
  ];
  it.each(corpus)('classifies %s as %s', (host, cls) => {
    expect(classifyHost(host)).toBe(cls);
  });
});

describe('parseIPv4', () => {
  it('reads every numeric form the URL parser and inet_aton accept', () => {
    expect(parseIPv4('2130706433')).toBe(0x7f000001);
    expect(parseIPv4('0177.0.0.1')).toBe(0x7f000001);
    expect(parseIPv4('0x7f.0.0.1')).toBe(0x7f000001);
    expect(parseIPv4('127.0.1')).toBe(0x7f000001);
  });

  it('rejects what is not an address', () => {
    for (const text of ['256.0.0.1', '1.2.3.4.5', '4294967296', '08.0.0.1', 'a.b.c.d', '1..1', ''])
      expect(parseIPv4(text)).toBeUndefined();
  });
});

describe('refusalOf', () => {
  it('lets allow_private open private ranges but never metadata, unspecified or multicast', () => {
    expect(refusalOf('loopback', false)).toMatch(/allow_private: true/);
    expect(refusalOf('loopback', true)).toBeUndefined();
    expect(refusalOf('cgnat', true)).toBeUndefined();
    expect(refusalOf('metadata', true)).toMatch(/never allowed/);
    expect(refusalOf('unspecified', true)).toMatch(/never allowed/);
    expect(refusalOf('multicast', true)).toMatch(/never allowed/);
    expect(refusalOf('public', false)).toBeUndefined();
  });
});
