/**
 * The contract between IpRangeSyncedSecurityGroup (which writes the configuration into environment
 * variables and the custom resource's properties) and the sync handler (which validates it at cold
 * start): env names, source and target configuration, metric names, sync and audit statuses.
 * Type-only plus constants: imported by the construct, its targets and sources, and by the handler
 * (no AWS client, no aws-cdk-lib here). Nothing here is spelled twice.
 */
import type { PortRange } from './capacity';
import type { AddressFamily } from './cidr';

// ---------------------------------------------------------------------------------------------
// Environment

/** Environment variable names the construct sets and the handler reads. */
export const ENV = {
  syncId: 'SYNC_ID',
  sources: 'SYNC_SOURCES',
  target: 'SYNC_TARGET',
  stateTable: 'SYNC_STATE_TABLE',
  dryRun: 'SYNC_DRY_RUN',
  maxRemovePercent: 'SYNC_MAX_REMOVE_PERCENT',
  auditTtlDays: 'SYNC_AUDIT_TTL_DAYS',
  logLevel: 'POWERTOOLS_LOG_LEVEL',
} as const;

// ---------------------------------------------------------------------------------------------
// Sources (env SYNC_SOURCES: a JSON array of SourceConfig)

/** The document formats the handler reads. */
export type SourceKind = 'aws' | 'github' | 'url';

/** One source of ranges. */
export interface SourceConfig {
  readonly kind: SourceKind;
  /** Where the document is fetched (https). */
  readonly url: string;
  /** AWS services / GitHub meta keys. */
  readonly services?: string[];
  readonly regions?: string[];
  readonly networkBorderGroups?: string[];
  /** For `url` sources: the key of the CIDR array in a JSON object document. */
  readonly jsonKey?: string;
  readonly ipv4: boolean;
  readonly ipv6: boolean;
}

// ---------------------------------------------------------------------------------------------
// Targets (env SYNC_TARGET: one TargetConfig as JSON). Field order is the wire order.

/** The target kinds, as `TargetConfig.kind` spells them. */
export const TARGET_KINDS = { securityGroups: 'securityGroups', prefixList: 'prefixList', wafIpSet: 'wafIpSet' } as const;
export type TargetKind = (typeof TARGET_KINDS)[keyof typeof TARGET_KINDS];

/** Ingress rules sharded over security groups: one rule per (CIDR, port range). */
export interface SecurityGroupTargetConfig {
  readonly kind: 'securityGroups';
  /** The groups, in the construct's order (new rules fill the first group with room). */
  readonly groupIds: string[];
  readonly ports: PortRange[];
  /** Inbound rules per group and per address family. */
  readonly rulesPerGroup: number;
}

/** One customer-managed prefix list of the prefix-list target. */
export interface PrefixListConfig {
  readonly family: AddressFamily;
  readonly id: string;
  readonly maxEntries: number;
}

/** Customer-managed prefix lists, one per address family. */
export interface PrefixListTargetConfig {
  readonly kind: 'prefixList';
  readonly lists: PrefixListConfig[];
}

/** The scope of a WAFv2 IP set, as the WAFv2 API spells it. */
export type WafScopeValue = 'REGIONAL' | 'CLOUDFRONT';

/** One WAFv2 IP set of the WAF target (`GetIPSet`/`UpdateIPSet` need its id and name). */
export interface WafIpSetConfig {
  readonly family: AddressFamily;
  readonly id: string;
  readonly name: string;
  readonly maxAddresses: number;
}

/** WAFv2 IP sets, one per address family. */
export interface WafIpSetTargetConfig {
  readonly kind: 'wafIpSet';
  readonly scope: WafScopeValue;
  readonly sets: WafIpSetConfig[];
}

export type TargetConfig = SecurityGroupTargetConfig | PrefixListTargetConfig | WafIpSetTargetConfig;

/** Addresses a WAFv2 IP set holds (the default quota). */
export const WAF_IP_SET_MAX_ADDRESSES = 10_000;

// ---------------------------------------------------------------------------------------------
// The whole configuration, as the handler holds it after validation

export interface SyncConfig {
  /** Identifies the rules this sync owns (rule description marker) and its state items. */
  readonly syncId: string;
  readonly sources: SourceConfig[];
  readonly target: TargetConfig;
  readonly stateTable: string;
  readonly dryRun: boolean;
  readonly maxRemovePercent: number;
  /** Audit items expire after this many days (DynamoDB TTL). */
  readonly auditTtlDays: number;
}

// ---------------------------------------------------------------------------------------------
// Metrics (EMF, namespace METRICS_NAMESPACE, dimensions `service` and `SyncId`)

export const METRICS_NAMESPACE = 'CdkProductionPatterns/IpRangeSync';
/** The Powertools service name: the `service` dimension of every metric. */
export const SERVICE_NAME = 'ip-range-sync';

/** Metric names the handler emits and the construct's metric methods read. */
export const METRIC = {
  syncFailure: 'SyncFailure',
  successfulSync: 'SuccessfulSync',
  guardRefusal: 'GuardRefusal',
  capacityExceeded: 'CapacityExceeded',
  emptyDesiredRefusal: 'EmptyDesiredRefusal',
  skippedStale: 'SkippedStale',
  added: 'Added',
  removed: 'Removed',
  mutatingCalls: 'MutatingCalls',
  desiredCidrs: 'DesiredCidrs',
  syncDuration: 'SyncDuration',
} as const;

// ---------------------------------------------------------------------------------------------
// Statuses

/**
 * What a sync that ran to its end reports (`runSync`'s outcome and the manual invoke's answer).
 * A sync that fails throws instead: FAILED is never returned, only recorded (AuditStatus).
 */
export const SYNC_STATUSES = ['APPLIED', 'NO_CHANGE', 'SKIPPED_STALE', 'DRY_RUN', 'REFUSED'] as const;
export type SyncStatus = (typeof SYNC_STATUSES)[number];

/**
 * The status of an audit record (`SYNC#...` items of the state table). A skipped stale sync writes
 * no record; a sync that fails part-way records FAILED with what it did before the failure.
 */
export const AUDIT_STATUSES = ['APPLIED', 'NO_CHANGE', 'DRY_RUN', 'REFUSED', 'FAILED'] as const;
export type AuditStatus = (typeof AUDIT_STATUSES)[number];

/** The `Status` the custom resource answers CloudFormation with (its `Data.Status`). */
export type DeploymentSyncStatus = SyncStatus | 'FAILED';
