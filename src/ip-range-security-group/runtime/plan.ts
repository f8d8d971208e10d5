/**
 * Diff and apply plans for the three sync targets: security groups, customer-managed prefix
 * lists and WAFv2 IP sets, with the change-size guard and the empty-set refusal.
 *
 * Pure logic, no AWS client: the handler lists the current state, calls a planner, logs the plan
 * and performs `plan.calls` in order. A refused plan has no calls.
 *
 * Ordering rule: additions before removals, so that while a plan is applied every address in both
 * the old and the new set stays allowed. When a target is too full to add first, the planner
 * removes first only what is safe to remove early (duplicates, other ports, ranges that leave the
 * set entirely) and reports `transientNarrowing` when it had no other choice.
 */
import {
  DEFAULT_RULES_PER_GROUP, CapacityCheck, FamilyCounts, NormalizedPortRange, PortRange,
  checkPrefixListCapacity, checkSecurityGroupCapacity, checkWafIpSetCapacity, groupRoom, normalizePortRanges,
} from './capacity';
import {
  ADDRESS_FAMILIES, AddressFamily, CidrsByFamily, InvalidCidrError, cidrFamily, compareCidrs, indexCidrs,
  normalizeCidr, sortCidrs,
} from './cidr';

/** Default of the change-size guard: refuse to remove more than half of the owned rules at once. */
export const DEFAULT_MAX_REMOVE_PERCENT = 50;
/** `ModifyManagedPrefixList` takes at most 100 `AddEntry` and 100 `RemoveEntry` items. */
export const PREFIX_LIST_MAX_CHANGES_PER_CALL = 100;
/** Default number of rules per `AuthorizeSecurityGroupIngress` / `RevokeSecurityGroupIngress` call. */
export const DEFAULT_MAX_RULES_PER_CALL = 100;

/** Why a plan was refused. */
export type RefusalCode = 'EMPTY_DESIRED' | 'CAPACITY' | 'TOO_MANY_REMOVALS';

/** A refused plan carries this and no calls. */
export interface PlanRefusal {
  readonly code: RefusalCode;
  readonly message: string;
}

/** Counts of a plan, fit to log and to record. Computed for refused plans too. */
export interface PlanCounts {
  /** Rules (security groups) or entries (prefix list, IP set) desired. */
  readonly desired: number;
  /** Owned rules or entries now. */
  readonly current: number;
  /** Current rules or entries that stay where they are. */
  readonly unchanged: number;
  /** Rules or entries to add. */
  readonly add: number;
  /** Rules or entries to remove. */
  readonly remove: number;
  /** Distinct current rules or entries that are not desired any more (what the guard counts). */
  readonly netRemove: number;
  /** Rules added in one group and removed from another (security groups only; 0 otherwise). */
  readonly moved: number;
  /** Mutating API calls the plan makes (0 when refused or when nothing changes). */
  readonly mutatingCalls: number;
}

/** A plan was refused; thrown by {@link assertPlanAllowed}. */
export class PlanRefusedError extends Error {
  public readonly refusal: PlanRefusal;

  constructor(refusal: PlanRefusal) {
    super(`Sync refused (${refusal.code}): ${refusal.message}`);
    this.name = 'PlanRefusedError';
    this.refusal = refusal;
  }
}

/**
 * Throws when the plan was refused.
 * @throws PlanRefusedError carrying the refusal
 */
export function assertPlanAllowed(plan: { readonly refusal?: PlanRefusal }): void {
  if (plan.refusal) throw new PlanRefusedError(plan.refusal);
}

function checkPercent(maxRemovePercent: number): void {
  if (typeof maxRemovePercent !== 'number' || Number.isNaN(maxRemovePercent) || maxRemovePercent < 0 || maxRemovePercent > 100) {
    throw new RangeError(`maxRemovePercent must be in 0..100, got ${maxRemovePercent}`);
  }
}

function checkPositiveInteger(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 1 || value > max) throw new RangeError(`${name} must be an integer in 1..${max}, got ${value}`);
}

/**
 * The change-size guard: refuses when `removals / current > maxRemovePercent / 100`. Never
 * refuses when nothing is owned yet (`current` 0).
 * @param removals distinct owned rules or entries that would be removed
 * @param current distinct owned rules or entries now
 */
export function checkRemovalGuard(removals: number, current: number, maxRemovePercent: number = DEFAULT_MAX_REMOVE_PERCENT): PlanRefusal | undefined {
  checkPercent(maxRemovePercent);
  if (current <= 0 || removals * 100 <= maxRemovePercent * current) return undefined;
  const pct = ((removals * 100) / current).toFixed(1);
  return {
    code: 'TOO_MANY_REMOVALS',
    message: `refusing to remove ${removals} of ${current} owned (${pct}%) in one sync; maxRemovePercent is ${maxRemovePercent}`,
  };
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function desiredByFamily(desired: CidrsByFamily): Record<AddressFamily, string[]> {
  const out: Record<AddressFamily, string[]> = { ipv4: [], ipv6: [] };
  for (const family of ADDRESS_FAMILIES) {
    const seen = new Set<string>();
    for (const cidr of desired[family] ?? []) {
      if (cidrFamily(cidr) !== family) throw new InvalidCidrError(cidr, `listed as ${family}`);
      seen.add(normalizeCidr(cidr));
    }
    out[family] = sortCidrs([...seen]);
  }
  return out;
}

function desiredList(family: AddressFamily, desired: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const cidr of desired) {
    if (cidrFamily(cidr) !== family) throw new InvalidCidrError(cidr, `expected ${family}`);
    seen.add(normalizeCidr(cidr));
  }
  return sortCidrs([...seen]);
}

// ---------------------------------------------------------------------------------------------
// Security groups
// ---------------------------------------------------------------------------------------------

/** An ingress rule the sync owns now, as listed by the handler (`DescribeSecurityGroupRules`). */
export interface OwnedRule {
  readonly groupId: string;
  /** `CidrIpv4` or `CidrIpv6`. */
  readonly cidr: string;
  /** `IpProtocol` (`tcp`, `udp`, `-1`, a number...). */
  readonly protocol: string;
  readonly fromPort: number;
  readonly toPort: number;
  /** `SecurityGroupRuleId`, to revoke by id. */
  readonly ruleId?: string;
  readonly description?: string;
}

/** A rule to add, with the group it was assigned to. */
export interface PlacedRule {
  readonly groupId: string;
  readonly family: AddressFamily;
  /** Canonical CIDR. */
  readonly cidr: string;
  readonly protocol: string;
  readonly fromPort: number;
  readonly toPort: number;
}

/** Input of {@link planSecurityGroups}. */
export interface SecurityGroupPlanInput {
  /** The desired CIDRs per family, normally the minimal cover. */
  readonly desired: CidrsByFamily;
  /** The security groups that hold the rules, in a fixed order (the construct's order). */
  readonly groupIds: readonly string[];
  /** Port ranges; every CIDR gets one rule per port range. */
  readonly ports: readonly PortRange[];
  /**
   * Rules per group and per address family.
   * @default 60
   */
  readonly rulesPerGroup?: number;
  /** The ingress rules the sync owns now (see `isOwnedRule`), in any group. */
  readonly current: readonly OwnedRule[];
  /**
   * CIDR ingress rules in the target groups that the sync does not own (added by people or by other
   * syncs). They count against their group's quota, and a desired rule is never placed in a group
   * that already holds the same rule (EC2 would refuse it as a duplicate).
   * @default - none
   */
  readonly unownedRules?: readonly OwnedRule[];
  /**
   * Per group id, further quota used by rules the sync does not own and that are not CIDR rules
   * (a security-group reference counts 1 per family; a prefix-list reference counts its MaxEntries
   * or its weight).
   * @default - none
   */
  readonly reservedRules?: Readonly<Record<string, FamilyCounts>>;
  /**
   * Refuse to remove more than this percentage of the owned rules in one sync.
   * @default 50
   */
  readonly maxRemovePercent?: number;
  /**
   * Rules per authorize or revoke call.
   * @default 100
   */
  readonly maxRulesPerCall?: number;
}

/** The change to one security group. */
export interface SecurityGroupChange {
  readonly groupId: string;
  /** False for a group holding owned rules that is not in `groupIds` any more (emptied). */
  readonly inTarget: boolean;
  readonly add: PlacedRule[];
  readonly remove: OwnedRule[];
  /** Owned rules per family once the plan is applied. */
  readonly after: FamilyCounts;
}

/** One mutating EC2 call, to perform in order. */
export type SecurityGroupCall =
  | { readonly action: 'authorize'; readonly groupId: string; readonly rules: PlacedRule[] }
  | { readonly action: 'revoke'; readonly groupId: string; readonly rules: OwnedRule[] };

/** The plan for the security-group target. */
export interface SecurityGroupPlan {
  readonly target: 'securityGroups';
  readonly refusal?: PlanRefusal;
  readonly capacity: CapacityCheck;
  readonly counts: PlanCounts;
  /** Every target group (in `groupIds` order), then emptied groups; empty when refused. */
  readonly groups: SecurityGroupChange[];
  /** The calls, in order: early revokes (rare), authorizes, revokes. Empty when refused. */
  readonly calls: SecurityGroupCall[];
  /** True when a rule whose range stays (partly) desired had to be revoked before its replacement was added. */
  readonly transientNarrowing: boolean;
  /**
   * Desired rules not added because the only groups with room already hold the same rule as an
   * unowned rule (so the traffic is allowed, by a rule the sync does not manage). Usually 0.
   */
  readonly coveredByUnowned: number;
}

const PROTOCOL_NAMES: Record<string, string> = { 6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'icmpv6', all: '-1' };

function ruleKey(cidr: string, protocol: string, fromPort: number, toPort: number): string {
  const p = PROTOCOL_NAMES[protocol.toLowerCase()] ?? protocol.toLowerCase();
  return p === '-1' ? `${cidr}|-1|-1|-1` : `${cidr}|${p}|${fromPort}|${toPort}`;
}

function portKey(port: NormalizedPortRange): string {
  return `${port.protocol}|${port.fromPort}|${port.toPort}`;
}

interface DesiredRule {
  readonly key: string;
  readonly order: number;
  readonly family: AddressFamily;
  readonly cidr: string;
  readonly port: NormalizedPortRange;
}

type RemovalReason = 'duplicate' | 'evicted' | 'not-desired' | 'orphan';

interface CurrentRule {
  readonly rule: OwnedRule;
  readonly key: string;
  readonly family: AddressFamily;
  readonly cidr: string;
  readonly portKey: string;
  /** Index in groupIds, or -1 for a group outside the target. */
  readonly group: number;
  /** Desired order, or Infinity. */
  readonly order: number;
}

interface Removal {
  readonly current: CurrentRule;
  readonly reason: RemovalReason;
  early: boolean;
}

function compareCurrent(a: CurrentRule, b: CurrentRule): number {
  if (a.order !== b.order) return a.order < b.order ? -1 : 1;
  if (a.family !== b.family) return a.family === 'ipv4' ? -1 : 1;
  const c = compareCidrs(a.cidr, b.cidr);
  if (c !== 0) return c;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * Plans the security-group target: which desired (CIDR, port range) rule goes to which group,
 * what to authorize and what to revoke, as batched calls.
 *
 * Sharding is stable: a current rule that is still desired stays in its group; new rules go to
 * the first group (in `groupIds` order) with room, in CIDR order; IPv4 and IPv6 rules fill
 * separate quotas of `rulesPerGroup` each. So a small upstream change is a small diff: removing
 * one CIDR touches one group. Applying the same input twice gives a plan with no calls.
 *
 * Refusals (no calls): `EMPTY_DESIRED` when no rule is desired, `CAPACITY` when the rules do not
 * fit, `TOO_MANY_REMOVALS` when more than `maxRemovePercent` of the owned rules would go.
 * @throws RangeError / InvalidCidrError on invalid settings or CIDRs
 */
export function planSecurityGroups(input: SecurityGroupPlanInput): SecurityGroupPlan {
  const rulesPerGroup = input.rulesPerGroup ?? DEFAULT_RULES_PER_GROUP;
  const maxRemovePercent = input.maxRemovePercent ?? DEFAULT_MAX_REMOVE_PERCENT;
  const maxRulesPerCall = input.maxRulesPerCall ?? DEFAULT_MAX_RULES_PER_CALL;
  checkPercent(maxRemovePercent);
  checkPositiveInteger('maxRulesPerCall', maxRulesPerCall, 1000);
  const groupIds = [...input.groupIds];
  if (groupIds.length === 0) throw new RangeError('groupIds must list at least one security group');
  if (new Set(groupIds).size !== groupIds.length) throw new RangeError(`groupIds has duplicates: ${groupIds.join(', ')}`);
  const ports = normalizePortRanges(input.ports);
  const desired = desiredByFamily(input.desired);

  // Desired rules, in a fixed order: IPv4 then IPv6, CIDRs in numeric order, ports as configured.
  const desiredRules: DesiredRule[] = [];
  for (const family of ADDRESS_FAMILIES) {
    for (const cidr of desired[family]) {
      for (const port of ports) {
        desiredRules.push({ key: ruleKey(cidr, port.protocol, port.fromPort, port.toPort), order: desiredRules.length, family, cidr, port });
      }
    }
  }
  const desiredByKey = new Map(desiredRules.map((r) => [r.key, r]));
  const desiredPorts = new Set(ports.map(portKey));

  const groupIndex = new Map(groupIds.map((g, i) => [g, i]));
  const currentRules: CurrentRule[] = input.current.map((rule) => {
    const family = cidrFamily(rule.cidr);
    const cidr = normalizeCidr(rule.cidr);
    const key = ruleKey(cidr, String(rule.protocol), rule.fromPort, rule.toPort);
    return {
      rule,
      key,
      family,
      cidr,
      portKey: key.slice(cidr.length + 1),
      group: groupIndex.get(rule.groupId) ?? -1,
      order: desiredByKey.get(key)?.order ?? Number.POSITIVE_INFINITY,
    };
  });
  const currentKeys = new Set(currentRules.map((c) => c.key));
  const netRemove = [...currentKeys].filter((k) => !desiredByKey.has(k)).length;

  // Quota used by what the sync does not own, and the unowned rules per group (to avoid duplicates).
  const unownedKeys = groupIds.map(() => new Set<string>());
  const reserved = groupIds.map((g) => ({ ipv4: input.reservedRules?.[g]?.ipv4 ?? 0, ipv6: input.reservedRules?.[g]?.ipv6 ?? 0 }));
  for (const rule of input.unownedRules ?? []) {
    const g = groupIndex.get(rule.groupId);
    if (g === undefined) continue;
    const cidr = normalizeCidr(rule.cidr);
    reserved[g][cidrFamily(cidr)]++;
    unownedKeys[g].add(ruleKey(cidr, String(rule.protocol), rule.fromPort, rule.toPort));
  }
  const capacityConfig = { ports, maxGroups: groupIds.length, rulesPerGroup, reservedRules: reserved };
  const capacity = checkSecurityGroupCapacity(desired, capacityConfig);

  // An address family that vanished upstream is refused like an empty set: never strip a family whole.
  const emptiedFamily = (['ipv4', 'ipv6'] as const).find((f) => desired[f].length === 0 && currentRules.some((c) => c.family === f));
  const refusal: PlanRefusal | undefined = desiredRules.length === 0
    ? { code: 'EMPTY_DESIRED', message: 'the desired set is empty; an empty set is never applied' }
    : emptiedFamily
      ? { code: 'EMPTY_DESIRED', message: `the desired ${emptiedFamily} set is empty but ${currentRules.filter((c) => c.family === emptiedFamily).length} ${emptiedFamily} rules are owned; refusing to remove a whole address family` }
      : !capacity.ok
        ? { code: 'CAPACITY', message: capacity.message }
        : checkRemovalGuard(netRemove, currentKeys.size, maxRemovePercent);
  if (refusal) {
    const missing = desiredRules.filter((r) => !currentKeys.has(r.key)).length;
    return {
      target: 'securityGroups',
      refusal,
      capacity,
      groups: [],
      calls: [],
      transientNarrowing: false,
      coveredByUnowned: 0,
      counts: {
        desired: desiredRules.length,
        current: currentRules.length,
        unchanged: 0,
        add: missing,
        remove: currentRules.filter((c) => !desiredByKey.has(c.key)).length,
        netRemove,
        moved: 0,
        mutatingCalls: 0,
      },
    };
  }

  const room: Record<AddressFamily, number[]> = { ipv4: groupRoom(capacityConfig, 'ipv4'), ipv6: groupRoom(capacityConfig, 'ipv6') };

  // 1. Keep what can stay: per group (in order), desired rules in desired order, up to the room.
  const kept: Record<AddressFamily, CurrentRule[][]> = {
    ipv4: groupIds.map(() => []),
    ipv6: groupIds.map(() => []),
  };
  const occupancy: Record<AddressFamily, number[]> = { ipv4: groupIds.map(() => 0), ipv6: groupIds.map(() => 0) };
  const removals: Removal[] = [];
  const placed = new Set<string>();
  const sortedCurrent = [...currentRules].sort((a, b) => (a.group - b.group) || compareCurrent(a, b));
  const orphans = sortedCurrent.filter((c) => c.group === -1)
    .sort((a, b) => (a.rule.groupId < b.rule.groupId ? -1 : a.rule.groupId > b.rule.groupId ? 1 : compareCurrent(a, b)));
  for (const c of orphans) removals.push({ current: c, reason: 'orphan', early: false });
  for (const c of sortedCurrent) {
    if (c.group === -1) continue;
    occupancy[c.family][c.group]++;
    if (!desiredByKey.has(c.key)) {
      removals.push({ current: c, reason: 'not-desired', early: false });
    } else if (placed.has(c.key)) {
      removals.push({ current: c, reason: 'duplicate', early: false });
    } else if (kept[c.family][c.group].length < room[c.family][c.group]) {
      kept[c.family][c.group].push(c);
      placed.add(c.key);
    } else {
      removals.push({ current: c, reason: 'evicted', early: false });
    }
  }

  // 2. Place the rest: first group with room, adding before removing when the group has room for
  //    both; otherwise revoke early what is safe to revoke early, in the same group.
  const adds: PlacedRule[][] = groupIds.map(() => []);
  let transientNarrowing = false;
  let unownedCover = 0;
  const removalsByGroup = new Map<string, Removal[]>();
  for (const r of removals) {
    const k = `${r.current.rule.groupId}|${r.current.family}`;
    const list = removalsByGroup.get(k);
    if (list) list.push(r);
    else removalsByGroup.set(k, [r]);
  }
  const desiredIndex = indexCidrs([...desired.ipv4, ...desired.ipv6]);
  const earlyRank = (r: Removal): number => {
    if (r.reason === 'duplicate') return 0;
    if (!desiredPorts.has(r.current.portKey)) return 1;
    return desiredIndex.overlaps(r.current.cidr) ? 3 : 2;
  };
  for (const family of ADDRESS_FAMILIES) {
    // occupied: rules of the family in the group at this point of the apply (all owned rules are
    // still there until the final revokes); free: room left once the plan is applied.
    const occupied = [...occupancy[family]];
    const free = groupIds.map((_, g) => room[family][g] - kept[family][g].length);
    for (const rule of desiredRules) {
      if (rule.family !== family || placed.has(rule.key)) continue;
      const allowed = (i: number): boolean => free[i] > 0 && !unownedKeys[i].has(rule.key);
      let g = groupIds.findIndex((_, i) => allowed(i) && occupied[i] < room[family][i]);
      if (g < 0) {
        // Every group with room once applied is full right now: revoke early in the first one.
        // (Some always remain: occupied >= room > kept + adds means owned rules there are leaving.)
        g = groupIds.findIndex((_, i) => allowed(i));
        if (g < 0) {
          // Only groups that already allow it through an unowned rule have room: leave it to them.
          unownedCover++;
          continue;
        }
        const candidates = (removalsByGroup.get(`${groupIds[g]}|${family}`) ?? []).filter((r) => !r.early && r.reason !== 'evicted');
        candidates.sort((a, b) => (earlyRank(a) - earlyRank(b)) || compareCurrent(a.current, b.current));
        for (const early of candidates) {
          if (occupied[g] < room[family][g]) break;
          early.early = true;
          occupied[g]--;
          if (earlyRank(early) === 3) transientNarrowing = true;
        }
      }
      occupied[g]++;
      free[g]--;
      placed.add(rule.key);
      const { protocol, fromPort, toPort } = rule.port;
      adds[g].push({ groupId: groupIds[g], family, cidr: rule.cidr, protocol, fromPort, toPort });
    }
  }

  // 3. Calls: early revokes, then authorizes, then revokes; each per group, batched.
  const calls: SecurityGroupCall[] = [];
  const groupOrder = [...groupIds, ...[...new Set(orphans.map((o) => o.rule.groupId))]];
  const removalsOf = (groupId: string, early: boolean): OwnedRule[] => removals
    .filter((r) => r.current.rule.groupId === groupId && r.early === early)
    .sort((a, b) => (a.current.family === b.current.family ? compareCurrent(a.current, b.current) : a.current.family === 'ipv4' ? -1 : 1))
    .map((r) => r.current.rule);
  for (const groupId of groupIds) {
    for (const rules of chunk(removalsOf(groupId, true), maxRulesPerCall)) calls.push({ action: 'revoke', groupId, rules });
  }
  groupIds.forEach((groupId, g) => {
    for (const rules of chunk(adds[g], maxRulesPerCall)) calls.push({ action: 'authorize', groupId, rules });
  });
  for (const groupId of groupOrder) {
    for (const rules of chunk(removalsOf(groupId, false), maxRulesPerCall)) calls.push({ action: 'revoke', groupId, rules });
  }

  const groups: SecurityGroupChange[] = groupOrder.map((groupId) => {
    const g = groupIndex.get(groupId);
    const add = g === undefined ? [] : adds[g];
    const count = (family: AddressFamily): number => (g === undefined ? 0 : kept[family][g].length + add.filter((a) => a.family === family).length);
    return {
      groupId,
      inTarget: g !== undefined,
      add,
      remove: [...removalsOf(groupId, true), ...removalsOf(groupId, false)],
      after: { ipv4: count('ipv4'), ipv6: count('ipv6') },
    };
  });
  const addCount = adds.reduce((n, a) => n + a.length, 0);
  return {
    target: 'securityGroups',
    capacity,
    groups,
    calls,
    transientNarrowing,
    coveredByUnowned: unownedCover,
    counts: {
      desired: desiredRules.length,
      current: currentRules.length,
      unchanged: ADDRESS_FAMILIES.reduce((n, f) => n + kept[f].reduce((m, k) => m + k.length, 0), 0),
      add: addCount,
      remove: removals.length,
      netRemove,
      moved: adds.flat().filter((a) => currentKeys.has(ruleKey(a.cidr, a.protocol, a.fromPort, a.toPort))).length,
      mutatingCalls: calls.length,
    },
  };
}

/**
 * The owned rules after a security-group plan is applied (what the next listing should return,
 * descriptions and rule ids aside). Useful to chain plans in tests and benchmarks.
 */
export function applySecurityGroupPlan(current: readonly OwnedRule[], plan: SecurityGroupPlan, description?: string): OwnedRule[] {
  let state = [...current];
  for (const call of plan.calls) {
    if (call.action === 'revoke') {
      const gone = new Set<OwnedRule>(call.rules);
      state = state.filter((r) => !gone.has(r));
    } else {
      state.push(...call.rules.map((r) => ({
        groupId: r.groupId, cidr: r.cidr, protocol: r.protocol, fromPort: r.fromPort, toPort: r.toPort, description,
      })));
    }
  }
  return state;
}

/**
 * EC2 `IpPermissions` for a batch of rules (one permission per protocol and port range, IPv4 in
 * `IpRanges`, IPv6 in `Ipv6Ranges`). Plain objects: the handler passes them to
 * `AuthorizeSecurityGroupIngress` (or `RevokeSecurityGroupIngress` when rule ids are unknown).
 */
export function toIpPermissions(rules: readonly (PlacedRule | OwnedRule)[], description?: string): IpPermission[] {
  const byPort = new Map<string, IpPermission>();
  for (const rule of rules) {
    const key = ruleKey('', String(rule.protocol), rule.fromPort, rule.toPort).slice(1);
    const [protocol, from, to] = key.split('|');
    let perm = byPort.get(key);
    if (!perm) {
      perm = { IpProtocol: protocol, FromPort: Number(from), ToPort: Number(to), IpRanges: [], Ipv6Ranges: [] };
      byPort.set(key, perm);
    }
    const desc = description === undefined ? {} : { Description: description };
    if (cidrFamily(rule.cidr) === 'ipv4') perm.IpRanges.push({ CidrIp: rule.cidr, ...desc });
    else perm.Ipv6Ranges.push({ CidrIpv6: rule.cidr, ...desc });
  }
  return [...byPort.values()];
}

/** The shape of an EC2 `IpPermission` (the fields the sync uses). */
export interface IpPermission {
  IpProtocol: string;
  FromPort: number;
  ToPort: number;
  IpRanges: { CidrIp: string; Description?: string }[];
  Ipv6Ranges: { CidrIpv6: string; Description?: string }[];
}

// ---------------------------------------------------------------------------------------------
// Prefix lists
// ---------------------------------------------------------------------------------------------

/** Input of {@link planPrefixList}: one customer-managed prefix list, one address family. */
export interface PrefixListPlanInput {
  readonly family: AddressFamily;
  /** The desired CIDRs of this family, normally the minimal cover. */
  readonly desired: readonly string[];
  /** The entries of the prefix list now (`GetManagedPrefixListEntries`). */
  readonly current: readonly string[];
  /** `MaxEntries` of the prefix list. */
  readonly maxEntries: number;
  /**
   * Refuse to remove more than this percentage of the current entries in one sync.
   * @default 50
   */
  readonly maxRemovePercent?: number;
  /**
   * Adds (and removes) per `ModifyManagedPrefixList` call.
   * @default 100
   */
  readonly maxChangesPerCall?: number;
}

/** One `ModifyManagedPrefixList` call (`AddEntries`, `RemoveEntries`). */
export interface PrefixListCall {
  readonly add: string[];
  readonly remove: string[];
}

/** The plan for one prefix list. */
export interface PrefixListPlan {
  readonly target: 'prefixList';
  readonly family: AddressFamily;
  readonly refusal?: PlanRefusal;
  readonly capacity: CapacityCheck;
  readonly counts: PlanCounts;
  /** Entries to add (canonical CIDRs). */
  readonly add: string[];
  /** Entries to remove, as currently listed. */
  readonly remove: string[];
  /** The calls, in order; each waits for the previous version to be `modify-complete`. Empty when refused. */
  readonly calls: PrefixListCall[];
  /** The entries once applied (canonical, sorted). */
  readonly entriesAfter: string[];
  /** True when an entry whose range stays (partly) desired had to be removed before its replacement was added. */
  readonly transientNarrowing: boolean;
}

/**
 * Plans one customer-managed prefix list: entries to add and remove, in calls of at most 100 adds
 * and 100 removes. Adds come first; removals ride with the last add call and follow it. When the
 * list is too full to add first (current + adds > maxEntries), each add call carries the removals
 * it needs, chosen safe-first: ranges leaving the set, then ranges covered by what is present
 * after the call; only then others (`transientNarrowing`).
 *
 * A list with no desired entry and no current entry gives an empty plan (nothing to do); a plan
 * that would empty a list is refused (`EMPTY_DESIRED`), and so is one that does not fit
 * (`CAPACITY`) or removes too much (`TOO_MANY_REMOVALS`).
 * @throws RangeError / InvalidCidrError on invalid settings or CIDRs
 */
export function planPrefixList(input: PrefixListPlanInput): PrefixListPlan {
  const maxRemovePercent = input.maxRemovePercent ?? DEFAULT_MAX_REMOVE_PERCENT;
  const perCall = input.maxChangesPerCall ?? PREFIX_LIST_MAX_CHANGES_PER_CALL;
  checkPercent(maxRemovePercent);
  checkPositiveInteger('maxChangesPerCall', perCall, PREFIX_LIST_MAX_CHANGES_PER_CALL);
  const { family } = input;
  const desired = desiredList(family, input.desired);
  const desiredSet = new Set(desired);
  const capacity = checkPrefixListCapacity(family, desired, input.maxEntries);

  const present = new Set<string>();
  const removeOriginals: { original: string; normal: string; duplicate: boolean }[] = [];
  for (const original of input.current) {
    const normal = normalizeCidr(original);
    if (cidrFamily(normal) !== family) throw new InvalidCidrError(original, `entry of an ${family} prefix list`);
    const duplicate = present.has(normal);
    present.add(normal);
    if (duplicate || !desiredSet.has(normal)) removeOriginals.push({ original, normal, duplicate });
  }
  removeOriginals.sort((a, b) => compareCidrs(a.normal, b.normal) || (a.original < b.original ? -1 : 1));
  const add = desired.filter((c) => !present.has(c));
  const remove = removeOriginals.map((r) => r.original);
  const netRemove = [...present].filter((c) => !desiredSet.has(c)).length;
  const unchanged = desired.length - add.length;

  const refusal: PlanRefusal | undefined = desired.length === 0 && input.current.length > 0
    ? { code: 'EMPTY_DESIRED', message: `the desired ${family} set is empty; refusing to empty the prefix list (${input.current.length} entries)` }
    : !capacity.ok
      ? { code: 'CAPACITY', message: capacity.message }
      : checkRemovalGuard(netRemove, present.size, maxRemovePercent);
  const counts = (mutatingCalls: number): PlanCounts => ({
    desired: desired.length, current: input.current.length, unchanged, add: add.length, remove: remove.length, netRemove, moved: 0, mutatingCalls,
  });
  if (refusal) {
    return { target: 'prefixList', family, refusal, capacity, counts: counts(0), add, remove, calls: [], entriesAfter: sortCidrs([...present]), transientNarrowing: false };
  }

  const calls: PrefixListCall[] = [];
  let transientNarrowing = false;
  let size = input.current.length;
  const desiredIndex = indexCidrs(desired);
  const pending = removeOriginals.map((r) => ({ ...r, safe: r.duplicate || !desiredIndex.overlaps(r.normal) }));
  const desiredPresent = desired.filter((c) => present.has(c));
  const addBatches = chunk(add, perCall);
  addBatches.forEach((batch, i) => {
    const last = i === addBatches.length - 1;
    desiredPresent.push(...batch);
    const required = Math.max(0, size + batch.length - input.maxEntries);
    const take: typeof pending = [];
    const pick = (predicate: (r: (typeof pending)[number]) => boolean, n: number): void => {
      for (let j = 0; j < pending.length && take.length < n; j++) {
        if (predicate(pending[j])) take.push(...pending.splice(j--, 1));
      }
    };
    pick((r) => r.safe, required);
    if (take.length < required) {
      const afterCall = indexCidrs(desiredPresent);
      pick((r) => afterCall.covers(r.normal), required);
    }
    if (take.length < required) {
      transientNarrowing = true;
      pick(() => true, required);
    }
    if (last) pick(() => true, perCall);
    size += batch.length - take.length;
    calls.push({ add: batch, remove: take.map((r) => r.original) });
  });
  for (const batch of chunk(pending.map((r) => r.original), perCall)) calls.push({ add: [], remove: batch });

  return {
    target: 'prefixList',
    family,
    capacity,
    counts: counts(calls.length),
    add,
    remove,
    calls,
    transientNarrowing,
    entriesAfter: desired,
  };
}

/** The entries after a prefix-list plan is applied (canonical CIDRs, sorted). */
export function applyPrefixListPlan(current: readonly string[], plan: PrefixListPlan): string[] {
  let state = [...current];
  for (const call of plan.calls) {
    const gone = new Set(call.remove);
    state = state.filter((c) => !gone.has(c));
    state.push(...call.add);
  }
  return sortCidrs([...new Set(state.map((c) => normalizeCidr(c)))]);
}

// ---------------------------------------------------------------------------------------------
// WAFv2 IP sets
// ---------------------------------------------------------------------------------------------

/** Input of {@link planWafIpSet}: one IP set, one address family. */
export interface WafIpSetPlanInput {
  readonly family: AddressFamily;
  /** The desired CIDRs of this family, normally the minimal cover. */
  readonly desired: readonly string[];
  /** The addresses of the IP set now (`GetIPSet`). */
  readonly current: readonly string[];
  /**
   * Addresses the IP set may hold.
   * @default 10000
   */
  readonly maxAddresses?: number;
  /**
   * Refuse to remove more than this percentage of the current addresses in one sync.
   * @default 50
   */
  readonly maxRemovePercent?: number;
}

/** The plan for one WAFv2 IP set. `UpdateIPSet` replaces the whole list: one call or none. */
export interface WafIpSetPlan {
  readonly target: 'wafIpSet';
  readonly family: AddressFamily;
  readonly refusal?: PlanRefusal;
  readonly capacity: CapacityCheck;
  readonly counts: PlanCounts;
  /** True when `UpdateIPSet` must be called (with `addresses`). False when refused or unchanged. */
  readonly update: boolean;
  /** The full new address list (canonical, sorted). */
  readonly addresses: string[];
  /** Added addresses, for the audit record. */
  readonly add: string[];
  /** Removed addresses (canonical), for the audit record. */
  readonly remove: string[];
}

/**
 * Plans one WAFv2 IP set. Refuses like {@link planPrefixList}; an unchanged set gives no call.
 * @throws RangeError / InvalidCidrError on invalid settings or CIDRs
 */
export function planWafIpSet(input: WafIpSetPlanInput): WafIpSetPlan {
  const maxRemovePercent = input.maxRemovePercent ?? DEFAULT_MAX_REMOVE_PERCENT;
  checkPercent(maxRemovePercent);
  const { family } = input;
  const desired = desiredList(family, input.desired);
  const current = desiredList(family, input.current);
  const desiredSet = new Set(desired);
  const currentSet = new Set(current);
  const add = desired.filter((c) => !currentSet.has(c));
  const remove = current.filter((c) => !desiredSet.has(c));
  const capacity = checkWafIpSetCapacity(family, desired, input.maxAddresses);
  const refusal: PlanRefusal | undefined = desired.length === 0 && current.length > 0
    ? { code: 'EMPTY_DESIRED', message: `the desired ${family} set is empty; refusing to empty the IP set (${current.length} addresses)` }
    : !capacity.ok
      ? { code: 'CAPACITY', message: capacity.message }
      : checkRemovalGuard(remove.length, current.length, maxRemovePercent);
  const changed = add.length > 0 || remove.length > 0 || input.current.length !== current.length;
  const update = !refusal && changed;
  return {
    target: 'wafIpSet',
    family,
    refusal,
    capacity,
    update,
    addresses: desired,
    add,
    remove,
    counts: {
      desired: desired.length,
      current: input.current.length,
      unchanged: desired.length - add.length,
      add: add.length,
      remove: remove.length,
      netRemove: remove.length,
      moved: 0,
      mutatingCalls: update ? 1 : 0,
    },
  };
}
