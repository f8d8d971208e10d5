/** One adapter per target kind (describe, plan, apply); the engine never switches on the kind. */
import { TargetAdapter } from './adapter';
import { prefixListAdapter } from './prefix-list';
import { securityGroupsAdapter } from './security-groups';
import { wafIpSetAdapter } from './waf-ip-set';
import { SyncConfig } from '../contracts';
import { SyncDeps } from '../deps';

export type { TargetAdapter, TargetPlan } from './adapter';

/** The adapter of the configured target. */
export function targetAdapter(config: SyncConfig, deps: SyncDeps): TargetAdapter {
  const target = config.target;
  switch (target.kind) {
    case 'securityGroups': return securityGroupsAdapter(config, target, deps);
    case 'prefixList': return prefixListAdapter(config, target, deps);
    case 'wafIpSet': return wafIpSetAdapter(config, target, deps);
  }
}

/** Revokes what the sync owns in its target (stack deletion; only security-group rules are revoked). */
export function revokeOwnedRules(config: SyncConfig, deps: SyncDeps): Promise<number> {
  return targetAdapter(config, deps).revokeOwned();
}
