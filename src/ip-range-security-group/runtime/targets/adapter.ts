/** What a target adapter offers the engine: plan (after describing the target), apply, explain, revoke. */
import type { CidrsByFamily } from '../cidr';
import type { CallCounter, PlannedPart } from '../deps';

/** The plan of the whole target, ready to apply. */
export interface TargetPlan {
  /** One entry per part (the security groups together, each prefix list, each IP set). */
  readonly parts: PlannedPart[];
  /** Audit lines of what the plan adds and removes (`<group|list|set> <cidr>[ <port>]`). */
  readonly added: string[];
  readonly removed: string[];
  /** Performs the calls in order, counting them in `counter` (kept when a call fails). */
  apply(counter: CallCounter): Promise<void>;
}

/** One target kind: reads what it holds now, plans the change to a cover, applies it. */
export interface TargetAdapter {
  /** Describes the target (what the sync owns now) and plans the change to `cover`; changes nothing. */
  plan(cover: CidrsByFamily): Promise<TargetPlan>;
  /** An apply error, explained where the AWS error does not say what to do; otherwise unchanged. */
  explainApplyError(err: unknown, counter: CallCounter): Promise<unknown>;
  /** Revokes what the sync owns (stack deletion); returns the mutating calls made. */
  revokeOwned(): Promise<number>;
}
