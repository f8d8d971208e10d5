/**
 * The one contract between the VersionPruner construct and its handler: environment variable names,
 * the payload the schedule and the custom resource carry, metric names, namespace and dimensions.
 * Both sides import it; nothing is spelled twice. No AWS client and no aws-cdk-lib here.
 */

/** Environment variables the construct sets and the handler reads (at cold start). */
export const PRUNER_ENV = {
  /** Numbered versions kept per function when a target names no count of its own (2..90). */
  versionsToKeep: 'VERSIONS_TO_KEEP',
  /** `true`: plan and log, delete nothing. */
  dryRun: 'DRY_RUN',
} as const;

/** The versions a capacity provider holds at most (Lambda Managed Instances; cannot be raised). */
export const CAPACITY_PROVIDER_VERSION_CAP = 100;

/** The range `versionsToKeep` is validated against, at synth and at run time. */
// At least 2: the after-deploy run may happen before CloudFormation moves the alias, and a rollback of that
// deployment points the alias back at the previous version, which must still exist.
export const VERSIONS_TO_KEEP_MIN = 2;
/** A run stops deleting when less than this is left of the invocation (the rest waits for the next run). */
export const STOP_BEFORE_TIMEOUT_MS = 30_000;
export const VERSIONS_TO_KEEP_MAX = 90;

/** Marks the payload of a scheduled (or manual) run, so that any other event is refused. */
export const PRUNE_PAYLOAD_SOURCE = 'cdk-production-patterns.version-pruner';

/** One function the pruner prunes, as the schedule's input and the custom resource's properties carry it. */
export interface PruneTarget {
  /** The function's name or ARN (unqualified). */
  readonly functionName: string;
  /** Numbered versions kept (2..90). @default the pruner's (PRUNER_ENV.versionsToKeep) */
  readonly versionsToKeep?: number;
  /** The capacity provider whose 100-version cap the function counts against. @default none (no headroom metric) */
  readonly capacityProvider?: string;
}

/** The input of a scheduled or manual run (the rule's input replaces the EventBridge event). */
export interface PrunePayload {
  /** Always PRUNE_PAYLOAD_SOURCE. */
  readonly source: string;
  readonly targets: PruneTarget[];
}

/** The custom resource's type and its properties (CloudFormation passes numbers and booleans as strings). */
export const PRUNER_RESOURCE_TYPE = 'Custom::LambdaVersionPruner';
export const PRUNER_RESOURCE_PROPS = {
  /** PruneTarget[]. */
  targets: 'Targets',
  /** The versions just published (`<functionArn>:<version>`): a new one re-runs the pruner after it. */
  versions: 'PublishedVersions',
  /** The pruner's settings, so that a change re-runs it. */
  versionsToKeep: 'VersionsToKeep',
  dryRun: 'DryRun',
} as const;

/** Custom metrics (EMF), namespace PRUNER_METRICS_NAMESPACE, dimension `service` (and CapacityProvider for headroom). */
export const PRUNER_METRIC = {
  /** Numbered versions kept (the newest N and those an alias points to), per run. */
  versionsKept: 'VersionsKept',
  /** Versions deleted, per run. */
  versionsDeleted: 'VersionsDeleted',
  /** Versions a dry run would have deleted. */
  versionsPlanned: 'VersionsPlannedForDeletion',
  /** Deletes refused with ResourceConflictException (an alias moved to the version meanwhile): skipped. */
  deleteConflicts: 'DeleteConflicts',
  /** Targets that could not be pruned (missing function, access denied, throttled past the retries) and failed runs. */
  failures: 'PruneFailures',
  /** Versions left before the capacity provider's 100-version cap (dimension CapacityProvider). */
  versionHeadroom: 'VersionHeadroom',
  /** Versions counted against the capacity provider's cap (dimension CapacityProvider). */
  versionsOnCapacityProvider: 'VersionsOnCapacityProvider',
} as const;

export const PRUNER_METRICS_NAMESPACE = 'CdkProductionPatterns/ManagedInstanceLambda';
export const PRUNER_SERVICE_NAME = 'version-pruner';
/** The dimension of the per-capacity-provider metrics. */
export const CAPACITY_PROVIDER_DIMENSION = 'CapacityProvider';

/** Why a version is kept. */
export type KeepReason = 'newest' | 'alias' | 'unpublished';

/** What happened to one target. */
export type TargetStatus = 'PRUNED' | 'PLANNED' | 'NOT_FOUND' | 'FAILED';

/** What one target's run did (the invoke result lists one per target). */
export interface TargetOutcome {
  readonly functionName: string;
  readonly status: TargetStatus;
  readonly capacityProvider?: string;
  /** Numbered versions kept. */
  readonly kept: string[];
  /** Versions deleted (or, in a dry run, that would be). */
  readonly deleted: string[];
  /** Versions skipped on ResourceConflictException. */
  readonly conflicts: string[];
  /** Versions that count against a capacity provider's cap after the run (numbered versions left, plus $LATEST.PUBLISHED). */
  readonly versionsCounted: number;
  /** `Name: message` of the error that stopped this target. */
  readonly error?: string;
}

/** What a run did. */
export interface PruneOutcome {
  readonly dryRun: boolean;
  readonly targets: TargetOutcome[];
  /** Headroom per capacity provider (CAPACITY_PROVIDER_VERSION_CAP minus the versions its targets hold). */
  readonly headroom: Record<string, number>;
  readonly deleted: number;
  readonly conflicts: number;
  readonly failures: number;
}
