/**
 * The ids of the warnings IpRangeSyncedSecurityGroup adds at synth time, for legal but risky choices.
 *
 * Every id of this library has the form `cdk-production-patterns:<camelCaseName>`. Acknowledge a
 * warning you have weighed with `Annotations.of(construct).acknowledgeWarning(id, reason)`.
 */
import { IMPORTED_KEY_LOGS_WARNING } from '../core/functions';

export class IpRangeSyncWarnings {
  /** An AWS source asks for a service AWS already publishes a managed prefix list for (use that list instead). */
  public static readonly MANAGED_PREFIX_LIST_AVAILABLE = 'cdk-production-patterns:ipRangeSyncManagedPrefixListAvailable';
  /** GitHub `actions` ranges (thousands of CIDRs) synced into security groups, which cannot hold them (use a WAF IP set). */
  public static readonly GITHUB_ACTIONS_IN_SECURITY_GROUPS = 'cdk-production-patterns:ipRangeSyncGithubActionsInSecurityGroups';
  /**
   * `encryptionKey` is imported: its key policy must allow CloudWatch Logs to use it for the
   * handlers' log groups (this app cannot add the statement to an imported key's policy).
   */
  public static readonly IMPORTED_KEY_FOR_HANDLER_LOGS = IMPORTED_KEY_LOGS_WARNING;

  private constructor() {}
}
