/**
 * The security-group target: describe the groups' ingress rules, plan (plan/security-groups.ts),
 * authorize and revoke in batches, explain EC2's quota error, revoke the owned rules on deletion.
 */
import {
  AuthorizeSecurityGroupIngressCommand, DescribeSecurityGroupRulesCommand, RevokeSecurityGroupIngressCommand, SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import { TargetAdapter, TargetPlan } from './adapter';
import { errorName, withRetry } from '../../../core/runtime/retry';
import { FamilyCounts } from '../capacity';
import { CidrsByFamily } from '../cidr';
import { SecurityGroupTargetConfig, SyncConfig } from '../contracts';
import { CallCounter, SyncDeps } from '../deps';
import { isOwnedRule, ruleDescription } from '../ownership';
import { OwnedRule, planSecurityGroups, SecurityGroupPlan, toIpPermissions } from '../plan';

/** The ingress rules of the target groups, split by owner. */
export interface SecurityGroupsCurrent {
  /** CIDR rules this sync owns. */
  readonly owned: OwnedRule[];
  /** CIDR rules it does not own (people, other syncs). */
  readonly unowned: OwnedRule[];
  /** Per group, quota used by references to groups and prefix lists. */
  readonly reserved: Record<string, FamilyCounts>;
}

/** Every rule of the groups (`DescribeSecurityGroupRules`, all pages). */
export async function describeRules(groupIds: string[], deps: SyncDeps): Promise<SecurityGroupRule[]> {
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
export function classifyRules(rules: SecurityGroupRule[], syncId: string): SecurityGroupsCurrent {
  const current: { owned: OwnedRule[]; unowned: OwnedRule[]; reserved: Record<string, FamilyCounts> } = { owned: [], unowned: [], reserved: {} };
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

/** Describes the groups and plans the change to `cover`. */
export async function planGroups(
  config: SyncConfig, target: SecurityGroupTargetConfig, cover: CidrsByFamily, deps: SyncDeps,
): Promise<SecurityGroupPlan> {
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

/** Performs the plan's calls in order; duplicates and rules already gone are reconciled rule by rule. */
export async function applyGroups(config: SyncConfig, plan: SecurityGroupPlan, deps: SyncDeps, counter: CallCounter): Promise<void> {
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

/**
 * EC2's quota error names no group and no numbers ("The maximum number of rules per security group
 * has been reached."): when the account's quota is below the configured rulesPerGroup, say which
 * group, how many rules it holds, what was configured and what to do. Other errors pass unchanged.
 */
export async function explainApplyError(
  err: unknown, target: SecurityGroupTargetConfig, groupId: string | undefined, deps: SyncDeps,
): Promise<unknown> {
  if (errorName(err) !== 'RulesPerSecurityGroupLimitExceeded' || !groupId) return err;
  let holds = '';
  try {
    const rules = (await describeRules([groupId], deps)).filter((r) => !r.IsEgress);
    const v4 = rules.filter((r) => r.CidrIpv4 || !r.CidrIpv6).length;
    const v6 = rules.filter((r) => r.CidrIpv6 || !r.CidrIpv4).length;
    holds = ` (it holds ${v4} inbound IPv4 and ${v6} inbound IPv6 rules)`;
  } catch (countError) {
    deps.log.warn('could not count the rules of the full group', { groupId, error: String(countError) });
  }
  const explained = new Error(
    `security group ${groupId}${holds} reached the account's quota of inbound rules per security group before the configured ` +
    `rulesPerGroup (${target.rulesPerGroup}); EC2 said "${(err as Error).message}". The quota (Service Quotas L-0EA8095F, counted per address ` +
    'family) is lower than rulesPerGroup: read it with `aws service-quotas get-service-quota --service-code vpc --quota-code L-0EA8095F` ' +
    'and set rulesPerGroup to it (more groups are then used), or raise the quota.',
  );
  explained.name = 'RulesPerSecurityGroupLimitExceeded';
  return explained;
}

/** Revokes every rule this sync owns in the target groups (stack deletion). */
export async function revokeOwnedRules(config: SyncConfig, target: SecurityGroupTargetConfig, deps: SyncDeps): Promise<number> {
  const current = classifyRules(await describeRules(target.groupIds, deps), config.syncId);
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

const ruleLine = (groupId: string, r: { cidr: string; protocol: string; fromPort: number; toPort: number }) =>
  `${groupId} ${r.cidr} ${r.protocol}/${r.fromPort}-${r.toPort}`;

/** The security-group target's adapter. */
export function securityGroupsAdapter(config: SyncConfig, target: SecurityGroupTargetConfig, deps: SyncDeps): TargetAdapter {
  return {
    async plan(cover): Promise<TargetPlan> {
      const plan = await planGroups(config, target, cover, deps);
      return {
        parts: [{ target: 'securityGroups', counts: plan.counts, refusal: plan.refusal, transientNarrowing: plan.transientNarrowing }],
        added: plan.groups.flatMap((g) => g.add.map((r) => ruleLine(g.groupId, r))),
        removed: plan.groups.flatMap((g) => g.remove.map((r) => ruleLine(g.groupId, r))),
        apply: (counter) => applyGroups(config, plan, deps, counter),
      };
    },
    explainApplyError: (err, counter) => explainApplyError(err, target, counter.groupId, deps),
    revokeOwned: () => revokeOwnedRules(config, target, deps),
  };
}
