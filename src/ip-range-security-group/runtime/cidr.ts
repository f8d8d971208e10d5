/**
 * CIDR helpers for the IP range sync: strict validation, address-family detection, normalisation
 * and the minimal cover of a set of CIDRs.
 *
 * Pure logic, no AWS client. The range arithmetic (merging, containment, overlap) is delegated to
 * the `cidr-tools` package; this module adds the strict input validation cidr-tools does not do
 * (it silently accepts `10.0.0.0/33`, `1.2.3/24` or `256.1.1.1/8`) and a deterministic order.
 */
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

// cidr-tools is ESM-only; the package compiles to CommonJS (module node16). Node 20.19+ and
// esbuild load it through require(); jest transpiles it (transformIgnorePatterns).
type CidrTools = typeof import('cidr-tools', { with: { 'resolution-mode': 'import' } });
// eslint-disable-next-line @typescript-eslint/no-require-imports
const cidrTools: CidrTools = require('cidr-tools');

/** An IP address family. */
export type AddressFamily = 'ipv4' | 'ipv6';

/** Both address families, IPv4 first: the order used everywhere in these modules. */
export const ADDRESS_FAMILIES: readonly AddressFamily[] = ['ipv4', 'ipv6'];

/** CIDRs split by address family. */
export interface CidrsByFamily {
  readonly ipv4: string[];
  readonly ipv6: string[];
}

/** The minimal cover of a set of CIDRs: normalised, merged, sorted, per address family. */
export type CidrCover = CidrsByFamily;

/** Thrown when a string is not a valid CIDR (or not of the expected address family). */
export class InvalidCidrError extends Error {
  /** The offending value. */
  public readonly cidr: string;

  constructor(cidr: string, reason?: string) {
    super(`Invalid CIDR ${JSON.stringify(cidr)}${reason ? `: ${reason}` : ''}`);
    this.name = 'InvalidCidrError';
    this.cidr = cidr;
  }
}

const PREFIX_DIGITS = /^(0|[1-9][0-9]{0,2})$/;

/**
 * The address family of a CIDR, or `undefined` when the value is not a strictly valid CIDR.
 *
 * Strict means: an address (dotted quad without leading zeros, or an RFC 4291 IPv6 address without
 * a zone index), a slash, and a decimal prefix length without leading zeros in range
 * (0..32 for IPv4, 0..128 for IPv6). No surrounding white space. Host bits may be set
 * (`10.0.0.1/8` is accepted and normalised to `10.0.0.0/8` by {@link normalizeCidr}).
 */
export function cidrFamilyOf(value: unknown): AddressFamily | undefined {
  if (typeof value !== 'string' || value.length > 64) return undefined;
  const slash = value.indexOf('/');
  if (slash <= 0 || slash !== value.lastIndexOf('/')) return undefined;
  const address = value.slice(0, slash);
  const prefix = value.slice(slash + 1);
  if (!PREFIX_DIGITS.test(prefix)) return undefined;
  const length = Number(prefix);
  if (isIPv4(address)) return length <= 32 ? 'ipv4' : undefined;
  if (isIPv6(address) && !address.includes('%')) return length <= 128 ? 'ipv6' : undefined;
  return undefined;
}

/**
 * True when `value` is a strictly valid IPv4 or IPv6 CIDR (see {@link cidrFamilyOf}).
 * A bare address without a prefix length is not a CIDR.
 */
export function isValidCidr(value: unknown): value is string {
  return cidrFamilyOf(value) !== undefined;
}

/**
 * The address family of a CIDR.
 * @throws InvalidCidrError when the value is not a valid CIDR
 */
export function cidrFamily(cidr: string): AddressFamily {
  const family = cidrFamilyOf(cidr);
  if (!family) throw new InvalidCidrError(cidr);
  return family;
}

/**
 * The canonical text of a CIDR: host bits cleared, IPv6 lower-case and compressed
 * (`2001:DB8:0::1/32` -> `2001:db8::/32`). Two CIDRs denote the same network iff their
 * canonical texts are equal.
 * @throws InvalidCidrError when the value is not a valid CIDR
 */
export function normalizeCidr(cidr: string): string {
  cidrFamily(cidr);
  return cidrTools.normalizeCidr(cidr);
}

/** The prefix length of a valid CIDR (`10.0.0.0/8` -> 8). */
export function prefixLength(cidr: string): number {
  cidrFamily(cidr);
  return Number(cidr.slice(cidr.indexOf('/') + 1));
}

interface SortKey {
  readonly cidr: string;
  readonly family: AddressFamily;
  readonly start: bigint;
  readonly prefix: number;
}

function sortKey(cidr: string): SortKey {
  const family = cidrFamily(cidr);
  const parsed = cidrTools.parseCidr(cidr);
  return { cidr, family, start: parsed.start, prefix: Number(parsed.prefix) };
}

function compareKeys(a: SortKey, b: SortKey): number {
  if (a.family !== b.family) return a.family === 'ipv4' ? -1 : 1;
  if (a.start !== b.start) return a.start < b.start ? -1 : 1;
  if (a.prefix !== b.prefix) return a.prefix - b.prefix;
  return a.cidr < b.cidr ? -1 : a.cidr > b.cidr ? 1 : 0;
}

/**
 * Compares two CIDRs numerically: IPv4 before IPv6, then by network address, then shorter prefix
 * first. Use it (or {@link sortCidrs}) wherever a deterministic order is needed.
 */
export function compareCidrs(a: string, b: string): number {
  return compareKeys(sortKey(a), sortKey(b));
}

/** A sorted copy of `cidrs` (numeric order, see {@link compareCidrs}); the input is not changed. */
export function sortCidrs(cidrs: readonly string[]): string[] {
  return cidrs.map(sortKey).sort(compareKeys).map((k) => k.cidr);
}

/**
 * Splits CIDRs by address family, normalising each one and dropping exact duplicates.
 * Unlike {@link minimalCover} it does not merge: the result holds one entry per distinct network.
 * @throws InvalidCidrError on the first invalid value
 */
export function splitByFamily(cidrs: readonly string[]): CidrsByFamily {
  const seen = new Set<string>();
  const out: CidrsByFamily = { ipv4: [], ipv6: [] };
  for (const cidr of cidrs) {
    const family = cidrFamily(cidr);
    const normal = cidrTools.normalizeCidr(cidr);
    if (seen.has(normal)) continue;
    seen.add(normal);
    out[family].push(normal);
  }
  return { ipv4: sortCidrs(out.ipv4), ipv6: sortCidrs(out.ipv6) };
}

/**
 * The minimal cover of a set of CIDRs, per address family: the fewest CIDRs that cover exactly the
 * addresses of the input (nothing more, nothing less). Duplicates are dropped, host bits cleared,
 * overlapping and adjacent networks merged (`10.0.0.0/24` + `10.0.1.0/24` -> `10.0.0.0/23`,
 * four adjacent `/64`s -> one `/62`). The output is sorted numerically and therefore deterministic:
 * the same set of input networks always gives the same arrays, whatever their order.
 * @throws InvalidCidrError on the first invalid value
 */
export function minimalCover(cidrs: readonly string[]): CidrCover {
  const byFamily: CidrsByFamily = { ipv4: [], ipv6: [] };
  for (const cidr of cidrs) {
    byFamily[cidrFamily(cidr)].push(cidr);
  }
  return {
    ipv4: byFamily.ipv4.length ? sortCidrs(cidrTools.mergeCidr(byFamily.ipv4)) : [],
    ipv6: byFamily.ipv6.length ? sortCidrs(cidrTools.mergeCidr(byFamily.ipv6)) : [],
  };
}

/**
 * True when the union of `networks` contains every address of `cidr` (both must be valid CIDRs;
 * networks of the other address family are ignored). `10.0.0.0/23` is covered by
 * `10.0.0.0/24` + `10.0.1.0/24`.
 */
export function isCoveredBy(cidr: string, networks: readonly string[]): boolean {
  const family = cidrFamily(cidr);
  const same = networks.filter((n) => cidrFamily(n) === family);
  // cidr-tools' containsCidr asks whether ONE network contains the CIDR, not their union. An
  // aligned block inside a union is inside one block of the union's minimal cover, so merge first.
  return same.length > 0 && cidrTools.containsCidr(cidrTools.mergeCidr(same), cidr);
}

/**
 * True when `cidr` shares at least one address with the union of `networks` (networks of the other
 * address family never overlap).
 */
export function overlapsAny(cidr: string, networks: readonly string[]): boolean {
  const family = cidrFamily(cidr);
  const same = networks.filter((n) => cidrFamily(n) === family);
  return same.length > 0 && cidrTools.overlapCidr(same, cidr);
}

/** A set of networks, indexed for fast overlap and coverage questions (see {@link indexCidrs}). */
export interface CidrIndex {
  /** True when `cidr` shares at least one address with the set. */
  overlaps(cidr: string): boolean;
  /** True when every address of `cidr` is in the set. */
  covers(cidr: string): boolean;
}

/**
 * Indexes a set of networks (both families) for repeated {@link CidrIndex.overlaps} and
 * {@link CidrIndex.covers} questions in O(log n) each, instead of {@link overlapsAny} /
 * {@link isCoveredBy} which scan the whole list every time.
 */
export function indexCidrs(networks: readonly string[]): CidrIndex {
  const cover = minimalCover(networks);
  // The minimal cover (cidr-tools) is sorted and disjoint: binary search its ranges.
  const ranges = {
    ipv4: cover.ipv4.map((c) => cidrTools.parseCidr(c)),
    ipv6: cover.ipv6.map((c) => cidrTools.parseCidr(c)),
  };
  const lastStartingAtOrBefore = (family: AddressFamily, address: bigint): number => {
    const list = ranges[family];
    let lo = 0;
    let hi = list.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (list[mid].start <= address) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  };
  return {
    overlaps(cidr: string): boolean {
      const family = cidrFamily(cidr);
      const { start, end } = cidrTools.parseCidr(cidr);
      const i = lastStartingAtOrBefore(family, end);
      return i >= 0 && ranges[family][i].end >= start;
    },
    covers(cidr: string): boolean {
      // An aligned block inside the union lies inside one block of its minimal cover.
      const family = cidrFamily(cidr);
      const { start, end } = cidrTools.parseCidr(cidr);
      const i = lastStartingAtOrBefore(family, start);
      return i >= 0 && ranges[family][i].end >= end;
    },
  };
}

/**
 * The number of addresses in a CIDR (`/24` -> 256n). A BigInt because an IPv6 `/0` holds 2^128.
 */
export function addressCount(cidr: string): bigint {
  const family = cidrFamily(cidr);
  const bits = family === 'ipv4' ? 32 : 128;
  return 2n ** BigInt(bits - prefixLength(cidr));
}

/**
 * A stable fingerprint (SHA-256 hex) of a cover, independent of the input order: record it with
 * each applied sync to detect "nothing changed" for sources without a sync token (GitHub, URLs).
 */
export function coverFingerprint(cover: CidrsByFamily): string {
  const hash = createHash('sha256');
  for (const family of ADDRESS_FAMILIES) {
    hash.update(`${family}\n`);
    const distinct = [...new Set(cover[family].map((c) => normalizeCidr(c)))];
    for (const cidr of sortCidrs(distinct)) hash.update(`${cidr}\n`);
  }
  return hash.digest('hex');
}
