/**
 * Diff and apply plans for the three sync targets (one module each: security groups,
 * customer-managed prefix lists, WAFv2 IP sets), with the change-size guard and the empty-set
 * refusal (common.ts).
 *
 * Pure logic, no AWS client: a target adapter (../targets) lists the current state, calls a
 * planner, and performs `plan.calls` in order. A refused plan has no calls.
 */
export * from './common';
export * from './security-groups';
export * from './prefix-list';
export * from './waf-ip-set';
