/**
 * Plans one WAFv2 IP set: `UpdateIPSet` replaces the whole address list, so one call or none.
 * Pure logic, no AWS client.
 */
import { CapacityCheck, checkWafIpSetCapacity } from '../capacity';
import { AddressFamily } from '../cidr';
import { DEFAULT_MAX_REMOVE_PERCENT, PlanCounts, PlanRefusal, checkPercent, checkRemovalGuard, desiredList } from './common';

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
