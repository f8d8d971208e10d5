/* eslint-disable no-bitwise -- an independent bit-level model of addresses and a seeded PRNG */
import { assertPlanAllowed, PlanRefusedError } from './plan-helpers';
import { PortRange } from '../../src/ip-range-security-group/runtime/capacity';
import { CidrsByFamily, indexCidrs, InvalidCidrError } from '../../src/ip-range-security-group/runtime/cidr';
import {
  applyPrefixListPlan, applySecurityGroupPlan, checkRemovalGuard, OwnedRule,
  planPrefixList, PrefixListPlan, planSecurityGroups, planWafIpSet, SecurityGroupPlan, SecurityGroupPlanInput, toIpPermissions,
} from '../../src/ip-range-security-group/runtime/plan';
import { prng } from '../harness/prng';

const HTTPS = [{ fromPort: 443, toPort: 443 }];
const GROUPS = ['sg-a', 'sg-b', 'sg-c', 'sg-d'];

/** n distinct, non-adjacent IPv4 /24s (or IPv6 /48s) starting at index `from`. */
function v4(n: number, from = 0): string[] {
  return Array.from({ length: n }, (_, i) => `10.${(from + i) >> 7}.${((from + i) & 127) * 2}.0/24`);
}
function v6(n: number, from = 0): string[] {
  return Array.from({ length: n }, (_, i) => (from + i === 0 ? '2001:db8::/48' : `2001:db8:${((from + i) * 2).toString(16)}::/48`));
}

const key = (r: { cidr: string; protocol: string; fromPort: number; toPort: number }): string =>
  `${r.cidr}|${r.protocol}|${r.fromPort}|${r.toPort}`;
const familyOf = (cidr: string): 'ipv4' | 'ipv6' => (cidr.includes(':') ? 'ipv6' : 'ipv4');

interface SimOptions {
  readonly groupIds: readonly string[];
  readonly rulesPerGroup?: number;
  readonly reserved?: Record<string, { ipv4: number; ipv6: number }>;
  readonly unowned?: readonly OwnedRule[];
}

/**
 * Performs the calls of a plan one by one the way EC2 would, and checks at every step:
 * no duplicate authorize, no revoke of a missing rule, no group over its quota, and, unless the plan
 * says otherwise, no address that is allowed both before and after the sync is ever disallowed.
 * Returns the final rules. Independent of applySecurityGroupPlan.
 */
function simulateSecurityGroups(
  current: readonly OwnedRule[], p: SecurityGroupPlan, desired: CidrsByFamily, ports: PortRange[], opts: SimOptions,
): OwnedRule[] {
  const state = new Map<string, Map<string, OwnedRule>>();
  const group = (g: string): Map<string, OwnedRule> => {
    if (!state.has(g)) state.set(g, new Map());
    return state.get(g)!;
  };
  for (const r of current) group(r.groupId).set(key(r), r);
  // Unowned rules take quota and make duplicates, but are not part of the owned result.
  const unowned = new Map<string, Set<string>>();
  for (const r of opts.unowned ?? []) {
    if (!unowned.has(r.groupId)) unowned.set(r.groupId, new Set());
    unowned.get(r.groupId)!.add(key(r));
  }
  const unownedCount = (g: string, family: 'ipv4' | 'ipv6'): number =>
    (opts.unowned ?? []).filter((r) => r.groupId === g && familyOf(r.cidr) === family).length;
  const portKeys = ports.map((r) => `${r.protocol ?? 'tcp'}|${r.fromPort}|${r.toPort}`);
  const allowed = (portKey: string): string[] => [...[...state.values()].flatMap((m) => [...m.values()]), ...opts.unowned ?? []]
    .filter((r) => `${r.protocol}|${r.fromPort}|${r.toPort}` === portKey).map((r) => r.cidr);
  // Ranges allowed before and desired after must stay allowed throughout.
  const mustStay: [string, string][] = [];
  const desiredIndex = indexCidrs([...desired.ipv4, ...desired.ipv6]);
  for (const pk of portKeys) {
    const before = indexCidrs(allowed(pk));
    for (const cidr of [...desired.ipv4, ...desired.ipv6]) if (before.covers(cidr)) mustStay.push([cidr, pk]);
    for (const cidr of allowed(pk)) if (desiredIndex.covers(cidr)) mustStay.push([cidr, pk]);
  }
  const cap = (g: string, family: 'ipv4' | 'ipv6'): number => (opts.rulesPerGroup ?? 60) - (opts.reserved?.[g]?.[family] ?? 0);
  for (const call of p.calls) {
    const rules = group(call.groupId);
    if (call.action === 'authorize') {
      expect(opts.groupIds).toContain(call.groupId);
      for (const r of call.rules) {
        expect(r.groupId).toBe(call.groupId);
        if (rules.has(key(r)) || unowned.get(call.groupId)?.has(key(r))) throw new Error(`InvalidPermission.Duplicate ${key(r)} in ${call.groupId}`);
        rules.set(key(r), { groupId: r.groupId, cidr: r.cidr, protocol: r.protocol, fromPort: r.fromPort, toPort: r.toPort });
      }
      for (const family of new Set(call.rules.map((r) => r.family))) {
        const n = [...rules.values()].filter((r) => familyOf(r.cidr) === family).length + unownedCount(call.groupId, family);
        if (n > cap(call.groupId, family)) throw new Error(`RulesPerSecurityGroupLimitExceeded ${call.groupId} ${family} ${n}`);
      }
    } else {
      for (const r of call.rules) {
        if (!rules.has(key(r))) throw new Error(`InvalidPermission.NotFound ${key(r)} in ${call.groupId}`);
        rules.delete(key(r));
      }
    }
    if (call.rules.length === 0) throw new Error('empty call');
    if (!p.transientNarrowing) {
      const now = new Map(portKeys.map((pk) => [pk, indexCidrs(allowed(pk))]));
      for (const [cidr, pk] of mustStay) {
        if (!now.get(pk)!.covers(cidr)) throw new Error(`transient narrowing of ${cidr} ${pk} not reported`);
      }
    }
  }
  // Final state: every desired rule exactly once (unless left to an unowned rule), nothing else, in target groups only.
  const final = [...state.values()].flatMap((m) => [...m.values()]);
  const leftToUnowned = new Set([...unowned.values()].flatMap((k) => [...k]));
  const expected = portKeys.flatMap((pk) => [...desired.ipv4, ...desired.ipv6].map((c) => `${c}|${pk}`))
    .filter((k) => !(p.coveredByUnowned > 0 && leftToUnowned.has(k) && !final.some((r) => key(r) === k))).sort();
  expect(final.map(key).sort()).toEqual(expected);
  for (const r of final) expect(opts.groupIds).toContain(r.groupId);
  return final;
}

function plan(input: Partial<SecurityGroupPlanInput> & { desired: CidrsByFamily }): SecurityGroupPlan {
  return planSecurityGroups({ groupIds: GROUPS, ports: HTTPS, current: [], ...input });
}

function groupsOf(rules: readonly OwnedRule[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of rules) (out[r.groupId] ??= []).push(key(r));
  for (const g of Object.keys(out)) out[g].sort();
  return out;
}

describe('planSecurityGroups: placement and calls', () => {
  test('first sync fills the groups in order, IPv4 and IPv6 with separate quotas', () => {
    const desired = { ipv4: v4(130), ipv6: v6(70) };
    const p = plan({ desired });
    expect(p.refusal).toBeUndefined();
    expect(p.groups.map((g) => [g.groupId, g.after.ipv4, g.after.ipv6])).toEqual([
      ['sg-a', 60, 60], ['sg-b', 60, 10], ['sg-c', 10, 0], ['sg-d', 0, 0],
    ]);
    // sg-a gets 120 rules: two calls of at most 100; then sg-b (70) and sg-c (10).
    expect(p.calls.map((c) => [c.action, c.groupId, c.rules.length])).toEqual([
      ['authorize', 'sg-a', 100], ['authorize', 'sg-a', 20], ['authorize', 'sg-b', 70], ['authorize', 'sg-c', 10],
    ]);
    expect(p.counts).toEqual({ desired: 200, current: 0, unchanged: 0, add: 200, remove: 0, netRemove: 0, moved: 0, mutatingCalls: 4 });
    // Placement follows CIDR order: the first 60 IPv4 CIDRs are in sg-a.
    expect(p.groups[0].add.filter((r) => r.family === 'ipv4').map((r) => r.cidr)).toEqual(v4(60));
    simulateSecurityGroups([], p, desired, HTTPS, { groupIds: GROUPS });
  });

  test('idempotent: the same input against the state it produced plans nothing', () => {
    const desired = { ipv4: v4(130), ipv6: v6(70) };
    const state = applySecurityGroupPlan([], plan({ desired }));
    const again = plan({ desired, current: [...state].reverse() });
    expect(again.calls).toEqual([]);
    expect(again.counts).toEqual({ desired: 200, current: 200, unchanged: 200, add: 0, remove: 0, netRemove: 0, moved: 0, mutatingCalls: 0 });
    expect(again.groups.every((g) => g.add.length === 0 && g.remove.length === 0)).toBe(true);
  });

  test('the owned rules are recognised in the forms EC2 reports them', () => {
    const desired = { ipv4: ['10.0.0.0/24'], ipv6: ['2001:db8::/48'] };
    const current: OwnedRule[] = [
      { groupId: 'sg-a', cidr: '10.0.0.0/24', protocol: '6', fromPort: 443, toPort: 443 },
      { groupId: 'sg-a', cidr: '2001:DB8:0::/48', protocol: 'TCP', fromPort: 443, toPort: 443 },
    ];
    expect(plan({ desired, current }).calls).toEqual([]);
    const all: OwnedRule[] = [{ groupId: 'sg-a', cidr: '10.0.0.0/24', protocol: '-1', fromPort: -1, toPort: -1 }];
    expect(plan({ desired: { ipv4: ['10.0.0.0/24'], ipv6: [] }, current: all, ports: [{ protocol: 'all', fromPort: 0, toPort: 0 }] }).calls).toEqual([]);
  });

  test('stable sharding: removing one CIDR touches only the group that holds it', () => {
    const desired = { ipv4: v4(200), ipv6: v6(100) };
    const state = applySecurityGroupPlan([], plan({ desired }));
    const gone = v4(200)[75]; // in sg-b
    const next = { ipv4: desired.ipv4.filter((c) => c !== gone), ipv6: desired.ipv6 };
    const p = plan({ desired: next, current: state });
    expect(p.calls.map((c) => [c.action, c.groupId, c.rules.map((r) => r.cidr)])).toEqual([['revoke', 'sg-b', [gone]]]);
    expect(p.groups.filter((g) => g.add.length + g.remove.length > 0).map((g) => g.groupId)).toEqual(['sg-b']);
    const after = simulateSecurityGroups(state, p, next, HTTPS, { groupIds: GROUPS });
    // Every other rule is still in the group it was in.
    const before = groupsOf(state);
    const now = groupsOf(after);
    for (const g of GROUPS) expect(now[g] ?? []).toEqual((before[g] ?? []).filter((k) => !k.startsWith(`${gone}|`)));
  });

  test('stable sharding: a new CIDR goes to the first group with room, nothing moves', () => {
    const desired = { ipv4: v4(130), ipv6: [] };
    const state = applySecurityGroupPlan([], plan({ desired }));
    // A CIDR that sorts first would land in sg-a if placement were recomputed from scratch.
    const next = { ipv4: ['9.0.0.0/24', ...desired.ipv4], ipv6: [] };
    const p = plan({ desired: next, current: state });
    expect(p.calls.map((c) => [c.action, c.groupId, c.rules.map((r) => r.cidr)])).toEqual([['authorize', 'sg-c', ['9.0.0.0/24']]]);
    expect(p.counts).toMatchObject({ add: 1, remove: 0, unchanged: 130, moved: 0 });
  });

  test('a replacement adds first, then removes', () => {
    const desired = { ipv4: v4(10), ipv6: [] };
    const state = applySecurityGroupPlan([], plan({ desired }));
    const next = { ipv4: [...v4(8), ...v4(2, 100)], ipv6: [] };
    const p = plan({ desired: next, current: state });
    expect(p.calls.map((c) => [c.action, c.groupId, c.rules.length])).toEqual([['authorize', 'sg-a', 2], ['revoke', 'sg-a', 2]]);
    expect(p.transientNarrowing).toBe(false);
    simulateSecurityGroups(state, p, next, HTTPS, { groupIds: GROUPS });
  });

  test('every port range is one rule per CIDR', () => {
    const ports = [{ fromPort: 80, toPort: 80 }, { fromPort: 443, toPort: 443 }];
    const desired = { ipv4: v4(40), ipv6: [] };
    const p = plan({ desired, ports });
    expect(p.counts.desired).toBe(80);
    expect(p.groups.map((g) => g.after.ipv4)).toEqual([60, 20, 0, 0]);
    // Both rules of a CIDR are next to each other, so they land in the same group.
    expect(p.groups[0].add.slice(0, 2).map(key)).toEqual([`${v4(1)[0]}|tcp|80|80`, `${v4(1)[0]}|tcp|443|443`]);
    simulateSecurityGroups([], p, desired, ports, { groupIds: GROUPS });
  });

  test('a full group revokes early what is safe to revoke early', () => {
    const one = { groupIds: ['sg-a'], rulesPerGroup: 4 };
    const current: OwnedRule[] = v4(4).map((cidr) => ({ groupId: 'sg-a', cidr, protocol: 'tcp', fromPort: 443, toPort: 443 }));
    const next = { ipv4: [...v4(3), '10.9.0.0/24'], ipv6: [] };
    const p = plan({ ...one, desired: next, current });
    expect(p.calls.map((c) => [c.action, c.rules.map((r) => r.cidr)])).toEqual([['revoke', [v4(4)[3]]], ['authorize', ['10.9.0.0/24']]]);
    expect(p.transientNarrowing).toBe(false);
    simulateSecurityGroups(current, p, next, HTTPS, one);
  });

  test('transient narrowing is reported when a range that stays must be revoked first', () => {
    const one = { groupIds: ['sg-a'], rulesPerGroup: 2 };
    const current: OwnedRule[] = ['10.0.0.0/24', '10.0.3.0/25'].map((cidr) => ({ groupId: 'sg-a', cidr, protocol: 'tcp', fromPort: 443, toPort: 443 }));
    const next = { ipv4: ['10.0.0.0/24', '10.0.3.0/24'], ipv6: [] };
    const p = plan({ ...one, desired: next, current });
    expect(p.transientNarrowing).toBe(true);
    expect(p.calls.map((c) => c.action)).toEqual(['revoke', 'authorize']);
    // With a second group there is room to add first: no narrowing.
    const two = { groupIds: ['sg-a', 'sg-b'], rulesPerGroup: 2 };
    const q = plan({ ...two, desired: next, current });
    expect(q.transientNarrowing).toBe(false);
    expect(q.calls.map((c) => [c.action, c.groupId])).toEqual([['authorize', 'sg-b'], ['revoke', 'sg-a']]);
    simulateSecurityGroups(current, q, next, HTTPS, two);
  });

  test('a port change in a full group: rules of the old port are revoked early (safe), no narrowing', () => {
    const one = { groupIds: ['sg-a'], rulesPerGroup: 60 };
    const desired = { ipv4: v4(50), ipv6: [] };
    const state = applySecurityGroupPlan([], plan({ ...one, desired }));
    const ports = [{ fromPort: 8443, toPort: 8443 }];
    const refused = plan({ ...one, desired, current: state, ports });
    expect(refused.refusal?.code).toBe('TOO_MANY_REMOVALS');
    const p = plan({ ...one, desired, current: state, ports, maxRemovePercent: 100 });
    expect(p.transientNarrowing).toBe(false);
    expect(p.calls.map((c) => [c.action, c.rules.length])).toEqual([['revoke', 40], ['authorize', 50], ['revoke', 10]]);
    simulateSecurityGroups(state, p, desired, ports, one);
  });

  test('rules in a group that is no longer a target are revoked last, after their replacements', () => {
    const current: OwnedRule[] = v4(3).map((cidr) => ({ groupId: 'sg-old', cidr, protocol: 'tcp', fromPort: 443, toPort: 443, ruleId: `sgr-${cidr}` }));
    const desired = { ipv4: v4(3), ipv6: [] };
    const p = plan({ desired, current, maxRemovePercent: 0 });
    expect(p.refusal).toBeUndefined(); // moving rules is not removing them
    expect(p.calls.map((c) => [c.action, c.groupId, c.rules.length])).toEqual([['authorize', 'sg-a', 3], ['revoke', 'sg-old', 3]]);
    expect(p.groups.map((g) => [g.groupId, g.inTarget, g.after.ipv4])).toEqual([
      ['sg-a', true, 3], ['sg-b', true, 0], ['sg-c', true, 0], ['sg-d', true, 0], ['sg-old', false, 0],
    ]);
    expect(p.counts).toMatchObject({ add: 3, remove: 3, moved: 3, netRemove: 0 });
    // Revokes carry the owned rule as listed, rule id included.
    expect(p.calls[1].rules[0]).toHaveProperty('ruleId', `sgr-${v4(1)[0]}`);
  });

  test('a rule owned twice is revoked from the later group', () => {
    const rule = (groupId: string, cidr: string): OwnedRule => ({ groupId, cidr, protocol: 'tcp', fromPort: 443, toPort: 443 });
    const current = [rule('sg-b', '10.0.0.0/24'), rule('sg-a', '10.0.0.0/24'), rule('sg-a', '10.0.2.0/24')];
    const desired = { ipv4: ['10.0.0.0/24', '10.0.2.0/24'], ipv6: [] };
    const p = plan({ desired, current });
    expect(p.calls.map((c) => [c.action, c.groupId, c.rules.map((r) => r.cidr)])).toEqual([['revoke', 'sg-b', ['10.0.0.0/24']]]);
    expect(p.counts).toMatchObject({ unchanged: 2, add: 0, remove: 1, netRemove: 0 });
  });

  test('a lower rulesPerGroup moves the excess to the next group, adding before removing', () => {
    const desired = { ipv4: v4(60), ipv6: [] };
    const state = applySecurityGroupPlan([], plan({ desired }));
    const p = plan({ desired, current: state, rulesPerGroup: 50 });
    expect(p.calls.map((c) => [c.action, c.groupId, c.rules.length])).toEqual([['authorize', 'sg-b', 10], ['revoke', 'sg-a', 10]]);
    expect(p.counts).toMatchObject({ moved: 10, unchanged: 50 });
    expect(p.calls[0].rules.map((r) => r.cidr)).toEqual(v4(60).slice(50));
    simulateSecurityGroups(state, p, desired, HTTPS, { groupIds: GROUPS, rulesPerGroup: 50 });
  });

  test('rules the sync does not own reduce the room of their group', () => {
    const reserved = { 'sg-a': { ipv4: 58, ipv6: 0 } };
    const desired = { ipv4: v4(10), ipv6: v6(5) };
    const p = plan({ desired, reservedRules: reserved });
    expect(p.groups.map((g) => [g.after.ipv4, g.after.ipv6])).toEqual([[2, 5], [8, 0], [0, 0], [0, 0]]);
    simulateSecurityGroups([], p, desired, HTTPS, { groupIds: GROUPS, reserved });
  });

  test('unowned rules take quota and are never duplicated', () => {
    const rule = (groupId: string, cidr: string): OwnedRule => ({ groupId, cidr, protocol: 'tcp', fromPort: 443, toPort: 443, description: 'office' });
    // sg-a holds an unowned copy of the first desired rule and 57 other unowned IPv4 rules.
    const unownedRules = [rule('sg-a', v4(1)[0]), ...v4(57, 500).map((c) => rule('sg-a', c)), rule('sg-zz', '192.0.2.0/24')];
    const desired = { ipv4: v4(4), ipv6: [] };
    const p = plan({ desired, unownedRules });
    expect(p.calls.map((c) => [c.action, c.groupId, c.rules.map((r) => r.cidr)])).toEqual([
      ['authorize', 'sg-a', [v4(4)[1], v4(4)[2]]],
      ['authorize', 'sg-b', [v4(4)[0], v4(4)[3]]],
    ]);
    expect(p.coveredByUnowned).toBe(0);
    simulateSecurityGroups([], p, desired, HTTPS, { groupIds: GROUPS, unowned: unownedRules });
    // With a single group, a rule that exists there unowned is left to it.
    const q = plan({ desired, unownedRules: [rule('sg-a', v4(1)[0])], groupIds: ['sg-a'] });
    expect(q.coveredByUnowned).toBe(1);
    expect(q.calls.map((c) => c.rules.map((r) => r.cidr))).toEqual([v4(4).slice(1)]);
    // Unowned rules count against capacity.
    const full = plan({ desired: { ipv4: v4(60), ipv6: [] }, unownedRules: [rule('sg-a', '192.0.2.0/24')], groupIds: ['sg-a'] });
    expect(full.refusal?.message).toBe('IPv4 cover needs 60 CIDRs x 1 port range = 60 rules; 1 group x 60 rules - 1 used by rules the sync does not own = 59 available (maxGroups 1)');
  });

  test('invalid settings', () => {
    const desired = { ipv4: v4(1), ipv6: [] };
    expect(() => plan({ desired, groupIds: [] })).toThrow('groupIds must list at least one security group');
    expect(() => plan({ desired, groupIds: ['sg-a', 'sg-a'] })).toThrow('groupIds has duplicates');
    expect(() => plan({ desired, maxRemovePercent: 150 })).toThrow('maxRemovePercent must be in 0..100, got 150');
    expect(() => plan({ desired, maxRulesPerCall: 0 })).toThrow(RangeError);
    expect(() => plan({ desired: { ipv4: ['2001:db8::/32'], ipv6: [] } })).toThrow(InvalidCidrError);
    expect(() => plan({ desired, current: [{ groupId: 'sg-a', cidr: 'bogus', protocol: 'tcp', fromPort: 1, toPort: 1 }] })).toThrow(InvalidCidrError);
  });
});

describe('planSecurityGroups: refusals', () => {
  const state = applySecurityGroupPlan([], plan({ desired: { ipv4: v4(10), ipv6: [] } }));

  test('guard: removing 6 of 10 owned rules is refused by default, with no calls', () => {
    const p = plan({ desired: { ipv4: v4(4), ipv6: [] }, current: state });
    expect(p.refusal).toEqual({ code: 'TOO_MANY_REMOVALS', message: 'refusing to remove 6 of 10 owned (60.0%) in one sync; maxRemovePercent is 50' });
    expect(p.calls).toEqual([]);
    expect(p.groups).toEqual([]);
    expect(p.counts).toMatchObject({ desired: 4, current: 10, remove: 6, netRemove: 6, mutatingCalls: 0 });
    expect(() => assertPlanAllowed(p)).toThrow(PlanRefusedError);
    expect(() => assertPlanAllowed(p)).toThrow('Sync refused (TOO_MANY_REMOVALS): refusing to remove 6 of 10');
  });

  test('guard: exactly the limit passes; a higher limit passes', () => {
    expect(plan({ desired: { ipv4: v4(5), ipv6: [] }, current: state }).refusal).toBeUndefined();
    const p = plan({ desired: { ipv4: v4(1), ipv6: [] }, current: state, maxRemovePercent: 90 });
    expect(p.refusal).toBeUndefined();
    expect(p.counts.mutatingCalls).toBe(1);
    expect(() => assertPlanAllowed(p)).not.toThrow();
  });

  test('an empty desired set is never applied, whatever the guard says', () => {
    for (const current of [state, []]) {
      const p = plan({ desired: { ipv4: [], ipv6: [] }, current, maxRemovePercent: 100 });
      expect(p.refusal?.code).toBe('EMPTY_DESIRED');
      expect(p.calls).toEqual([]);
    }
  });

  test('over capacity: refused before anything is touched, with the numbers', () => {
    const p = plan({ desired: { ipv4: v4(231), ipv6: [] }, groupIds: ['sg-a', 'sg-b', 'sg-c'], current: state });
    expect(p.refusal).toEqual({
      code: 'CAPACITY',
      message: 'IPv4 cover needs 231 CIDRs x 1 port range = 231 rules; 3 groups x 60 rules = 180 available (maxGroups 3)',
    });
    expect(p.calls).toEqual([]);
    expect(p.counts).toMatchObject({ desired: 231, add: 221, remove: 0 });
  });
});

test('planSecurityGroups refuses to strip a whole address family that vanished upstream', () => {
  const current: OwnedRule[] = [
    { groupId: 'sg-1', cidr: '10.0.0.0/24', protocol: 'tcp', fromPort: 443, toPort: 443 },
    { groupId: 'sg-1', cidr: '10.0.1.0/24', protocol: 'tcp', fromPort: 443, toPort: 443 },
    { groupId: 'sg-1', cidr: '10.0.2.0/24', protocol: 'tcp', fromPort: 443, toPort: 443 },
    { groupId: 'sg-1', cidr: '2001:db8::/48', protocol: 'tcp', fromPort: 443, toPort: 443 },
  ];
  const p = planSecurityGroups({
    desired: { ipv4: ['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/24'], ipv6: [] }, groupIds: ['sg-1'], ports: HTTPS, current, maxRemovePercent: 50,
  });
  expect(p.refusal).toEqual({ code: 'EMPTY_DESIRED', message: expect.stringContaining('desired ipv6 set is empty but 1 ipv6 rules are owned') });
  expect(p.calls).toEqual([]);
});

describe('planSecurityGroups: random scenarios keep every invariant', () => {
  // A pool with nested and adjacent ranges so replacements overlap.
  const pool4 = ['10.0.0.0/24', '10.0.0.0/25', '10.0.0.128/25', '10.0.1.0/24', '10.0.0.0/23', '10.0.2.0/24', '10.0.3.0/24', '10.0.2.0/23', '10.1.0.0/16', '10.1.5.0/24', '192.168.0.0/24', '192.168.1.0/24'];
  const pool6 = ['2001:db8::/48', '2001:db8::/49', '2001:db8:0:8000::/49', '2001:db8:1::/48', '2001:db8::/47', '2001:db8:2::/48', '2001:db8:3::/48', '2600::/32'];
  const pick = (rand: () => number, pool: string[]): string[] => {
    // Nested pool entries are fine in a desired set for the planner, but keep it realistic: no exact duplicates.
    return pool.filter(() => rand() < 0.45);
  };

  test.each([1, 2, 3, 4, 5, 6])('seed %i: 60 syncs', (seed) => {
    const rand = prng(seed);
    for (let trial = 0; trial < 60; trial++) {
      const groupIds = GROUPS.slice(0, 1 + Math.floor(rand() * 3));
      const rulesPerGroup = 3 + Math.floor(rand() * 6);
      const ports = rand() < 0.7 ? HTTPS : [{ fromPort: 80, toPort: 80 }, { fromPort: 443, toPort: 443 }];
      // Sometimes a person added a rule by hand, maybe one the sync also wants.
      const unownedRules: OwnedRule[] = [...pool4, ...pool6].filter(() => rand() < 0.06).map((cidr) => (
        { groupId: groupIds[Math.floor(rand() * groupIds.length)], cidr, protocol: 'tcp', fromPort: 443, toPort: 443 }));
      const opts = { groupIds, rulesPerGroup, unowned: unownedRules };
      const settings = { groupIds, rulesPerGroup, unownedRules, ports, maxRemovePercent: 100 };
      const old = { ipv4: pick(rand, pool4), ipv6: pick(rand, pool6) };
      let state: OwnedRule[] = [];
      const first = planSecurityGroups({ ...settings, desired: old, current: [] });
      if (!first.refusal) state = simulateSecurityGroups([], first, old, ports, opts);
      // Noise the handler may find: a duplicate, a rule of another port, a rule in a retired group.
      if (state.length > 0 && rand() < 0.3) state.push({ ...state[0], groupId: groupIds[groupIds.length - 1] === state[0].groupId ? 'sg-retired' : groupIds[groupIds.length - 1] });
      if (rand() < 0.3) state.push({ groupId: 'sg-retired', cidr: '172.16.0.0/12', protocol: 'tcp', fromPort: 22, toPort: 22 });
      // Duplicate keys inside one group do not exist in EC2.
      const seen = new Set<string>(unownedRules.map((r) => `${r.groupId}|${key(r)}`));
      state = state.filter((r) => !seen.has(`${r.groupId}|${key(r)}`) && !!seen.add(`${r.groupId}|${key(r)}`));

      const next = { ipv4: pick(rand, pool4), ipv6: pick(rand, pool6) };
      const p = planSecurityGroups({ ...settings, desired: next, current: state });
      const need4 = next.ipv4.length * ports.length;
      const need6 = next.ipv6.length * ports.length;
      const room = (family: 'ipv4' | 'ipv6'): number => groupIds.reduce((n, g) =>
        n + Math.max(0, rulesPerGroup - unownedRules.filter((r) => r.groupId === g && familyOf(r.cidr) === family).length), 0);
      const emptied = (['ipv4', 'ipv6'] as const).some((f) => next[f].length === 0 && state.some((r) => familyOf(r.cidr) === f));
      if (need4 + need6 === 0 || emptied) {
        expect(p.refusal?.code).toBe('EMPTY_DESIRED');
      } else if (need4 > room('ipv4') || need6 > room('ipv6')) {
        expect(p.refusal?.code).toBe('CAPACITY');
      } else {
        expect(p.refusal).toBeUndefined();
        const after = simulateSecurityGroups(state, p, next, ports, opts);
        expect(p.counts.mutatingCalls).toBe(p.calls.length);
        // Idempotent from the new state.
        const again = planSecurityGroups({ ...settings, desired: next, current: after, maxRemovePercent: 0 });
        expect(again.calls).toEqual([]);
      }
      expect(p.refusal ? p.calls : []).toEqual([]);
    }
  });
});

describe('toIpPermissions', () => {
  test('one permission per protocol and ports; IPv4 and IPv6 side by side', () => {
    const rules = [
      { groupId: 'g', cidr: '10.0.0.0/8', protocol: 'tcp', fromPort: 443, toPort: 443 },
      { groupId: 'g', cidr: '2001:db8::/32', protocol: 'tcp', fromPort: 443, toPort: 443 },
      { groupId: 'g', cidr: '10.0.0.0/8', protocol: '6', fromPort: 80, toPort: 80 },
      { groupId: 'g', cidr: '10.1.0.0/16', protocol: '-1', fromPort: 0, toPort: 65535 },
    ];
    expect(toIpPermissions(rules, 'd')).toEqual([
      { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '10.0.0.0/8', Description: 'd' }], Ipv6Ranges: [{ CidrIpv6: '2001:db8::/32', Description: 'd' }] },
      { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '10.0.0.0/8', Description: 'd' }], Ipv6Ranges: [] },
      { IpProtocol: '-1', FromPort: -1, ToPort: -1, IpRanges: [{ CidrIp: '10.1.0.0/16', Description: 'd' }], Ipv6Ranges: [] },
    ]);
    expect(toIpPermissions(rules.slice(0, 1))[0].IpRanges).toEqual([{ CidrIp: '10.0.0.0/8' }]);
  });
});

/** Performs prefix-list calls like EC2 and checks the limits at every step. */
function simulatePrefixList(current: readonly string[], p: PrefixListPlan, maxEntries: number): string[] {
  const state = new Set(current);
  let lastAdd = -1;
  p.calls.forEach((call, i) => {
    expect(call.add.length + call.remove.length).toBeGreaterThan(0);
    expect(call.add.length).toBeLessThanOrEqual(100);
    expect(call.remove.length).toBeLessThanOrEqual(100);
    for (const c of call.remove) {
      if (!state.has(c)) throw new Error(`remove of missing entry ${c}`);
      state.delete(c);
    }
    for (const c of call.add) {
      if (state.has(c)) throw new Error(`add of existing entry ${c}`);
      state.add(c);
    }
    if (state.size > maxEntries) throw new Error(`prefix list over maxEntries after call ${i}: ${state.size}`);
    if (call.add.length) lastAdd = i;
  });
  // Remove-only calls come after every add.
  p.calls.forEach((call, i) => {
    if (call.add.length === 0) expect(i).toBeGreaterThan(lastAdd);
  });
  return [...state].sort();
}

describe('planPrefixList', () => {
  test('250 adds: three calls of at most 100', () => {
    const desired = v4(250);
    const p = planPrefixList({ family: 'ipv4', desired, current: [], maxEntries: 300 });
    expect(p.calls.map((c) => [c.add.length, c.remove.length])).toEqual([[100, 0], [100, 0], [50, 0]]);
    expect(p.counts).toEqual({ desired: 250, current: 0, unchanged: 0, add: 250, remove: 0, netRemove: 0, moved: 0, mutatingCalls: 3 });
    expect(simulatePrefixList([], p, 300)).toEqual([...desired].sort());
  });

  test('250 adds and 150 removes: adds first, removals ride with the last add call, then follow', () => {
    const current = v4(300);
    const desired = [...v4(150, 150), ...v4(250, 1000)];
    const p = planPrefixList({ family: 'ipv4', desired, current, maxEntries: 1000, maxRemovePercent: 50 });
    expect(p.calls.map((c) => [c.add.length, c.remove.length])).toEqual([[100, 0], [100, 0], [50, 100], [0, 50]]);
    expect(p.remove).toEqual(v4(150));
    expect(simulatePrefixList(current, p, 1000)).toEqual(applyPrefixListPlan(current, p).sort());
    expect(applyPrefixListPlan(current, p)).toEqual(p.entriesAfter);
  });

  test('idempotent: no call when the list already holds the desired entries', () => {
    const p = planPrefixList({ family: 'ipv6', desired: v6(20), current: [...v6(20)].reverse(), maxEntries: 20 });
    expect(p.calls).toEqual([]);
    expect(p.counts).toMatchObject({ add: 0, remove: 0, unchanged: 20, mutatingCalls: 0 });
  });

  test('a full list replacing /64s by their covering /56: one atomic call, no narrowing', () => {
    const keep = v6(10);
    const small = ['2600:f0f3:f010:3400::/64', '2600:f0f3:f010:3401::/64'];
    const current = [...keep, ...small];
    const desired = [...keep, '2600:f0f3:f010:3400::/56'];
    const p = planPrefixList({ family: 'ipv6', desired, current, maxEntries: 12 });
    expect(p.calls).toEqual([{ add: ['2600:f0f3:f010:3400::/56'], remove: small }]);
    expect(p.transientNarrowing).toBe(false);
    simulatePrefixList(current, p, 12);
  });

  test('a full list removes an entry that leaves the set early; narrowing only when unavoidable', () => {
    const current = ['10.0.0.0/24', '10.0.1.0/24', '10.0.3.0/24'];
    // 10.0.1.0/24 leaves entirely: safe to remove with the add.
    const a = planPrefixList({ family: 'ipv4', desired: ['10.0.0.0/24', '10.0.3.0/24', '10.0.9.0/24'], current, maxEntries: 3 });
    expect(a.calls).toEqual([{ add: ['10.0.9.0/24'], remove: ['10.0.1.0/24'] }]);
    expect(a.transientNarrowing).toBe(false);
    // 10.0.3.0/24 shrinks to its first half, 10.0.1.0/24 stays: the list is full, the /24 must go first.
    const b = planPrefixList({ family: 'ipv4', desired: ['10.0.0.0/24', '10.0.1.0/24', '10.0.3.0/25'], current: ['10.0.0.0/24', '10.0.1.0/24', '10.0.3.0/24'], maxEntries: 3 });
    expect(b.calls).toEqual([{ add: ['10.0.3.0/25'], remove: ['10.0.3.0/24'] }]);
    expect(b.transientNarrowing).toBe(true);
    simulatePrefixList(current, b, 3);
  });

  test('random scenarios: limits hold at every call and the result is the desired set', () => {
    let seed = 42;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let trial = 0; trial < 200; trial++) {
      const universe = v4(400);
      const current = universe.filter(() => rand() < 0.4);
      const desired = universe.filter(() => rand() < 0.4);
      const maxEntries = Math.max(desired.length, current.length) + Math.floor(rand() * 30);
      const p = planPrefixList({ family: 'ipv4', desired, current, maxEntries, maxRemovePercent: 100 });
      if (desired.length === 0 && current.length > 0) {
        expect(p.refusal?.code).toBe('EMPTY_DESIRED');
        continue;
      }
      expect(p.refusal).toBeUndefined();
      expect(simulatePrefixList(current, p, maxEntries)).toEqual([...desired].sort());
      expect(p.transientNarrowing).toBe(false); // these /24s never overlap
    }
  });

  test('refusals: guard, emptying, capacity; nothing to do when both sides are empty', () => {
    const current = v4(10);
    expect(planPrefixList({ family: 'ipv4', desired: v4(4), current, maxEntries: 20 }).refusal?.code).toBe('TOO_MANY_REMOVALS');
    const empty = planPrefixList({ family: 'ipv4', desired: [], current, maxEntries: 20, maxRemovePercent: 100 });
    expect(empty.refusal).toEqual({ code: 'EMPTY_DESIRED', message: 'the desired ipv4 set is empty; refusing to empty the prefix list (10 entries)' });
    expect(empty.calls).toEqual([]);
    const full = planPrefixList({ family: 'ipv4', desired: v4(21), current, maxEntries: 20 });
    expect(full.refusal).toEqual({ code: 'CAPACITY', message: 'IPv4 cover needs 21 prefix-list entries; the prefix list holds at most 20 (maxEntries)' });
    expect(full.calls).toEqual([]);
    const none = planPrefixList({ family: 'ipv6', desired: [], current: [], maxEntries: 20 });
    expect(none.refusal).toBeUndefined();
    expect(none.calls).toEqual([]);
  });

  test('invalid settings', () => {
    expect(() => planPrefixList({ family: 'ipv4', desired: [], current: [], maxEntries: 10, maxChangesPerCall: 101 })).toThrow(RangeError);
    expect(() => planPrefixList({ family: 'ipv4', desired: ['2001:db8::/32'], current: [], maxEntries: 10 })).toThrow(InvalidCidrError);
    expect(() => planPrefixList({ family: 'ipv6', desired: [], current: ['10.0.0.0/8'], maxEntries: 10 })).toThrow(InvalidCidrError);
  });
});

describe('planWafIpSet', () => {
  test('the full new list plus what was added and removed', () => {
    const p = planWafIpSet({ family: 'ipv4', desired: ['10.0.2.0/24', '10.0.0.0/24', '10.0.1.0/24'], current: ['10.0.0.0/24', '10.0.9.0/24'] });
    expect(p).toMatchObject({
      update: true,
      addresses: ['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/24'],
      add: ['10.0.1.0/24', '10.0.2.0/24'],
      remove: ['10.0.9.0/24'],
      counts: { desired: 3, current: 2, unchanged: 1, add: 2, remove: 1, netRemove: 1, mutatingCalls: 1 },
    });
  });

  test('unchanged: no call', () => {
    const p = planWafIpSet({ family: 'ipv6', desired: ['2001:db8::/32'], current: ['2001:DB8::/32'] });
    expect(p.update).toBe(false);
    expect(p.counts.mutatingCalls).toBe(0);
  });

  test('refusals', () => {
    expect(planWafIpSet({ family: 'ipv4', desired: ['0.0.0.0/0'], current: [] }).refusal).toEqual({ code: 'CAPACITY', message: 'WAF IP sets do not accept /0 (0.0.0.0/0)' });
    expect(planWafIpSet({ family: 'ipv4', desired: v4(3), current: [], maxAddresses: 2 }).refusal?.code).toBe('CAPACITY');
    const guard = planWafIpSet({ family: 'ipv4', desired: v4(1), current: v4(3) });
    expect(guard.refusal?.code).toBe('TOO_MANY_REMOVALS');
    expect(guard.update).toBe(false);
    expect(planWafIpSet({ family: 'ipv4', desired: [], current: v4(3), maxRemovePercent: 100 }).refusal?.code).toBe('EMPTY_DESIRED');
  });
});

describe('checkRemovalGuard', () => {
  test.each([
    [0, 0, 50, undefined],
    [5, 0, 50, undefined],
    [5, 10, 50, undefined],
    [6, 10, 50, 'TOO_MANY_REMOVALS'],
    [1, 10, 0, 'TOO_MANY_REMOVALS'],
    [10, 10, 100, undefined],
  ])('%i of %i at %i%%', (removals, current, pct, code) => {
    expect(checkRemovalGuard(removals, current, pct)?.code).toBe(code);
  });

  test('default is 50 percent', () => {
    expect(checkRemovalGuard(51, 100)?.message).toBe('refusing to remove 51 of 100 owned (51.0%) in one sync; maxRemovePercent is 50');
    expect(() => checkRemovalGuard(1, 1, -1)).toThrow(RangeError);
  });
});
