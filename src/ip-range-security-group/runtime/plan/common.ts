/**
 * What every target's planner shares: refusals, counts, the change-size guard, and the checks of
 * the desired CIDRs. Pure logic, no AWS client.
 */
import { ADDRESS_FAMILIES, AddressFamily, CidrsByFamily, InvalidCidrError, cidrFamily, normalizeCidr, sortCidrs } from '../cidr';

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

export function checkPercent(maxRemovePercent: number): void {
  if (typeof maxRemovePercent !== 'number' || Number.isNaN(maxRemovePercent) || maxRemovePercent < 0 || maxRemovePercent > 100) {
    throw new RangeError(`maxRemovePercent must be in 0..100, got ${maxRemovePercent}`);
  }
}

export function checkPositiveInteger(name: string, value: number, max: number): void {
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

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function desiredByFamily(desired: CidrsByFamily): Record<AddressFamily, string[]> {
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

export function desiredList(family: AddressFamily, desired: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const cidr of desired) {
    if (cidrFamily(cidr) !== family) throw new InvalidCidrError(cidr, `expected ${family}`);
    seen.add(normalizeCidr(cidr));
  }
  return sortCidrs([...seen]);
}
