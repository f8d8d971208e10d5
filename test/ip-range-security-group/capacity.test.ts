/* eslint-disable no-bitwise -- an independent bit-level model of addresses and a seeded PRNG */
import * as fs from 'fs';
import * as path from 'path';
import {
  assertCapacity, CapacityError, checkPrefixListCapacity, checkSecurityGroupCapacity, checkWafIpSetCapacity,
  groupRoom, normalizePortRange, normalizePortRanges, portRangeLabel,
} from '../../src/ip-range-security-group/runtime/capacity';
import { CidrCover, minimalCover } from '../../src/ip-range-security-group/runtime/cidr';
import { parseAwsIpRanges } from '../../src/ip-range-security-group/runtime/documents';
import { selectAwsCidrs } from '../../src/ip-range-security-group/runtime/filter';
import { SHARED_DATA_DIR } from '../harness/shared-data';

const DATA = SHARED_DATA_DIR;

function ec2UsEast1(): CidrCover {
  const doc = parseAwsIpRanges(fs.readFileSync(path.join(DATA, 'aws-ip-ranges', 'ip-ranges-1784768825.json')));
  const sel = selectAwsCidrs(doc, { services: ['EC2'], regions: ['us-east-1'] });
  return minimalCover([...sel.ipv4, ...sel.ipv6]);
}

function cover(v4: number, v6: number): CidrCover {
  return {
    ipv4: Array.from({ length: v4 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`),
    ipv6: Array.from({ length: v6 }, (_, i) => `2001:db8:${i.toString(16)}::/48`),
  };
}

describe('security-group capacity', () => {
  const real = ec2UsEast1();

  test('real EC2 us-east-1 cover: 230 IPv4 rules need 4 groups of 60, 168 IPv6 rules need 3', () => {
    expect([real.ipv4.length, real.ipv6.length]).toEqual([230, 168]);
    const check = checkSecurityGroupCapacity(real, { ports: [{ fromPort: 443, toPort: 443 }], maxGroups: 4 });
    expect(check.ok).toBe(true);
    expect(check.families.map((f) => [f.family, f.needed, f.available, f.groupsNeeded])).toEqual([
      ['ipv4', 230, 240, 4],
      ['ipv6', 168, 240, 3],
    ]);
    expect(check.message).toBe('IPv4 230 rules in 4 groups, IPv6 168 rules in 3 groups (4 groups x 60 rules per family available)');
  });

  test('real cover in 3 groups: the error names the numbers', () => {
    const check = checkSecurityGroupCapacity(real, { ports: [{ fromPort: 443, toPort: 443 }], maxGroups: 3 });
    expect(check.ok).toBe(false);
    expect(check.message).toBe('IPv4 cover needs 230 CIDRs x 1 port range = 230 rules; 3 groups x 60 rules = 180 available (maxGroups 3)');
    expect(() => assertCapacity(check)).toThrow(CapacityError);
    expect(() => assertCapacity(check)).toThrow(check.message);
  });

  test('every port range multiplies the rules; both families can fail', () => {
    const check = checkSecurityGroupCapacity(real, { ports: [{ fromPort: 80, toPort: 80 }, { fromPort: 443, toPort: 443 }], maxGroups: 5 });
    expect(check.ok).toBe(false);
    expect(check.message).toBe(
      'IPv4 cover needs 230 CIDRs x 2 port ranges = 460 rules; 5 groups x 60 rules = 300 available (maxGroups 5); and ' +
      'IPv6 cover needs 168 CIDRs x 2 port ranges = 336 rules; 5 groups x 60 rules = 300 available (maxGroups 5)');
    expect(check.families.map((f) => f.groupsNeeded)).toEqual([8, 6]);
  });

  test('IPv4 and IPv6 have separate quotas: 60 + 60 rules fit in one group of 60', () => {
    expect(checkSecurityGroupCapacity(cover(60, 60), { ports: [{ fromPort: 443, toPort: 443 }], maxGroups: 1 }).ok).toBe(true);
    const over = checkSecurityGroupCapacity(cover(60, 61), { ports: [{ fromPort: 443, toPort: 443 }], maxGroups: 1 });
    expect(over.ok).toBe(false);
    expect(over.message).toBe('IPv6 cover needs 61 CIDRs x 1 port range = 61 rules; 1 group x 60 rules = 60 available (maxGroups 1)');
  });

  test('rulesPerGroup and reserved rules', () => {
    expect(checkSecurityGroupCapacity(cover(100, 0), { ports: [{ fromPort: 1, toPort: 1 }], maxGroups: 1, rulesPerGroup: 100 }).ok).toBe(true);
    const check = checkSecurityGroupCapacity(cover(118, 0), {
      ports: [{ fromPort: 1, toPort: 1 }], maxGroups: 2, reservedRules: [{ ipv4: 2, ipv6: 0 }, { ipv4: 1, ipv6: 5 }],
    });
    expect(check.ok).toBe(false);
    expect(check.message).toBe('IPv4 cover needs 118 CIDRs x 1 port range = 118 rules; 2 groups x 60 rules - 3 used by rules the sync does not own = 117 available (maxGroups 2)');
    expect(groupRoom({ ports: [], maxGroups: 3, reservedRules: [{ ipv4: 70, ipv6: 0 }, undefined] }, 'ipv4')).toEqual([0, 60, 60]);
  });

  test('an empty cover fits', () => {
    expect(checkSecurityGroupCapacity(cover(0, 0), { ports: [{ fromPort: 1, toPort: 1 }], maxGroups: 1 }).message).toContain('no rules');
  });

  test('invalid settings are RangeErrors', () => {
    const c = cover(1, 0);
    expect(() => checkSecurityGroupCapacity(c, { ports: [], maxGroups: 1 })).toThrow('ports must list at least one port range');
    expect(() => checkSecurityGroupCapacity(c, { ports: [{ fromPort: 1, toPort: 1 }], maxGroups: 0 })).toThrow(RangeError);
    expect(() => checkSecurityGroupCapacity(c, { ports: [{ fromPort: 1, toPort: 1 }], maxGroups: 1, rulesPerGroup: 1001 })).toThrow('rulesPerGroup must be an integer in 1..1000, got 1001');
    expect(() => checkSecurityGroupCapacity(c, { ports: [{ fromPort: 1, toPort: 1 }], maxGroups: 1, rulesPerGroup: 1.5 })).toThrow(RangeError);
  });
});

describe('port ranges', () => {
  test.each([
    [{ fromPort: 443, toPort: 443 }, { protocol: 'tcp', fromPort: 443, toPort: 443 }, 'tcp/443'],
    [{ protocol: 'UDP', fromPort: 53, toPort: 53 }, { protocol: 'udp', fromPort: 53, toPort: 53 }, 'udp/53'],
    [{ protocol: '6', fromPort: 8000, toPort: 8100 }, { protocol: 'tcp', fromPort: 8000, toPort: 8100 }, 'tcp/8000-8100'],
    [{ protocol: '-1', fromPort: 0, toPort: 65535 }, { protocol: '-1', fromPort: -1, toPort: -1 }, 'all'],
    [{ protocol: 'icmp', fromPort: -1, toPort: -1 }, { protocol: 'icmp', fromPort: -1, toPort: -1 }, 'icmp/-1'],
    [{ protocol: '50', fromPort: -1, toPort: -1 }, { protocol: '50', fromPort: -1, toPort: -1 }, '50/-1'],
  ])('%j', (input, normal, label) => {
    expect(normalizePortRange(input)).toEqual(normal);
    expect(portRangeLabel(normalizePortRange(input))).toBe(label);
  });

  test.each([
    [{ fromPort: 443, toPort: 80 }, 'tcp toPort must be an integer in 443..65535, got 80'],
    [{ fromPort: -1, toPort: 80 }, 'tcp fromPort'],
    [{ fromPort: 0, toPort: 70000 }, 'tcp toPort'],
    [{ protocol: 'sctp', fromPort: 1, toPort: 1 }, 'Unknown protocol "sctp"'],
    [{ protocol: '300', fromPort: 1, toPort: 1 }, 'Unknown protocol "300"'],
  ])('%j is rejected', (input, message) => {
    expect(() => normalizePortRange(input)).toThrow(message);
  });

  test('duplicates are dropped, order kept', () => {
    expect(normalizePortRanges([{ fromPort: 443, toPort: 443 }, { fromPort: 80, toPort: 80 }, { protocol: '6', fromPort: 443, toPort: 443 }]))
      .toEqual([{ protocol: 'tcp', fromPort: 443, toPort: 443 }, { protocol: 'tcp', fromPort: 80, toPort: 80 }]);
  });
});

describe('prefix-list and WAF capacity', () => {
  test('prefix list', () => {
    const real = ec2UsEast1();
    expect(checkPrefixListCapacity('ipv4', real.ipv4, 250)).toMatchObject({ ok: true, message: 'IPv4 prefix list: 230 of 250 entries' });
    expect(checkPrefixListCapacity('ipv4', real.ipv4, 200)).toMatchObject({
      ok: false, message: 'IPv4 cover needs 230 prefix-list entries; the prefix list holds at most 200 (maxEntries)',
    });
    expect(() => checkPrefixListCapacity('ipv4', [], 1001)).toThrow('maxEntries must be an integer in 1..1000, got 1001');
  });

  test('WAF IP set: 10,000 addresses, no /0', () => {
    const big = Array.from({ length: 10_001 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    expect(checkWafIpSetCapacity('ipv4', big.slice(0, 10_000)).ok).toBe(true);
    expect(checkWafIpSetCapacity('ipv4', big)).toMatchObject({ ok: false, message: 'IPv4 cover needs 10001 addresses; a WAF IP set holds at most 10000' });
    expect(checkWafIpSetCapacity('ipv6', ['::/0'])).toMatchObject({ ok: false, message: 'WAF IP sets do not accept /0 (::/0)' });
    expect(checkWafIpSetCapacity('ipv4', ['10.0.0.0/8'], 5).message).toBe('IPv4 WAF IP set: 1 of 5 addresses');
    expect(() => checkWafIpSetCapacity('ipv4', [], 10_001)).toThrow(RangeError);
  });
});
