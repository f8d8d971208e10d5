/**
 * Plans the security-group target: which desired (CIDR, port range) rule goes to which group, what
 * to authorize and what to revoke, as batched calls. Pure logic, no AWS client.
 *
 * Ordering rule: additions before removals, so that while a plan is applied every address in both
 * the old and the new set stays allowed. When a group is too full to add first, the planner removes
 * first only what is safe to remove early (duplicates, other ports, ranges that leave the set
 * entirely) and reports `transientNarrowing` when it had no other choice.
 */
import {
  DEFAULT_RULES_PER_GROUP, CapacityCheck, FamilyCounts, NormalizedPortRange, PortRange, checkSecurityGroupCapacity, groupRoom,
  normalizePortRanges,
} from '../capacity';
import { ADDRESS_FAMILIES, AddressFamily, CidrsByFamily, cidrFamily, compareCidrs, indexCidrs, normalizeCidr } from '../cidr';
import {
  DEFAULT_MAX_REMOVE_PERCENT, DEFAULT_MAX_RULES_PER_CALL, PlanCounts, PlanRefusal, checkPercent, checkPositiveInteger,
  checkRemovalGuard, chunk, desiredByFamily,
} from './common';

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
