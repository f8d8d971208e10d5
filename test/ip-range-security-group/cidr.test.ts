/* eslint-disable no-bitwise -- an independent bit-level model of addresses and a seeded PRNG */
import {
  addressCount, cidrFamily, cidrFamilyOf, compareCidrs, coverFingerprint, indexCidrs, InvalidCidrError, isCoveredBy, isValidCidr,
  minimalCover, normalizeCidr, overlapsAny, prefixLength, sortCidrs, splitByFamily,
} from '../../src/ip-range-security-group/runtime/cidr';
import { prng } from '../harness/prng';

// ---------------------------------------------------------------------------------------------
// Independent BigInt model of CIDRs, used only to verify the production code (which uses cidr-tools).
// ---------------------------------------------------------------------------------------------

type Fam = 4 | 6;
interface Net { fam: Fam; start: bigint; end: bigint; prefix: number }

const BITS: Record<Fam, number> = { 4: 32, 6: 128 };

function parseV4(s: string): bigint {
  const parts = s.split('.');
  if (parts.length !== 4) throw new Error(`bad v4 ${s}`);
  return parts.reduce((acc, p) => {
    const n = Number(p);
    if (!/^\d+$/.test(p) || n > 255) throw new Error(`bad v4 ${s}`);
    return acc * 256n + BigInt(n);
  }, 0n);
}

function parseV6(s: string): bigint {
  let text = s.toLowerCase();
  const groups: string[] = [];
  if (text.includes('.')) {
    const at = text.lastIndexOf(':');
    const v4 = parseV4(text.slice(at + 1));
    text = `${text.slice(0, at + 1)}${(v4 / 65536n).toString(16)}:${(v4 % 65536n).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) throw new Error(`bad v6 ${s}`);
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  groups.push(...head, ...Array(fill).fill('0'), ...tail);
  if (groups.length !== 8) throw new Error(`bad v6 ${s}`);
  return groups.reduce((acc, g) => {
    if (!/^[0-9a-f]{1,4}$/.test(g)) throw new Error(`bad v6 ${s}`);
    return acc * 65536n + BigInt(parseInt(g, 16));
  }, 0n);
}

function parseNet(cidr: string): Net {
  const [addr, len] = cidr.split('/');
  const fam: Fam = addr.includes(':') ? 6 : 4;
  const prefix = Number(len);
  const value = fam === 4 ? parseV4(addr) : parseV6(addr);
  const size = 1n << BigInt(BITS[fam] - prefix);
  const start = value - (value % size);
  return { fam, start, end: start + size - 1n, prefix };
}

function formatV4(n: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => ((n >> s) & 255n).toString()).join('.');
}

/** Full, uncompressed, optionally upper-case IPv6 text: exercises normalisation. */
function formatV6Full(n: bigint, upper: boolean): string {
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((n >> BigInt(i * 16)) & 0xffffn).toString(16).padStart(4, '0'));
  const text = groups.join(':');
  return upper ? text.toUpperCase() : text;
}

function formatNet(fam: Fam, value: bigint, prefix: number, upper = false): string {
  return `${fam === 4 ? formatV4(value) : formatV6Full(value, upper)}/${prefix}`;
}

/** Merged, sorted intervals of a set of networks (one family). */
function union(nets: Net[]): [bigint, bigint][] {
  const sorted = [...nets].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const n of sorted) {
    const last = out[out.length - 1];
    if (last && n.start <= last[1] + 1n) {
      if (n.end > last[1]) last[1] = n.end;
    } else {
      out.push([n.start, n.end]);
    }
  }
  return out;
}

/** The canonical minimal decomposition of intervals into aligned blocks (greedy, largest first). */
function greedyBlocks(fam: Fam, intervals: [bigint, bigint][]): string[] {
  const out: string[] = [];
  for (const [s0, e] of intervals) {
    let s = s0;
    while (s <= e) {
      let bits = BITS[fam];
      while (bits > 0) {
        const size = 1n << BigInt(bits);
        if (s % size === 0n && s + size - 1n <= e) break;
        bits--;
      }
      out.push(`${fam}:${s}/${BITS[fam] - bits}`);
      s += 1n << BigInt(bits);
    }
  }
  return out;
}

function inside(addr: bigint, nets: Net[]): boolean {
  return nets.some((n) => n.start <= addr && addr <= n.end);
}


function randInt(rand: () => number, min: number, max: number): number {
  return min + Math.floor(rand() * (max - min + 1));
}

function randBig(rand: () => number, bits: number): bigint {
  let v = 0n;
  for (let i = 0; i < bits; i += 16) v = (v << 16n) | BigInt(Math.floor(rand() * 65536));
  return v & ((1n << BigInt(bits)) - 1n);
}

/** A random set of CIDRs clustered in one base network, so overlaps and adjacency are common. */
function randomCidrs(rand: () => number, fam: Fam): string[] {
  const bits = BITS[fam];
  const baseLen = fam === 4 ? randInt(rand, 8, 24) : randInt(rand, 16, 112);
  const base = randBig(rand, bits) >> BigInt(bits - baseLen) << BigInt(bits - baseLen);
  const span = bits - baseLen;
  const n = randInt(rand, 1, 40);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.1 && out.length > 0) {
      out.push(out[randInt(rand, 0, out.length - 1)]); // duplicate
      continue;
    }
    if (r < 0.12) {
      // extreme networks: whole space, first and last address
      out.push([formatNet(fam, 0n, 0), formatNet(fam, 0n, bits), formatNet(fam, (1n << BigInt(bits)) - 1n, bits)][randInt(rand, 0, 2)]);
      continue;
    }
    // Prefix lengths near the bottom of the base make merges likely.
    const prefix = Math.min(bits, baseLen + randInt(rand, 1, Math.min(span, 6)) + (rand() < 0.3 ? randInt(rand, 0, span) : 0));
    const hostBits = bits - prefix;
    let value = base + (randBig(rand, span) >> BigInt(hostBits) << BigInt(hostBits));
    if (rand() < 0.2 && hostBits > 0) value += randBig(rand, hostBits); // host bits set
    out.push(formatNet(fam, value, prefix, rand() < 0.5));
  }
  return out;
}

function sample(rand: () => number, n: Net): bigint[] {
  const size = n.end - n.start + 1n;
  const bits = BITS[n.fam];
  return [n.start, n.end, ...[0, 1, 2].map(() => n.start + (randBig(rand, bits) % size))];
}

/** Checks a cover against the BigInt model; returns the problems found (empty when correct). */
function coverProblems(inputs: string[], cover: { ipv4: string[]; ipv6: string[] }, rand: () => number): string[] {
  const problems: string[] = [];
  const check = (ok: boolean, what: string): void => {
    if (!ok) problems.push(what);
  };
  for (const fam of [4, 6] as Fam[]) {
    const out = fam === 4 ? cover.ipv4 : cover.ipv6;
    const inNets = inputs.filter((c) => (c.includes(':') ? 6 : 4) === fam).map(parseNet);
    const outNets = out.map(parseNet);
    // Canonical text: the printed address is the network address, IPv6 lower-case and compressed.
    for (const c of out) {
      const n = parseNet(c);
      check(n.fam === fam, `${c} is not IPv${fam}`);
      const addr = c.split('/')[0];
      check((fam === 4 ? parseV4(addr) : parseV6(addr)) === n.start, `${c} has host bits set`);
      if (fam === 6) check(addr === addr.toLowerCase() && !/(^|:)0[0-9a-f]/.test(addr), `${c} is not canonical`);
    }
    // Sorted, disjoint, and no two siblings that would form a larger prefix.
    for (let i = 1; i < outNets.length; i++) {
      const a = outNets[i - 1];
      const b = outNets[i];
      check(a.end < b.start, `${out[i - 1]} and ${out[i]} overlap or are unsorted`);
      const siblings = a.prefix === b.prefix && a.prefix > 0 && a.end + 1n === b.start
        && a.start % (2n * (a.end - a.start + 1n)) === 0n;
      check(!siblings, `${out[i - 1]} and ${out[i]} are mergeable siblings`);
    }
    // Every input address is covered (sampled: network, broadcast and random addresses).
    for (const n of inNets) for (const addr of sample(rand, n)) check(inside(addr, outNets), `input address ${addr} not covered`);
    // No address outside the inputs is covered (sampled inside every output CIDR).
    for (const n of outNets) for (const addr of sample(rand, n)) check(inside(addr, inNets), `address ${addr} covered but not in the input`);
    // Exactly the same address set, and exactly the canonical minimal decomposition.
    check(JSON.stringify(union(outNets).map(String)) === JSON.stringify(union(inNets).map(String)), 'address sets differ');
    check(JSON.stringify(outNets.map((n) => `${fam}:${n.start}/${n.prefix}`)) === JSON.stringify(greedyBlocks(fam, union(inNets))),
      'not the minimal decomposition');
  }
  return problems;
}

function verifyCover(inputs: string[], cover: { ipv4: string[]; ipv6: string[] }, rand: () => number): void {
  expect({ inputs, problems: coverProblems(inputs, cover, rand) }).toEqual({ inputs, problems: [] });
}

describe('minimalCover: property tests against an independent BigInt model', () => {
  test.each([101, 202, 303, 404, 505])('random IPv4 sets (seed %i)', (seed) => {
    const rand = prng(seed);
    for (let trial = 0; trial < 40; trial++) {
      const inputs = randomCidrs(rand, 4);
      verifyCover(inputs, minimalCover(inputs), rand);
    }
  });

  test.each([11, 22, 33, 44, 55])('random IPv6 sets (seed %i)', (seed) => {
    const rand = prng(seed);
    for (let trial = 0; trial < 40; trial++) {
      const inputs = randomCidrs(rand, 6);
      verifyCover(inputs, minimalCover(inputs), rand);
    }
  });

  test.each([7, 8, 9])('mixed families, any input order gives the same cover (seed %i)', (seed) => {
    const rand = prng(seed);
    for (let trial = 0; trial < 30; trial++) {
      const inputs = [...randomCidrs(rand, 4), ...randomCidrs(rand, 6)];
      const cover = minimalCover(inputs);
      verifyCover(inputs, cover, rand);
      const shuffled = [...inputs].sort(() => rand() - 0.5);
      expect(minimalCover(shuffled)).toEqual(cover);
    }
  });

  test.each([4, 6] as Fam[])('indexCidrs, isCoveredBy and overlapsAny agree with the model (IPv%i)', (fam) => {
    const rand = prng(1000 + fam);
    for (let trial = 0; trial < 40; trial++) {
      const set = randomCidrs(rand, fam);
      const nets = set.map(parseNet);
      const index = indexCidrs(set);
      for (const query of randomCidrs(rand, fam).slice(0, 10)) {
        const q = parseNet(query);
        const overlaps = nets.some((n) => n.start <= q.end && q.start <= n.end);
        // Covered iff the union contains [start, end]: the merged interval holding start reaches end.
        const covers = union(nets).some(([s, e]) => s <= q.start && q.end <= e);
        expect([query, index.overlaps(query), index.covers(query)]).toEqual([query, overlaps, covers]);
        expect(overlapsAny(query, set)).toBe(overlaps);
        expect(isCoveredBy(query, set)).toBe(covers);
      }
      // Nothing of the other family is ever covered or overlapped.
      const other = fam === 4 ? '::/0' : '0.0.0.0/0';
      expect([index.overlaps(other), index.covers(other)]).toEqual([false, false]);
    }
  });

  test('the BigInt model itself detects a wrong cover', () => {
    const rand = prng(1);
    // A cover that is too wide, one that misses addresses, and one with mergeable siblings.
    expect(coverProblems(['10.0.0.0/25'], { ipv4: ['10.0.0.0/24'], ipv6: [] }, rand)).toContain('address sets differ');
    expect(coverProblems(['10.0.0.0/23'], { ipv4: ['10.0.0.0/24'], ipv6: [] }, rand)).toContain('address sets differ');
    expect(coverProblems(['10.0.0.0/23'], { ipv4: ['10.0.0.0/24', '10.0.1.0/24'], ipv6: [] }, rand))
      .toEqual(['10.0.0.0/24 and 10.0.1.0/24 are mergeable siblings', 'not the minimal decomposition']);
    expect(coverProblems(['2001:db8::/32'], { ipv4: [], ipv6: ['2001:0db8::/32'] }, rand)).toEqual(['2001:0db8::/32 is not canonical']);
    expect(coverProblems(['10.0.0.0/23'], { ipv4: ['10.0.0.0/23'], ipv6: [] }, rand)).toEqual([]);
  });
});

describe('minimalCover: examples', () => {
  test('merges adjacent and overlapping networks, drops duplicates, clears host bits', () => {
    expect(minimalCover(['10.0.1.0/24', '10.0.0.0/24', '10.0.0.0/24', '10.0.0.77/25', '192.168.1.1/16'])).toEqual({
      ipv4: ['10.0.0.0/23', '192.168.0.0/16'],
      ipv6: [],
    });
  });

  test('does not merge adjacent networks that are not siblings', () => {
    expect(minimalCover(['10.0.1.0/24', '10.0.2.0/24'])).toEqual({ ipv4: ['10.0.1.0/24', '10.0.2.0/24'], ipv6: [] });
  });

  test('four adjacent IPv6 /64s become one /62; IPv6 is lower-case and compressed', () => {
    expect(minimalCover([
      '2600:F0F3:F010:3400::/64', '2600:f0f3:f010:3401::/64', '2600:f0f3:f010:3402:0:0:0:0/64', '2600:f0f3:f010:3403::/64',
    ]).ipv6).toEqual(['2600:f0f3:f010:3400::/62']);
  });

  test('sorts numerically, not as text', () => {
    expect(minimalCover(['9.0.0.0/8', '100.0.0.0/8', '10.0.0.0/8']).ipv4).toEqual(['9.0.0.0/8', '10.0.0.0/8', '100.0.0.0/8']);
  });

  test('whole address spaces and an empty input', () => {
    expect(minimalCover(['0.0.0.0/0', '1.2.3.4/32', '::/0', '2001:db8::/32'])).toEqual({ ipv4: ['0.0.0.0/0'], ipv6: ['::/0'] });
    expect(minimalCover([])).toEqual({ ipv4: [], ipv6: [] });
  });

  test('rejects what cidr-tools would silently accept', () => {
    for (const bad of ['10.0.0.0/33', '1.2.3/24', '256.1.1.1/8', ' 10.0.0.0/8', '10.0.0.0', '::/129']) {
      expect(() => minimalCover(['10.0.0.0/8', bad])).toThrow(InvalidCidrError);
    }
  });
});

describe('validation and helpers', () => {
  test.each([
    ['10.0.0.0/8', 'ipv4'], ['0.0.0.0/0', 'ipv4'], ['255.255.255.255/32', 'ipv4'], ['10.0.0.1/8', 'ipv4'],
    ['2001:db8::/32', 'ipv6'], ['::/0', 'ipv6'], ['2001:DB8::1/128', 'ipv6'], ['::ffff:1.2.3.4/128', 'ipv6'],
  ])('valid %s is %s', (cidr, family) => {
    expect(isValidCidr(cidr)).toBe(true);
    expect(cidrFamilyOf(cidr)).toBe(family);
    expect(cidrFamily(cidr)).toBe(family);
  });

  test.each([
    '10.0.0.0/33', '10.0.0.0', '10.0.0.0/', '/8', '1.2.3/24', '01.2.3.4/8', '256.1.1.1/8', ' 10.0.0.0/8', '10.0.0.0/8 ',
    '10.0.0.0/08', '10.0.0.0/+8', '10.0.0.0/-1', '10.0.0.0/8/8', '0x0a.0.0.0/8', '::/129', '2001:db8:::/32',
    'fe80::1%eth0/64', '2001:db8::/032', 'example.com/24', '',
  ])('invalid %j', (value) => {
    expect(isValidCidr(value)).toBe(false);
    expect(() => cidrFamily(value)).toThrow(InvalidCidrError);
  });

  test('non-strings are not CIDRs', () => {
    expect(isValidCidr(undefined)).toBe(false);
    expect(isValidCidr(42)).toBe(false);
    expect(isValidCidr(['10.0.0.0/8'])).toBe(false);
  });

  test('normalizeCidr, prefixLength, addressCount', () => {
    expect(normalizeCidr('10.1.2.3/16')).toBe('10.1.0.0/16');
    expect(normalizeCidr('2001:0DB8:0000:0000::1/48')).toBe('2001:db8::/48');
    expect(prefixLength('2001:db8::/48')).toBe(48);
    expect(addressCount('10.0.0.0/24')).toBe(256n);
    expect(addressCount('::/0')).toBe(2n ** 128n);
    expect(() => normalizeCidr('10.0.0.0/40')).toThrow('Invalid CIDR "10.0.0.0/40"');
  });

  test('compareCidrs and sortCidrs: IPv4 first, numeric, shorter prefix first', () => {
    expect(sortCidrs(['2001:db8::/32', '10.0.0.0/16', '10.0.0.0/8', '9.255.0.0/16', '::/0'])).toEqual([
      '9.255.0.0/16', '10.0.0.0/8', '10.0.0.0/16', '::/0', '2001:db8::/32',
    ]);
    expect(compareCidrs('10.0.0.0/8', '10.0.0.0/8')).toBe(0);
  });

  test('splitByFamily normalises and de-duplicates without merging', () => {
    expect(splitByFamily(['10.0.1.0/24', '10.0.0.5/24', '10.0.0.0/24', '2001:DB8::/64'])).toEqual({
      ipv4: ['10.0.0.0/24', '10.0.1.0/24'],
      ipv6: ['2001:db8::/64'],
    });
  });

  test('isCoveredBy and overlapsAny ignore the other family', () => {
    expect(isCoveredBy('10.0.0.128/25', ['10.0.0.0/24'])).toBe(true);
    expect(isCoveredBy('10.0.0.0/23', ['10.0.0.0/24'])).toBe(false);
    expect(isCoveredBy('10.0.0.0/23', ['10.0.0.0/24', '10.0.1.0/24'])).toBe(true);
    expect(isCoveredBy('10.0.0.0/24', ['2001:db8::/32'])).toBe(false);
    expect(overlapsAny('10.0.0.0/23', ['10.0.1.128/25'])).toBe(true);
    expect(overlapsAny('10.0.2.0/24', ['10.0.1.128/25', '::/0'])).toBe(false);
  });

  test('coverFingerprint depends on the set only', () => {
    const a = coverFingerprint({ ipv4: ['10.0.0.0/8', '192.168.0.0/16'], ipv6: ['2001:db8::/32'] });
    expect(coverFingerprint({ ipv4: ['192.168.0.0/16', '10.0.0.0/8', '10.0.0.0/8'], ipv6: ['2001:DB8::/32'] })).toBe(a);
    expect(coverFingerprint({ ipv4: ['10.0.0.0/8'], ipv6: ['2001:db8::/32'] })).not.toBe(a);
    // The family is part of the fingerprint.
    expect(coverFingerprint({ ipv4: [], ipv6: [] })).not.toBe(coverFingerprint({ ipv4: [], ipv6: ['::/0'] }));
    expect(a).toMatch(/^[0-9a-f]{64}$/);
  });
});
