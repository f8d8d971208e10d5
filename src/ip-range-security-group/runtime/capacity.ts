/**
 * Capacity of the sync targets, checked before anything is touched: security-group rules (per
 * group, per address family, one rule per CIDR per port range), customer-managed prefix lists
 * (entries per list, one list per family) and WAFv2 IP sets (addresses per set, one set per family).
 *
 * Pure logic, no AWS client.
 */
import { AddressFamily, CidrsByFamily, prefixLength } from './cidr';

/** EC2 default quota of inbound rules per security group, per address family (L-0EA8095F). */
export const DEFAULT_RULES_PER_GROUP = 60;
/** Highest rules-per-group value accepted (quota x security groups per ENI cannot exceed 1,000). */
export const MAX_RULES_PER_GROUP = 1000;
/** Largest `MaxEntries` of a customer-managed prefix list. */
export const PREFIX_LIST_MAX_ENTRIES = 1000;
/** Largest number of addresses (CIDR entries) in one WAFv2 IP set. */
export const WAF_IP_SET_MAX_ADDRESSES = 10_000;

/** Ingress protocol and port range of the rules created for each CIDR. */
export interface PortRange {
  /**
   * `tcp`, `udp`, `icmp`, `icmpv6`, `-1` (all traffic), or an IP protocol number.
   * @default 'tcp'
   */
  readonly protocol?: string;
  /** First port (or ICMP type); ignored (-1) for protocol `-1`. */
  readonly fromPort: number;
  /** Last port (or ICMP code); ignored (-1) for protocol `-1`. */
  readonly toPort: number;
}

/** A {@link PortRange} in the form EC2 reports it (`DescribeSecurityGroupRules`). */
export interface NormalizedPortRange {
  readonly protocol: string;
  readonly fromPort: number;
  readonly toPort: number;
}

/** A count per address family. */
export interface FamilyCounts {
  readonly ipv4: number;
  readonly ipv6: number;
}

/** Security-group target settings relevant to capacity. */
export interface SecurityGroupCapacityConfig {
  /** Port ranges; every CIDR gets one rule per port range. At least one. */
  readonly ports: readonly PortRange[];
  /** Number of security groups available to hold the rules. */
  readonly maxGroups: number;
  /**
   * Rules allowed per group and per address family.
   * @default 60
   */
  readonly rulesPerGroup?: number;
  /**
   * Per group (same order as the groups), rules already used by rules the sync does not own.
   * @default - none
   */
  readonly reservedRules?: readonly (FamilyCounts | undefined)[];
}

/** The capacity verdict for one address family. */
export interface FamilyCapacity {
  readonly family: AddressFamily;
  /** CIDRs (or entries) needed. */
  readonly cidrs: number;
  /** Rules (or entries) needed: CIDRs x port ranges for security groups. */
  readonly needed: number;
  /** Rules (or entries) available. */
  readonly available: number;
  /** Security groups needed (security-group target only). */
  readonly groupsNeeded?: number;
  readonly ok: boolean;
}

/** Result of a capacity check. */
export interface CapacityCheck {
  readonly ok: boolean;
  /** One line with the numbers, fit to log or to put in an error. */
  readonly message: string;
  readonly families: FamilyCapacity[];
}

/** The desired set does not fit the target. */
export class CapacityError extends Error {
  public readonly check: CapacityCheck;

  constructor(check: CapacityCheck) {
    super(check.message);
    this.name = 'CapacityError';
    this.check = check;
  }
}

/**
 * Throws when a capacity check failed.
 * @throws CapacityError carrying the check
 */
export function assertCapacity(check: CapacityCheck): void {
  if (!check.ok) throw new CapacityError(check);
}

const PROTOCOL_NAMES: Record<string, string> = { 6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'icmpv6', all: '-1' };
const LABEL: Record<AddressFamily, string> = { ipv4: 'IPv4', ipv6: 'IPv6' };

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}`);
  }
}

/**
 * Normalises a port range to the form EC2 reports: protocol lower-case by name (`6` -> `tcp`),
 * and `-1`/`-1` ports for protocol `-1`.
 * @throws RangeError on an unknown protocol or ports outside 0..65535 / from > to (tcp, udp)
 */
export function normalizePortRange(range: PortRange): NormalizedPortRange {
  const raw = String(range.protocol ?? 'tcp').toLowerCase();
  const protocol = PROTOCOL_NAMES[raw] ?? raw;
  if (protocol === '-1') return { protocol, fromPort: -1, toPort: -1 };
  if (protocol === 'tcp' || protocol === 'udp') {
    checkInteger(`${protocol} fromPort`, range.fromPort, 0, 65535);
    checkInteger(`${protocol} toPort`, range.toPort, range.fromPort, 65535);
  } else if (protocol === 'icmp' || protocol === 'icmpv6') {
    checkInteger(`${protocol} type (fromPort)`, range.fromPort, -1, 255);
    checkInteger(`${protocol} code (toPort)`, range.toPort, -1, 255);
  } else if (/^[0-9]{1,3}$/.test(protocol) && Number(protocol) <= 255) {
    checkInteger(`protocol ${protocol} fromPort`, range.fromPort, -1, 65535);
    checkInteger(`protocol ${protocol} toPort`, range.toPort, -1, 65535);
  } else {
    throw new RangeError(`Unknown protocol ${JSON.stringify(range.protocol)}`);
  }
  return { protocol, fromPort: range.fromPort, toPort: range.toPort };
}

/** A short label of a port range: `tcp/443`, `tcp/8000-8100`, `all`. */
export function portRangeLabel(range: NormalizedPortRange): string {
  if (range.protocol === '-1') return 'all';
  const ports = range.fromPort === range.toPort ? `${range.fromPort}` : `${range.fromPort}-${range.toPort}`;
  return `${range.protocol}/${ports}`;
}

/** Normalises and de-duplicates port ranges, keeping the first occurrence's order. */
export function normalizePortRanges(ranges: readonly PortRange[]): NormalizedPortRange[] {
  if (!ranges || ranges.length === 0) throw new RangeError('ports must list at least one port range');
  const seen = new Set<string>();
  const out: NormalizedPortRange[] = [];
  for (const range of ranges) {
    const n = normalizePortRange(range);
    const key = `${n.protocol}|${n.fromPort}|${n.toPort}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(n);
    }
  }
  return out;
}

/**
 * Per group, the rules available to the sync for one family: `rulesPerGroup` minus the rules
 * reserved by rules the sync does not own (never below zero).
 */
export function groupRoom(config: SecurityGroupCapacityConfig, family: AddressFamily): number[] {
  const rulesPerGroup = config.rulesPerGroup ?? DEFAULT_RULES_PER_GROUP;
  return Array.from({ length: config.maxGroups }, (_, i) =>
    Math.max(0, rulesPerGroup - (config.reservedRules?.[i]?.[family] ?? 0)));
}

/**
 * Checks that the cover fits the security groups: for each family, CIDRs x port ranges rules must
 * fit in `maxGroups` groups of `rulesPerGroup` rules (IPv4 and IPv6 rules have separate quotas,
 * so a group can hold `rulesPerGroup` of each). The message names the numbers, e.g.
 * `IPv4 cover needs 231 CIDRs x 1 port range = 231 rules; 3 groups x 60 rules = 180 available (maxGroups 3)`.
 * @throws RangeError on invalid settings (not on a cover that does not fit: see `ok`)
 */
export function checkSecurityGroupCapacity(cover: CidrsByFamily, config: SecurityGroupCapacityConfig): CapacityCheck {
  const rulesPerGroup = config.rulesPerGroup ?? DEFAULT_RULES_PER_GROUP;
  checkInteger('rulesPerGroup', rulesPerGroup, 1, MAX_RULES_PER_GROUP);
  checkInteger('maxGroups', config.maxGroups, 1, 1000);
  const ports = normalizePortRanges(config.ports);
  const families: FamilyCapacity[] = [];
  const problems: string[] = [];
  const fits: string[] = [];
  for (const family of ['ipv4', 'ipv6'] as const) {
    const cidrs = cover[family].length;
    const needed = cidrs * ports.length;
    const room = groupRoom(config, family);
    const available = room.reduce((a, b) => a + b, 0);
    let groupsNeeded = 0;
    for (let sum = 0; sum < needed && groupsNeeded < room.length; groupsNeeded++) sum += room[groupsNeeded];
    const ok = needed <= available;
    families.push({ family, cidrs, needed, available, groupsNeeded: ok ? groupsNeeded : Math.ceil(needed / rulesPerGroup), ok });
    const reserved = room.length * rulesPerGroup - available;
    if (!ok) {
      problems.push(
        `${LABEL[family]} cover needs ${cidrs} CIDRs x ${ports.length} port range${ports.length === 1 ? '' : 's'} = ${needed} rules; ` +
        `${config.maxGroups} group${config.maxGroups === 1 ? '' : 's'} x ${rulesPerGroup} rules${reserved ? ` - ${reserved} used by rules the sync does not own` : ''} ` +
        `= ${available} available (maxGroups ${config.maxGroups})`,
      );
    } else if (needed > 0) {
      fits.push(`${LABEL[family]} ${needed} rules in ${groupsNeeded} group${groupsNeeded === 1 ? '' : 's'}`);
    }
  }
  const message = problems.length > 0
    ? problems.join('; and ')
    : `${fits.join(', ') || 'no rules'} (${config.maxGroups} group${config.maxGroups === 1 ? '' : 's'} x ${rulesPerGroup} rules per family available)`;
  return { ok: problems.length === 0, message, families };
}

/**
 * Checks that one family's cover fits a customer-managed prefix list of `maxEntries` entries
 * (a prefix list holds one address family; plan one per family).
 * @throws RangeError when maxEntries is not in 1..1000
 */
export function checkPrefixListCapacity(family: AddressFamily, cidrs: readonly string[], maxEntries: number): CapacityCheck {
  checkInteger('maxEntries', maxEntries, 1, PREFIX_LIST_MAX_ENTRIES);
  const ok = cidrs.length <= maxEntries;
  const message = ok
    ? `${LABEL[family]} prefix list: ${cidrs.length} of ${maxEntries} entries`
    : `${LABEL[family]} cover needs ${cidrs.length} prefix-list entries; the prefix list holds at most ${maxEntries} (maxEntries)`;
  return { ok, message, families: [{ family, cidrs: cidrs.length, needed: cidrs.length, available: maxEntries, ok }] };
}

/**
 * Checks that one family's cover fits a WAFv2 IP set: at most `maxAddresses` CIDRs (10,000), and
 * no `/0` (WAF accepts every prefix length except /0).
 * @throws RangeError when maxAddresses is not in 1..10000
 */
export function checkWafIpSetCapacity(
  family: AddressFamily, cidrs: readonly string[], maxAddresses: number = WAF_IP_SET_MAX_ADDRESSES,
): CapacityCheck {
  checkInteger('maxAddresses', maxAddresses, 1, WAF_IP_SET_MAX_ADDRESSES);
  const zero = cidrs.filter((c) => prefixLength(c) === 0);
  const fits = cidrs.length <= maxAddresses;
  const ok = fits && zero.length === 0;
  const problems: string[] = [];
  if (!fits) problems.push(`${LABEL[family]} cover needs ${cidrs.length} addresses; a WAF IP set holds at most ${maxAddresses}`);
  if (zero.length) problems.push(`WAF IP sets do not accept /0 (${zero.join(', ')})`);
  const message = ok ? `${LABEL[family]} WAF IP set: ${cidrs.length} of ${maxAddresses} addresses` : problems.join('; ');
  return { ok, message, families: [{ family, cidrs: cidrs.length, needed: cidrs.length, available: maxAddresses, ok }] };
}
