/** Test-only helpers around the planners (the handler never throws on a refusal: it records it). */
import { PlanRefusal } from '../../src/ip-range-security-group/runtime/plan';

/** A plan was refused; thrown by {@link assertPlanAllowed}. */
export class PlanRefusedError extends Error {
  public readonly refusal: PlanRefusal;

  constructor(refusal: PlanRefusal) {
    super(`Sync refused (${refusal.code}): ${refusal.message}`);
    this.name = 'PlanRefusedError';
    this.refusal = refusal;
  }
}

/**
 * Throws when the plan was refused.
 * @throws PlanRefusedError carrying the refusal
 */
export function assertPlanAllowed(plan: { readonly refusal?: PlanRefusal }): void {
  if (plan.refusal) throw new PlanRefusedError(plan.refusal);
}
