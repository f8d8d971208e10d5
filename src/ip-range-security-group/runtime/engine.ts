/**
 * The sync, step by step: fetch and verify the documents, build the minimal cover, read what the
 * target holds now, plan, refuse or apply, record. AWS clients are injected (tests mock them); all
 * decisions are made by the pure modules beside this one.
 */
import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeManagedPrefixListsCommand,
  DescribeSecurityGroupRulesCommand,
  EC2Client,
  GetManagedPrefixListEntriesCommand,
  ModifyManagedPrefixListCommand,
  RevokeSecurityGroupIngressCommand,
  SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import { GetIPSetCommand, UpdateIPSetCommand, WAFV2Client } from '@aws-sdk/client-wafv2';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { FamilyCounts } from './capacity';
import { CidrsByFamily, coverFingerprint, minimalCover } from './cidr';
import { PrefixListTargetConfig, SecurityGroupTargetConfig, SourceConfig, SyncConfig, WafIpSetTargetConfig } from './config';
import {
  IpSpaceChangedNotification, isNewerSyncToken, md5Hex, parseAwsIpRanges, parseCidrList, parseGithubMeta, verifyMd5,
} from './documents';
import { selectAwsCidrs, selectGithubCidrs, selectListCidrs } from './filter';
import { isOwnedRule, ruleDescription } from './ownership';
import {
  OwnedRule, PlanCounts, PlanRefusal, planPrefixList, planSecurityGroups, planWafIpSet, PrefixListPlan,
  SecurityGroupPlan, toIpPermissions, WafIpSetPlan,
} from './plan';

/** Minimal logger (Powertools' Logger fits). */
export interface LogSink {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** Minimal metrics sink (adapted to Powertools' Metrics by the entry point). */
export interface MetricSink {
  count(name: string, value: number): void;
  milliseconds(name: string, value: number): void;
}

export interface SyncDeps {
  readonly ec2: EC2Client;
  readonly waf: WAFV2Client;
  readonly ddb: DynamoDBDocumentClient;
  /** Fetches a document's bytes (throws on a non-2xx answer). */
  readonly fetchBytes: (url: string) => Promise<Uint8Array>;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => Date;
  readonly log: LogSink;
  readonly metrics: MetricSink;
}

export type SyncTrigger = 'notification' | 'schedule' | 'deployment' | 'manual';

export interface SyncRequest {
  readonly trigger: SyncTrigger;
  /** The AmazonIpSpaceChanged notification, when the trigger is one. */
  readonly notification?: IpSpaceChangedNotification;
}

export type SyncStatus = 'APPLIED' | 'NO_CHANGE' | 'SKIPPED_STALE' | 'DRY_RUN' | 'REFUSED';

export interface SyncOutcome {
  readonly status: SyncStatus;
  readonly desired: { ipv4: number; ipv6: number };
  readonly added: string[];
  readonly removed: string[];
  readonly mutatingCalls: number;
  readonly awsSyncToken?: string;
  readonly md5?: string;
  readonly plans: Array<{ target: string; counts: PlanCounts; transientNarrowing?: boolean }>;
  /** Why the sync was refused (status REFUSED): nothing was changed. */
  readonly refusal?: PlanRefusal;
  /**
   * What the plan would have added and removed (status REFUSED and DRY_RUN): nothing of it was
   * applied, so `added` and `removed` are empty for a refusal.
   */
  readonly planned?: { readonly added: number; readonly removed: number };
}

/** What the state table remembers between syncs. */
export interface SyncState {
  readonly awsSyncToken?: string;
  readonly md5?: string;
  readonly fingerprint?: string;
  readonly appliedAt?: string;
}

const THROTTLING = new Set([
  'RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'WAFInternalErrorException',
  'ProvisionedThroughputExceededException',
]);
/** Mutating calls made so far (kept when a sync fails part-way), and the group of the last one. */
interface CallCounter { calls: number; groupId?: string }

/** Audit lists are cut to keep an item far below DynamoDB's 400 KB. */
const MAX_AUDIT_LIST = 2000;

/** Retries throttled calls with exponential backoff and full jitter. */
export async function withRetry<T>(deps: Pick<SyncDeps, 'sleep'>, _operation: string, fn: () => Promise<T>, attempts = 6): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const name = (err as { name?: string }).name ?? '';
      if (!THROTTLING.has(name) || attempt >= attempts) throw err;
      const cap = Math.min(20_000, 200 * 2 ** attempt);
      await deps.sleep(Math.floor(Math.random() * cap));
    }
  }
}

function errorName(err: unknown): string {
  return (err as { name?: string })?.name ?? '';
}

function describeError(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * EC2's quota error names no group and no numbers ("The maximum number of rules per security group
 * has been reached."): when the account's quota is below the configured rulesPerGroup, say which
 * group, how many rules it holds, what was configured and what to do. Other errors pass unchanged.
 */
export async function explainApplyError(err: unknown, config: SyncConfig, groupId: string | undefined, deps: SyncDeps): Promise<unknown> {
  if (errorName(err) !== 'RulesPerSecurityGroupLimitExceeded' || config.target.kind !== 'securityGroups' || !groupId) return err;
  let holds = '';
  try {
    const rules = (await describeRules([groupId], deps)).filter((r) => !r.IsEgress);
    const v4 = rules.filter((r) => r.CidrIpv4 || !r.CidrIpv6).length;
    const v6 = rules.filter((r) => r.CidrIpv6 || !r.CidrIpv4).length;
    holds = ` (it holds ${v4} inbound IPv4 and ${v6} inbound IPv6 rules)`;
  } catch (countError) {
    deps.log.warn('could not count the rules of the full group', { groupId, error: String(countError) });
  }
  const rulesPerGroup = config.target.rulesPerGroup;
  const explained = new Error(
    `security group ${groupId}${holds} reached the account's quota of inbound rules per security group before the configured ` +
    `rulesPerGroup (${rulesPerGroup}); EC2 said "${(err as Error).message}". The quota (Service Quotas L-0EA8095F, counted per address ` +
    'family) is lower than rulesPerGroup: read it with `aws service-quotas get-service-quota --service-code vpc --quota-code L-0EA8095F` ' +
    'and set rulesPerGroup to it (more groups are then used), or raise the quota.',
  );
  explained.name = 'RulesPerSecurityGroupLimitExceeded';
  return explained;
}

// ------------------------------------------------------------------------------------------------
// Documents

interface Fetched {
  readonly cover: CidrsByFamily;
  readonly awsSyncToken?: string;
  readonly md5?: string;
}

async function fetchSources(config: SyncConfig, request: SyncRequest, deps: SyncDeps): Promise<Fetched> {
  const all: string[] = [];
  let awsSyncToken: string | undefined;
  let md5: string | undefined;
  for (const source of config.sources) {
    const bytes = await deps.fetchBytes(source.url);
    const selected = selectFromSource(source, bytes, request, deps);
    all.push(...selected.ipv4, ...selected.ipv6);
    if (selected.syncToken) {
      awsSyncToken = selected.syncToken;
      md5 = selected.md5;
    }
  }
  return { cover: minimalCover(all), awsSyncToken, md5 };
}

function selectFromSource(source: SourceConfig, bytes: Uint8Array, request: SyncRequest, deps: SyncDeps):
{ ipv4: string[]; ipv6: string[]; syncToken?: string; md5?: string } {
  const families = { ipv4: source.ipv4, ipv6: source.ipv6 };
  switch (source.kind) {
    case 'aws': {
      const doc = parseAwsIpRanges(bytes);
      const md5 = md5Hex(bytes);
      const n = request.notification;
      if (n) {
        if (doc.syncToken === n.syncToken) {
          verifyMd5(bytes, n.md5);
        } else if (isNewerSyncToken(n.syncToken, doc.syncToken)) {
          throw new Error(`the document at ${source.url} (synctoken ${doc.syncToken}) is older than the notification (synctoken ${n.syncToken}); a stale mirror or cache`);
        } else {
          deps.log.warn('document is newer than the notification; its md5 cannot be checked against it', { documentSyncToken: doc.syncToken, notificationSyncToken: n.syncToken });
        }
      }
      const selected = selectAwsCidrs(doc, {
        services: source.services ?? [], regions: source.regions, networkBorderGroups: source.networkBorderGroups, ...families,
      });
      return { ...selected, syncToken: doc.syncToken, md5 };
    }
    case 'github':
      return selectGithubCidrs(parseGithubMeta(bytes), { services: source.services ?? [], ...families });
    case 'url':
      return selectListCidrs(parseCidrList(bytes, { jsonKey: source.jsonKey }), families);
  }
}

// ------------------------------------------------------------------------------------------------
// State

async function readState(config: SyncConfig, deps: SyncDeps): Promise<SyncState> {
  const res = await withRetry(deps, 'GetItem', () => deps.ddb.send(new GetCommand({
    TableName: config.stateTable, Key: { pk: config.syncId, sk: 'STATE' }, ConsistentRead: true,
  })));
  return (res.Item as SyncState | undefined) ?? {};
}

async function record(config: SyncConfig, deps: SyncDeps, item: Record<string, unknown>, state?: SyncState): Promise<void> {
  const now = deps.now();
  const cut = (list: unknown) => Array.isArray(list) && list.length > MAX_AUDIT_LIST ? list.slice(0, MAX_AUDIT_LIST) : list;
  await withRetry(deps, 'PutItem', () => deps.ddb.send(new PutCommand({
    TableName: config.stateTable,
    Item: {
      pk: config.syncId,
      sk: `SYNC#${now.toISOString()}#${Math.random().toString(36).slice(2, 8)}`,
      ...item,
      added: cut(item.added),
      removed: cut(item.removed),
      listsTruncated: [item.added, item.removed].some((l) => Array.isArray(l) && l.length > MAX_AUDIT_LIST),
      at: now.toISOString(),
      expiresAt: Math.floor(now.getTime() / 1000) + config.auditTtlDays * 86400,
    },
  })));
  if (state) {
    await withRetry(deps, 'PutItem', () => deps.ddb.send(new PutCommand({
      TableName: config.stateTable,
      Item: { pk: config.syncId, sk: 'STATE', ...state },
    })));
  }
}

// ------------------------------------------------------------------------------------------------
// Security groups

interface SgCurrent {
  owned: OwnedRule[];
  unowned: OwnedRule[];
  reserved: Record<string, FamilyCounts>;
}

async function describeRules(groupIds: string[], deps: SyncDeps): Promise<SecurityGroupRule[]> {
  const rules: SecurityGroupRule[] = [];
  let NextToken: string | undefined;
  do {
    const res = await withRetry(deps, 'DescribeSecurityGroupRules', () => deps.ec2.send(new DescribeSecurityGroupRulesCommand({
      Filters: [{ Name: 'group-id', Values: groupIds }], MaxResults: 1000, NextToken,
    })));
    rules.push(...(res.SecurityGroupRules ?? []));
    NextToken = res.NextToken;
  } while (NextToken);
  return rules;
}

/** Splits a group's ingress rules into owned CIDR rules, unowned CIDR rules and other quota users. */
export function classifyRules(rules: SecurityGroupRule[], syncId: string): SgCurrent {
  const current: SgCurrent = { owned: [], unowned: [], reserved: {} };
  for (const r of rules) {
    if (r.IsEgress || !r.GroupId) continue;
    const cidr = r.CidrIpv4 ?? r.CidrIpv6;
    if (cidr) {
      const rule: OwnedRule = {
        groupId: r.GroupId,
        cidr,
        protocol: r.IpProtocol ?? '-1',
        fromPort: r.FromPort ?? -1,
        toPort: r.ToPort ?? -1,
        ruleId: r.SecurityGroupRuleId,
        description: r.Description,
      };
      (isOwnedRule(r.Description, syncId) ? current.owned : current.unowned).push(rule);
    } else {
      // A reference to a group or prefix list: at least one rule of each family's quota.
      const prev = current.reserved[r.GroupId] ?? { ipv4: 0, ipv6: 0 };
      current.reserved[r.GroupId] = { ipv4: prev.ipv4 + 1, ipv6: prev.ipv6 + 1 };
    }
  }
  return current;
}

async function planSg(config: SyncConfig, target: SecurityGroupTargetConfig, cover: CidrsByFamily, deps: SyncDeps): Promise<SecurityGroupPlan> {
  const current = classifyRules(await describeRules(target.groupIds, deps), config.syncId);
  return planSecurityGroups({
    desired: cover,
    groupIds: target.groupIds,
    ports: target.ports,
    rulesPerGroup: target.rulesPerGroup,
    current: current.owned,
    unownedRules: current.unowned,
    reservedRules: current.reserved,
    maxRemovePercent: config.maxRemovePercent,
  });
}

async function applySg(config: SyncConfig, plan: SecurityGroupPlan, deps: SyncDeps, counter: CallCounter): Promise<void> {
  const description = ruleDescription(config.syncId, 'ip-range-sync');
  for (const call of plan.calls) {
    counter.groupId = call.groupId;
    if (call.action === 'authorize') {
      try {
        counter.calls++;
        await withRetry(deps, 'AuthorizeSecurityGroupIngress', () => deps.ec2.send(new AuthorizeSecurityGroupIngressCommand({
          GroupId: call.groupId, IpPermissions: toIpPermissions(call.rules, description),
        })));
      } catch (err) {
        if (errorName(err) !== 'InvalidPermission.Duplicate') throw err;
        // The batch is all-or-nothing: add rule by rule, counting a duplicate as already there.
        deps.log.warn('duplicate rule in batch; reconciling rule by rule', { groupId: call.groupId, rules: call.rules.length });
        for (const rule of call.rules) {
          try {
            counter.calls++;
            await withRetry(deps, 'AuthorizeSecurityGroupIngress', () => deps.ec2.send(new AuthorizeSecurityGroupIngressCommand({
              GroupId: call.groupId, IpPermissions: toIpPermissions([rule], description),
            })));
          } catch (e) {
            if (errorName(e) !== 'InvalidPermission.Duplicate') throw e;
          }
        }
      }
    } else {
      const ids = call.rules.map((r) => r.ruleId).filter((id): id is string => !!id);
      const send = (rules: OwnedRule[]) => {
        const byId = rules.every((r) => r.ruleId);
        return withRetry(deps, 'RevokeSecurityGroupIngress', () => deps.ec2.send(new RevokeSecurityGroupIngressCommand(byId
          ? { GroupId: call.groupId, SecurityGroupRuleIds: rules.map((r) => r.ruleId!) }
          : { GroupId: call.groupId, IpPermissions: toIpPermissions(rules) })));
      };
      try {
        counter.calls++;
        await send(call.rules);
      } catch (err) {
        if (errorName(err) !== 'InvalidPermission.NotFound' && errorName(err) !== 'InvalidSecurityGroupRuleId.NotFound') throw err;
        deps.log.warn('rule already gone; reconciling rule by rule', { groupId: call.groupId, rules: ids.length });
        for (const rule of call.rules) {
          try {
            counter.calls++;
            await send([rule]);
          } catch (e) {
            if (errorName(e) !== 'InvalidPermission.NotFound' && errorName(e) !== 'InvalidSecurityGroupRuleId.NotFound') throw e;
          }
        }
      }
    }
  }
}

/** Revokes every rule this sync owns in the given groups (stack deletion). */
export async function revokeOwnedRules(config: SyncConfig, deps: SyncDeps): Promise<number> {
  if (config.target.kind !== 'securityGroups') return 0;
  const current = classifyRules(await describeRules(config.target.groupIds, deps), config.syncId);
  const byGroup = new Map<string, OwnedRule[]>();
  for (const r of current.owned) byGroup.set(r.groupId, [...(byGroup.get(r.groupId) ?? []), r]);
  let calls = 0;
  for (const [groupId, rules] of byGroup) {
    for (let i = 0; i < rules.length; i += 100) {
      calls++;
      const ids = rules.slice(i, i + 100).map((r) => r.ruleId!);
      await withRetry(deps, 'RevokeSecurityGroupIngress', () => deps.ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, SecurityGroupRuleIds: ids })));
    }
  }
  return calls;
}

// ------------------------------------------------------------------------------------------------
// Prefix lists

const READY_STATES = new Set(['create-complete', 'modify-complete', 'restore-complete', 'modify-failed', 'restore-failed']);

async function readyPrefixList(id: string, deps: SyncDeps): Promise<number> {
  for (let i = 0; i < 30; i++) {
    const res = await withRetry(deps, 'DescribeManagedPrefixLists', () => deps.ec2.send(new DescribeManagedPrefixListsCommand({ PrefixListIds: [id] })));
    const pl = res.PrefixLists?.[0];
    if (!pl) throw new Error(`prefix list ${id} not found`);
    if (READY_STATES.has(pl.State ?? '')) return pl.Version ?? 0;
    await deps.sleep(2000);
  }
  throw new Error(`prefix list ${id} is still being modified after 30 checks`);
}

async function prefixListEntries(id: string, version: number, deps: SyncDeps): Promise<string[]> {
  const entries: string[] = [];
  let NextToken: string | undefined;
  do {
    const res = await withRetry(deps, 'GetManagedPrefixListEntries', () => deps.ec2.send(new GetManagedPrefixListEntriesCommand({
      PrefixListId: id, TargetVersion: version, MaxResults: 100, NextToken,
    })));
    entries.push(...(res.Entries ?? []).map((e) => e.Cidr!).filter(Boolean));
    NextToken = res.NextToken;
  } while (NextToken);
  return entries;
}

async function planPl(
  config: SyncConfig, target: PrefixListTargetConfig, cover: CidrsByFamily, deps: SyncDeps,
): Promise<Array<{ id: string; version: number; plan: PrefixListPlan }>> {
  const plans = [];
  for (const list of target.lists) {
    const version = await readyPrefixList(list.id, deps);
    const current = await prefixListEntries(list.id, version, deps);
    plans.push({
      id: list.id,
      version,
      plan: planPrefixList({
        family: list.family, desired: cover[list.family], current, maxEntries: list.maxEntries, maxRemovePercent: config.maxRemovePercent,
      }),
    });
  }
  return plans;
}

async function applyPl(
  config: SyncConfig, id: string, plannedVersion: number, plan: PrefixListPlan, deps: SyncDeps, counter: CallCounter,
): Promise<void> {
  const description = ruleDescription(config.syncId, 'ip-range-sync');
  // CurrentVersion is the version the plan was made against, then one more per call: if anyone else
  // changes the list in between, EC2 rejects the call and the sync fails (to be re-planned on retry)
  // instead of applying a plan made for entries that are no longer there.
  let expected = plannedVersion;
  for (const call of plan.calls) {
    const version = await readyPrefixList(id, deps);
    if (version !== expected) {
      throw new Error(`prefix list ${id} changed while syncing (version ${version}, expected ${expected}); the next attempt re-plans`);
    }
    counter.calls++;
    await withRetry(deps, 'ModifyManagedPrefixList', () => deps.ec2.send(new ModifyManagedPrefixListCommand({
      PrefixListId: id,
      CurrentVersion: version,
      AddEntries: call.add.length ? call.add.map((Cidr) => ({ Cidr, Description: description })) : undefined,
      RemoveEntries: call.remove.length ? call.remove.map((Cidr) => ({ Cidr })) : undefined,
    })));
    expected = version + 1;
  }
}

// ------------------------------------------------------------------------------------------------
// WAF IP sets

async function planWaf(config: SyncConfig, target: WafIpSetTargetConfig, cover: CidrsByFamily, deps: SyncDeps):
Promise<Array<{ set: WafIpSetTargetConfig['sets'][number]; plan: WafIpSetPlan; lockToken?: string; description?: string }>> {
  const plans = [];
  for (const set of target.sets) {
    const res = await withRetry(deps, 'GetIPSet', () => deps.waf.send(new GetIPSetCommand({ Id: set.id, Name: set.name, Scope: target.scope })));
    const current = res.IPSet?.Addresses ?? [];
    plans.push({
      set,
      lockToken: res.LockToken,
      description: res.IPSet?.Description,
      plan: planWafIpSet({
        family: set.family, desired: cover[set.family], current, maxAddresses: set.maxAddresses, maxRemovePercent: config.maxRemovePercent,
      }),
    });
  }
  return plans;
}

async function applyWaf(
  target: WafIpSetTargetConfig, set: WafIpSetTargetConfig['sets'][number], plan: WafIpSetPlan,
  lockToken: string | undefined, description: string | undefined, deps: SyncDeps, counter: CallCounter,
): Promise<void> {
  if (!plan.update) return;
  let token = lockToken;
  for (let attempt = 1; ; attempt++) {
    try {
      counter.calls++;
      await withRetry(deps, 'UpdateIPSet', () => deps.waf.send(new UpdateIPSetCommand({
        // UpdateIPSet replaces every mutable field: keep the description CloudFormation set.
        Id: set.id, Name: set.name, Scope: target.scope, Addresses: plan.addresses, LockToken: token, Description: description,
      })));
      return;
    } catch (err) {
      if (errorName(err) !== 'WAFOptimisticLockException' || attempt >= 3) throw err;
      const res = await withRetry(deps, 'GetIPSet', () => deps.waf.send(new GetIPSetCommand({ Id: set.id, Name: set.name, Scope: target.scope })));
      token = res.LockToken;
    }
  }
}

// ------------------------------------------------------------------------------------------------
// The sync

/**
 * Runs one sync. Throws (after recording the refusal) when a plan is refused or a document is bad:
 * nothing is changed then. Returns what was done otherwise.
 */
export async function runSync(config: SyncConfig, request: SyncRequest, deps: SyncDeps): Promise<SyncOutcome> {
  const started = deps.now().getTime();
  const state = await readState(config, deps);

  // A notification not newer than the last applied one changes nothing (replays, out-of-order delivery).
  if (request.trigger === 'notification' && request.notification && state.awsSyncToken
    && !isNewerSyncToken(request.notification.syncToken, state.awsSyncToken)) {
    deps.log.info('notification is not newer than the last applied document; skipped', {
      notificationSyncToken: request.notification.syncToken, lastApplied: state.awsSyncToken,
    });
    deps.metrics.count('SkippedStale', 1);
    deps.metrics.count('SuccessfulSync', 1);
    return { status: 'SKIPPED_STALE', desired: { ipv4: 0, ipv6: 0 }, added: [], removed: [], mutatingCalls: 0, plans: [] };
  }

  const fetched = await fetchSources(config, request, deps);
  // Never go back: a document older than the last applied one (a stale mirror or cache) changes nothing.
  if (fetched.awsSyncToken && state.awsSyncToken && isNewerSyncToken(state.awsSyncToken, fetched.awsSyncToken)) {
    deps.log.warn('the fetched document is older than the last applied one; skipped', {
      documentSyncToken: fetched.awsSyncToken, lastApplied: state.awsSyncToken,
    });
    deps.metrics.count('SkippedStale', 1);
    deps.metrics.count('SuccessfulSync', 1);
    return { status: 'SKIPPED_STALE', desired: { ipv4: 0, ipv6: 0 }, added: [], removed: [], mutatingCalls: 0, plans: [] };
  }
  const { cover } = fetched;
  const fingerprint = coverFingerprint(cover);
  deps.metrics.count('DesiredCidrs', cover.ipv4.length + cover.ipv6.length);

  // Plan every part of the target before touching anything.
  const target = config.target;
  let sgPlan: SecurityGroupPlan | undefined;
  let plPlans: Array<{ id: string; version: number; plan: PrefixListPlan }> = [];
  let wafPlans: Array<{ set: WafIpSetTargetConfig['sets'][number]; plan: WafIpSetPlan; lockToken?: string; description?: string }> = [];
  if (target.kind === 'securityGroups') sgPlan = await planSg(config, target, cover, deps);
  if (target.kind === 'prefixList') plPlans = await planPl(config, target, cover, deps);
  if (target.kind === 'wafIpSet') wafPlans = await planWaf(config, target, cover, deps);

  const plans = [
    ...(sgPlan ? [{ target: 'securityGroups', counts: sgPlan.counts, refusal: sgPlan.refusal, transientNarrowing: sgPlan.transientNarrowing }] : []),
    ...plPlans.map((p) => ({ target: `prefixList:${p.id}`, counts: p.plan.counts, refusal: p.plan.refusal, transientNarrowing: p.plan.transientNarrowing })),
    ...wafPlans.map((p) => ({ target: `wafIpSet:${p.set.name}`, counts: p.plan.counts, refusal: p.plan.refusal })),
  ];
  const added = [
    ...(sgPlan?.groups.flatMap((g) => g.add.map((r) => `${g.groupId} ${r.cidr} ${r.protocol}/${r.fromPort}-${r.toPort}`)) ?? []),
    ...plPlans.flatMap((p) => p.plan.add.map((c) => `${p.id} ${c}`)),
    ...wafPlans.flatMap((p) => p.plan.add.map((c) => `${p.set.name} ${c}`)),
  ];
  const removed = [
    ...(sgPlan?.groups.flatMap((g) => g.remove.map((r) => `${g.groupId} ${r.cidr} ${r.protocol}/${r.fromPort}-${r.toPort}`)) ?? []),
    ...plPlans.flatMap((p) => p.plan.remove.map((c) => `${p.id} ${c}`)),
    ...wafPlans.flatMap((p) => p.plan.remove.map((c) => `${p.set.name} ${c}`)),
  ];
  const base = {
    trigger: request.trigger,
    awsSyncToken: fetched.awsSyncToken,
    md5: fetched.md5,
    fingerprint,
    desiredIpv4: cover.ipv4.length,
    desiredIpv6: cover.ipv6.length,
    plans: plans.map((p) => ({ target: p.target, ...p.counts, refusal: p.refusal?.code })),
  };

  const refusals = plans.filter((p) => p.refusal).map((p) => p.refusal!);
  // Every part that does not fit is named (an IPv4 and an IPv6 list can both be too small).
  const refusal: PlanRefusal | undefined = refusals.length === 0 ? undefined : {
    code: refusals[0].code,
    message: [...new Set(refusals.map((r) => r.message))].join('; and '),
  };
  if (refusal) {
    // A refused plan places no rule: what it would have done is in its counts.
    const planned = { added: plans.reduce((n, p) => n + p.counts.add, 0), removed: plans.reduce((n, p) => n + p.counts.remove, 0) };
    deps.log.error('sync refused; nothing changed', { refusal, applied: { added: 0, removed: 0 }, planned, plans: base.plans });
    deps.metrics.count(refusal.code === 'CAPACITY' ? 'CapacityExceeded' : refusal.code === 'TOO_MANY_REMOVALS' ? 'GuardRefusal' : 'EmptyDesiredRefusal', 1);
    await record(config, deps, {
      ...base, status: 'REFUSED', reason: refusal.message, added: [], removed: [], plannedAdded: planned.added, plannedRemoved: planned.removed,
    });
    // A refusal is deterministic: retrying the same document would refuse again, so it is not thrown.
    // Its own metric and alarm report it. Nothing was applied: the planned counts are kept apart.
    return {
      status: 'REFUSED',
      refusal,
      desired: { ipv4: cover.ipv4.length, ipv6: cover.ipv6.length },
      added: [],
      removed: [],
      planned,
      mutatingCalls: 0,
      awsSyncToken: fetched.awsSyncToken,
      md5: fetched.md5,
      plans,
    };
  }

  const expectedCalls = plans.reduce((n, p) => n + p.counts.mutatingCalls, 0);
  if (config.dryRun) {
    deps.log.info('dry run: the plan is logged, nothing is changed', { plans: base.plans, added, removed });
    await record(config, deps, { ...base, status: 'DRY_RUN', added, removed, mutatingCalls: 0 });
    deps.metrics.count('SuccessfulSync', 1);
    return {
      status: 'DRY_RUN',
      desired: { ipv4: cover.ipv4.length, ipv6: cover.ipv6.length },
      added,
      removed,
      planned: { added: added.length, removed: removed.length },
      mutatingCalls: 0,
      awsSyncToken: fetched.awsSyncToken,
      md5: fetched.md5,
      plans,
    };
  }

  const counter: CallCounter = { calls: 0 };
  try {
    if (sgPlan) await applySg(config, sgPlan, deps, counter);
    for (const p of plPlans) await applyPl(config, p.id, p.version, p.plan, deps, counter);
    for (const p of wafPlans) await applyWaf(target as WafIpSetTargetConfig, p.set, p.plan, p.lockToken, p.description, deps, counter);
  } catch (caught) {
    const err = await explainApplyError(caught, config, counter.groupId, deps);
    // Adds run before removes, so a sync cut short leaves ingress at least as wide as either version.
    // The audit write must never replace the cause: when it fails too, both are logged and the
    // cause is what the caller sees.
    try {
      await record(config, deps, {
        ...base, status: 'FAILED', error: err instanceof Error ? `${err.name}: ${err.message}` : String(err), added, removed, mutatingCallsBeforeFailure: counter.calls,
      });
    } catch (recordError) {
      deps.log.error('sync failed and its audit record could not be written', {
        error: describeError(err), recordError: describeError(recordError), mutatingCallsBeforeFailure: counter.calls,
      });
    }
    throw err;
  }
  const calls = counter.calls;

  const status: SyncStatus = expectedCalls === 0 ? 'NO_CHANGE' : 'APPLIED';
  const newState: SyncState = {
    awsSyncToken: [fetched.awsSyncToken, state.awsSyncToken].filter((t): t is string => !!t)
      .reduce<string | undefined>((max, t) => (max === undefined || isNewerSyncToken(t, max) ? t : max), undefined),
    md5: fetched.md5 ?? state.md5,
    fingerprint,
    appliedAt: deps.now().toISOString(),
  };
  await record(config, deps, { ...base, status, added, removed, mutatingCalls: calls }, newState);
  deps.metrics.count('Added', added.length);
  deps.metrics.count('Removed', removed.length);
  deps.metrics.count('MutatingCalls', calls);
  deps.metrics.count('SuccessfulSync', 1);
  deps.metrics.milliseconds('SyncDuration', deps.now().getTime() - started);
  deps.log.info(status === 'APPLIED' ? 'sync applied' : 'already in sync; no change', {
    desiredIpv4: cover.ipv4.length,
    desiredIpv6: cover.ipv6.length,
    added: added.length,
    removed: removed.length,
    mutatingCalls: calls,
    plans: base.plans,
  });
  return {
    status,
    desired: { ipv4: cover.ipv4.length, ipv6: cover.ipv6.length },
    added,
    removed,
    mutatingCalls: calls,
    awsSyncToken: fetched.awsSyncToken,
    md5: fetched.md5,
    plans,
  };
}
