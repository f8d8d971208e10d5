/**
 * End to end on the real published versions: parse -> verify -> filter -> merge -> capacity -> plan,
 * chained across the successive AWS ip-ranges.json versions and the two 2025 GitHub meta snapshots.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CidrCover, minimalCover } from '../../src/ip-range-security-group/runtime/cidr';
import { isNewerSyncToken, parseAwsIpRanges, parseGithubMeta, parseSnsNotification, verifyMd5 } from '../../src/ip-range-security-group/runtime/documents';
import { selectAwsCidrs, selectGithubCidrs, SelectedCidrs } from '../../src/ip-range-security-group/runtime/filter';
import {
  applyPrefixListPlan, applySecurityGroupPlan, OwnedRule, planPrefixList, planSecurityGroups, planWafIpSet,
} from '../../src/ip-range-security-group/runtime/plan';
import { SHARED_DATA_DIR } from '../harness/shared-data';

const DATA = SHARED_DATA_DIR;
const VERSIONS = ['1784747826', '1784760425', '1784768825'];
const GROUPS = ['sg-1', 'sg-2', 'sg-3', 'sg-4', 'sg-5'];
const HTTPS = [{ fromPort: 443, toPort: 443 }];

const sns: { file: string; message: Record<string, string> }[] = JSON.parse(fs.readFileSync(path.join(DATA, 'aws-ip-ranges', 'sns-messages.json'), 'utf-8'));

interface Version {
  readonly token: string;
  readonly selected: SelectedCidrs;
  readonly cover: CidrCover;
}

/** What the handler does with one notification, up to the cover. */
function load(token: string): Version {
  const bytes = fs.readFileSync(path.join(DATA, 'aws-ip-ranges', `ip-ranges-${token}.json`));
  const note = parseSnsNotification(JSON.stringify(sns.find((m) => m.message.synctoken === token)!.message));
  verifyMd5(bytes, note.md5);
  const doc = parseAwsIpRanges(bytes);
  expect(doc.syncToken).toBe(note.syncToken);
  const selected = selectAwsCidrs(doc, { services: ['EC2'], regions: ['us-east-1'] });
  return { token, selected, cover: minimalCover([...selected.ipv4, ...selected.ipv6]) };
}

const added = (from: readonly string[], to: readonly string[]): string[] => to.filter((c) => !from.includes(c)).sort();
const removed = (from: readonly string[], to: readonly string[]): string[] => added(to, from);

describe('AWS ip-ranges.json: EC2 us-east-1 across three published versions', () => {
  const versions = VERSIONS.map(load);
  const [v1, v2, v3] = versions;

  test('sizes: ~290 IPv4 prefixes merge to 230 CIDRs; IPv6 204/208/206 merge to 166/168/168', () => {
    expect(versions.map((v) => [v.selected.ipv4.length, v.cover.ipv4.length, v.selected.ipv6.length, v.cover.ipv6.length])).toEqual([
      [290, 230, 204, 166],
      [290, 230, 208, 168],
      [290, 230, 206, 168],
    ]);
  });

  test('the notifications arrive in order: each synctoken is newer than the last applied one', () => {
    expect(isNewerSyncToken(v2.token, v1.token)).toBe(true);
    expect(isNewerSyncToken(v3.token, v2.token)).toBe(true);
    expect(isNewerSyncToken(v2.token, v3.token)).toBe(false); // a late duplicate of v2 after v3 is skipped
  });

  test('v1 -> v2: four IPv6 /64s are published; the cover gains two /63s; IPv4 is unchanged', () => {
    expect(added(v1.selected.ipv6, v2.selected.ipv6)).toEqual([
      '2600:f0f3:f010:3400::/64', '2600:f0f3:f010:3401::/64', '2600:f0f3:f010:3800::/64', '2600:f0f3:f010:3801::/64',
    ]);
    expect(removed(v1.selected.ipv6, v2.selected.ipv6)).toEqual([]);
    expect(added(v1.cover.ipv6, v2.cover.ipv6)).toEqual(['2600:f0f3:f010:3400::/63', '2600:f0f3:f010:3800::/63']);
    expect(removed(v1.cover.ipv6, v2.cover.ipv6)).toEqual([]);
    expect(v2.cover.ipv4).toEqual(v1.cover.ipv4);
  });

  test('v2 -> v3: the /64s are replaced by two covering /56s', () => {
    expect(added(v2.selected.ipv6, v3.selected.ipv6)).toEqual(['2600:f0f3:f010:3400::/56', '2600:f0f3:f010:3800::/56']);
    expect(removed(v2.selected.ipv6, v3.selected.ipv6)).toEqual([
      '2600:f0f3:f010:3400::/64', '2600:f0f3:f010:3401::/64', '2600:f0f3:f010:3800::/64', '2600:f0f3:f010:3801::/64',
    ]);
    expect(added(v2.cover.ipv6, v3.cover.ipv6)).toEqual(['2600:f0f3:f010:3400::/56', '2600:f0f3:f010:3800::/56']);
    expect(removed(v2.cover.ipv6, v3.cover.ipv6)).toEqual(['2600:f0f3:f010:3400::/63', '2600:f0f3:f010:3800::/63']);
    expect(v3.cover.ipv4).toEqual(v2.cover.ipv4);
  });

  test('security groups (60 rules each, port 443): 4 groups at first, then small diffs in one group', () => {
    // v1, first sync: IPv4 60+60+60+50, IPv6 60+60+46.
    const p1 = planSecurityGroups({ desired: v1.cover, groupIds: GROUPS, ports: HTTPS, current: [] });
    expect(p1.capacity.families.map((f) => f.groupsNeeded)).toEqual([4, 3]);
    expect(p1.groups.map((g) => [g.after.ipv4, g.after.ipv6])).toEqual([[60, 60], [60, 60], [60, 46], [50, 0], [0, 0]]);
    expect(p1.counts).toMatchObject({ desired: 396, add: 396, remove: 0, mutatingCalls: 7 });
    let state: OwnedRule[] = applySecurityGroupPlan([], p1);

    // v2: the two /63s go to sg-3, the only group with IPv6 room; nothing else moves.
    const p2 = planSecurityGroups({ desired: v2.cover, groupIds: GROUPS, ports: HTTPS, current: state });
    expect(p2.calls.map((c) => [c.action, c.groupId, c.rules.map((r) => r.cidr)])).toEqual([
      ['authorize', 'sg-3', ['2600:f0f3:f010:3400::/63', '2600:f0f3:f010:3800::/63']],
    ]);
    expect(p2.counts).toMatchObject({ desired: 398, unchanged: 396, add: 2, remove: 0, mutatingCalls: 1 });
    state = applySecurityGroupPlan(state, p2);

    // v3: add the /56s, then revoke the /63s they cover; one group touched, two calls.
    const p3 = planSecurityGroups({ desired: v3.cover, groupIds: GROUPS, ports: HTTPS, current: state });
    expect(p3.calls.map((c) => [c.action, c.groupId, c.rules.map((r) => r.cidr)])).toEqual([
      ['authorize', 'sg-3', ['2600:f0f3:f010:3400::/56', '2600:f0f3:f010:3800::/56']],
      ['revoke', 'sg-3', ['2600:f0f3:f010:3400::/63', '2600:f0f3:f010:3800::/63']],
    ]);
    expect(p3.transientNarrowing).toBe(false);
    state = applySecurityGroupPlan(state, p3);

    // Replaying v3 changes nothing.
    expect(planSecurityGroups({ desired: v3.cover, groupIds: GROUPS, ports: HTTPS, current: state }).counts.mutatingCalls).toBe(0);
  });

  test('security groups: 3 groups are refused before anything is touched', () => {
    const p = planSecurityGroups({ desired: v3.cover, groupIds: GROUPS.slice(0, 3), ports: HTTPS, current: [] });
    expect(p.refusal).toEqual({
      code: 'CAPACITY',
      message: 'IPv4 cover needs 230 CIDRs x 1 port range = 230 rules; 3 groups x 60 rules = 180 available (maxGroups 3)',
    });
    expect(p.calls).toEqual([]);
  });

  test('prefix lists (one per family): 3 + 2 calls at first, then one call per version', () => {
    const calls = (family: 'ipv4' | 'ipv6'): number[][][] => {
      let entries: string[] = [];
      return versions.map((v) => {
        const p = planPrefixList({ family, desired: v.cover[family], current: entries, maxEntries: 250 });
        expect(p.refusal).toBeUndefined();
        entries = applyPrefixListPlan(entries, p);
        expect(entries).toEqual(v.cover[family]);
        return p.calls.map((c) => [c.add.length, c.remove.length]);
      });
    };
    expect(calls('ipv4')).toEqual([[[100, 0], [100, 0], [30, 0]], [], []]);
    expect(calls('ipv6')).toEqual([[[100, 0], [66, 0]], [[2, 0]], [[2, 2]]]);
  });

  test('a prefix list sized exactly to the cover still replaces /63s by /56s in one atomic call', () => {
    const p = planPrefixList({ family: 'ipv6', desired: v3.cover.ipv6, current: v2.cover.ipv6, maxEntries: 168 });
    expect(p.calls).toEqual([{
      add: ['2600:f0f3:f010:3400::/56', '2600:f0f3:f010:3800::/56'],
      remove: ['2600:f0f3:f010:3400::/63', '2600:f0f3:f010:3800::/63'],
    }]);
    expect(p.transientNarrowing).toBe(false);
  });

  test('the 2017 document: EC2 us-east-1 without network border groups', () => {
    const doc = parseAwsIpRanges(fs.readFileSync(path.join(DATA, 'aws-ip-ranges', 'ip-ranges-1501798332.json')));
    const sel = selectAwsCidrs(doc, { services: ['EC2'], regions: ['us-east-1'] });
    const cover = minimalCover([...sel.ipv4, ...sel.ipv6]);
    expect([sel.ipv4.length, cover.ipv4.length, sel.ipv6.length, cover.ipv6.length]).toEqual([49, 44, 4, 4]);
    expect(isNewerSyncToken(VERSIONS[0], doc.syncToken)).toBe(true);
  });
});

describe('GitHub meta: actions between the two 2025 snapshots', () => {
  const loadActions = (file: string): CidrCover => {
    const meta = parseGithubMeta(fs.readFileSync(path.join(DATA, 'github-meta', file)));
    const sel = selectGithubCidrs(meta, { services: ['actions'] });
    return minimalCover([...sel.ipv4, ...sel.ipv6]);
  };
  const before = loadActions('meta-2025-07-21T16-30-27Z.json');
  const after = loadActions('meta-2025-07-21T21-00-29Z.json');

  test('merged sizes', () => {
    expect([before.ipv4.length, before.ipv6.length, after.ipv4.length, after.ipv6.length]).toEqual([2850, 875, 2855, 876]);
  });

  test('far too many for security groups: refused with the numbers', () => {
    const p = planSecurityGroups({ desired: after, groupIds: GROUPS, ports: HTTPS, current: [] });
    expect(p.refusal?.code).toBe('CAPACITY');
    expect(p.refusal?.message).toBe(
      'IPv4 cover needs 2855 CIDRs x 1 port range = 2855 rules; 5 groups x 60 rules = 300 available (maxGroups 5); and ' +
      'IPv6 cover needs 876 CIDRs x 1 port range = 876 rules; 5 groups x 60 rules = 300 available (maxGroups 5)');
  });

  test('WAF IP sets: one UpdateIPSet per family with the full list', () => {
    const v4 = planWafIpSet({ family: 'ipv4', desired: after.ipv4, current: before.ipv4 });
    expect(v4).toMatchObject({ update: true, counts: { desired: 2855, add: 17, remove: 12, mutatingCalls: 1 } });
    expect(v4.addresses).toEqual(after.ipv4);
    const v6 = planWafIpSet({ family: 'ipv6', desired: after.ipv6, current: before.ipv6 });
    expect(v6.counts).toMatchObject({ add: 6, remove: 5, mutatingCalls: 1 });
  });

  test('a 1,000-entry prefix list cannot hold the IPv4 actions ranges', () => {
    const p = planPrefixList({ family: 'ipv4', desired: after.ipv4, current: [], maxEntries: 1000 });
    expect(p.refusal?.message).toBe('IPv4 cover needs 2855 prefix-list entries; the prefix list holds at most 1000 (maxEntries)');
  });
});
