import { IMPORTED_KEY_LOGS_WARNING } from '../core/functions';

/**
 * The ids of the warnings ManagedCapacityPool and ManagedInstanceLambda add at synth time, for legal
 * but risky choices.
 *
 * Acknowledge a warning you have weighed with `Annotations.of(construct).acknowledgeWarning(id, reason)`.
 */
export class ManagedInstanceWarnings {
  /**
   * The attached functions' minimum execution environments take more than half the pool's vCPUs, or a
   * deploy at peak (a new version starting its minimum beside the old one at its maximum) may reach the ceiling.
   */
  public static readonly POOL_CAPACITY = 'cdk-production-patterns:managedPoolCapacity';
  /** Fewer than two Availability Zones are left after the exclusions. */
  public static readonly POOL_SINGLE_ZONE = 'cdk-production-patterns:managedPoolSingleZone';
  /** An allowed instance type is outside the C, M and R families Lambda Managed Instances runs on. */
  public static readonly POOL_INSTANCE_FAMILY = 'cdk-production-patterns:managedPoolInstanceFamily';
  /** The subnets' zones are unknown at synth (an environment-agnostic stack): the zone exclusions cannot be applied. */
  public static readonly POOL_UNRESOLVED_ZONES = 'cdk-production-patterns:managedPoolUnresolvedZones';
  /** The memory size gives a fractional number of vCPUs per execution environment. */
  public static readonly FRACTIONAL_VCPU = 'cdk-production-patterns:managedFunctionFractionalVCpu';
  /** The OS-only runtime has no documented default concurrency: the service's own applies. */
  public static readonly CONCURRENCY_DEFAULT = 'cdk-production-patterns:managedFunctionConcurrencyDefault';
  /** `pruneVersions` is false: retained versions pile up towards the capacity provider's 100-version cap. */
  public static readonly VERSIONS_NOT_PRUNED = 'cdk-production-patterns:managedFunctionVersionsNotPruned';
  /** The warmer is on: on Managed Instances it rarely helps (see `WarmerOptions`). */
  public static readonly WARMER = 'cdk-production-patterns:managedFunctionWarmer';
  /**
   * The functions a VersionPruner keeps on one capacity provider come within `headroomAlarmThreshold`
   * of the provider's 100-version cap.
   */
  public static readonly PRUNER_LOW_HEADROOM = 'cdk-production-patterns:versionPrunerLowHeadroom';
  /**
   * `encryptionKey` is imported: its key policy must allow CloudWatch Logs to use it for the log
   * groups the constructs create.
   */
  public static readonly IMPORTED_KEY = IMPORTED_KEY_LOGS_WARNING;

  private constructor() {}
}
