/**
 * Plans one customer-managed prefix list: entries to add and remove, in `ModifyManagedPrefixList`
 * calls of at most 100 adds and 100 removes, adds first. Pure logic, no AWS client.
 */
import { CapacityCheck, checkPrefixListCapacity } from '../capacity';
import { AddressFamily, InvalidCidrError, cidrFamily, compareCidrs, indexCidrs, normalizeCidr, sortCidrs } from '../cidr';
import {
  DEFAULT_MAX_REMOVE_PERCENT, PREFIX_LIST_MAX_CHANGES_PER_CALL, PlanCounts, PlanRefusal, checkPercent, checkPositiveInteger,
  checkRemovalGuard, chunk, desiredList,
} from './common';

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
