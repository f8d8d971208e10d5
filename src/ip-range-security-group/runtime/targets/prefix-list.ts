/**
 * The prefix-list target: wait until each list is ready and read its entries at that version, plan
 * (plan/prefix-list.ts), modify it version by version (a concurrent change fails the sync instead
 * of applying a stale plan).
 */
import { DescribeManagedPrefixListsCommand, GetManagedPrefixListEntriesCommand, ModifyManagedPrefixListCommand } from '@aws-sdk/client-ec2';
import { TargetAdapter, TargetPlan } from './adapter';
import { withRetry } from '../../../core/runtime/retry';
import { CidrsByFamily } from '../cidr';
import { PrefixListTargetConfig, SyncConfig } from '../contracts';
import { CallCounter, SyncDeps } from '../deps';
import { ruleDescription } from '../ownership';
import { planPrefixList, PrefixListPlan } from '../plan';

const READY_STATES = new Set(['create-complete', 'modify-complete', 'restore-complete', 'modify-failed', 'restore-failed']);

/** Waits until the list is not being modified; returns its version. */
export async function readyPrefixList(id: string, deps: SyncDeps): Promise<number> {
  for (let i = 0; i < 30; i++) {
    const res = await withRetry(deps, 'DescribeManagedPrefixLists', () => deps.ec2.send(new DescribeManagedPrefixListsCommand({ PrefixListIds: [id] })));
    const pl = res.PrefixLists?.[0];
    if (!pl) throw new Error(`prefix list ${id} not found`);
    if (READY_STATES.has(pl.State ?? '')) return pl.Version ?? 0;
    await deps.sleep(2000);
  }
  throw new Error(`prefix list ${id} is still being modified after 30 checks`);
}

/** The entries of a list at a version (all pages). */
export async function prefixListEntries(id: string, version: number, deps: SyncDeps): Promise<string[]> {
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

/** The plan of one list, with the version it was made against. */
export interface PlannedPrefixList {
  readonly id: string;
  readonly version: number;
  readonly plan: PrefixListPlan;
}

/** Describes each list and plans its change to the cover's family. */
export async function planLists(
  config: SyncConfig, target: PrefixListTargetConfig, cover: CidrsByFamily, deps: SyncDeps,
): Promise<PlannedPrefixList[]> {
  const plans: PlannedPrefixList[] = [];
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

/** Performs one list's calls, each against the version the previous one left. */
export async function applyList(config: SyncConfig, planned: PlannedPrefixList, deps: SyncDeps, counter: CallCounter): Promise<void> {
  const { id, plan } = planned;
  const description = ruleDescription(config.syncId, 'ip-range-sync');
  // CurrentVersion is the version the plan was made against, then one more per call: if anyone else
  // changes the list in between, EC2 rejects the call and the sync fails (to be re-planned on retry)
  // instead of applying a plan made for entries that are no longer there.
  let expected = planned.version;
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

/** The prefix-list target's adapter. */
export function prefixListAdapter(config: SyncConfig, target: PrefixListTargetConfig, deps: SyncDeps): TargetAdapter {
  return {
    async plan(cover): Promise<TargetPlan> {
      const plans = await planLists(config, target, cover, deps);
      return {
        parts: plans.map((p) => ({ target: `prefixList:${p.id}`, counts: p.plan.counts, refusal: p.plan.refusal, transientNarrowing: p.plan.transientNarrowing })),
        added: plans.flatMap((p) => p.plan.add.map((c) => `${p.id} ${c}`)),
        removed: plans.flatMap((p) => p.plan.remove.map((c) => `${p.id} ${c}`)),
        apply: async (counter) => {
          for (const p of plans) await applyList(config, p, deps, counter);
        },
      };
    },
    explainApplyError: async (err) => err,
    revokeOwned: async () => 0,
  };
}
