/**
 * The WAF IP-set target: read each set (addresses, lock token, description), plan
 * (plan/waf-ip-set.ts), replace its addresses with one `UpdateIPSet`, re-reading the lock token
 * when another writer got there first.
 */
import { GetIPSetCommand, UpdateIPSetCommand } from '@aws-sdk/client-wafv2';
import { TargetAdapter, TargetPlan } from './adapter';
import { errorName, withRetry } from '../../../core/runtime/retry';
import { CidrsByFamily } from '../cidr';
import { SyncConfig, WafIpSetConfig, WafIpSetTargetConfig } from '../contracts';
import { CallCounter, SyncDeps } from '../deps';
import { planWafIpSet, WafIpSetPlan } from '../plan';

/** The plan of one IP set, with what `UpdateIPSet` must send back (lock token, description). */
export interface PlannedIpSet {
  readonly set: WafIpSetConfig;
  readonly plan: WafIpSetPlan;
  readonly lockToken?: string;
  readonly description?: string;
}

/** Reads each set and plans its change to the cover's family. */
export async function planSets(config: SyncConfig, target: WafIpSetTargetConfig, cover: CidrsByFamily, deps: SyncDeps): Promise<PlannedIpSet[]> {
  const plans: PlannedIpSet[] = [];
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

/** Replaces one set's addresses (no call when unchanged). */
export async function applySet(target: WafIpSetTargetConfig, planned: PlannedIpSet, deps: SyncDeps, counter: CallCounter): Promise<void> {
  const { set, plan, description } = planned;
  if (!plan.update) return;
  let token = planned.lockToken;
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

/** The WAF IP-set target's adapter. */
export function wafIpSetAdapter(config: SyncConfig, target: WafIpSetTargetConfig, deps: SyncDeps): TargetAdapter {
  return {
    async plan(cover): Promise<TargetPlan> {
      const plans = await planSets(config, target, cover, deps);
      return {
        parts: plans.map((p) => ({ target: `wafIpSet:${p.set.name}`, counts: p.plan.counts, refusal: p.plan.refusal })),
        added: plans.flatMap((p) => p.plan.add.map((c) => `${p.set.name} ${c}`)),
        removed: plans.flatMap((p) => p.plan.remove.map((c) => `${p.set.name} ${c}`)),
        apply: async (counter) => {
          for (const p of plans) await applySet(target, p, deps, counter);
        },
      };
    },
    explainApplyError: async (err) => err,
    revokeOwned: async () => 0,
  };
}
