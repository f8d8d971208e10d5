/**
 * What a sync is given (AWS clients, fetch, clock, log and metric sinks: tests inject fakes) and
 * what it is asked and answers. Types only.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { WAFV2Client } from '@aws-sdk/client-wafv2';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SyncStatus } from './contracts';
import type { IpSpaceChangedNotification } from './documents';
import type { PlanCounts, PlanRefusal } from './plan';
import type { StructuredLog } from '../../core/runtime/log';


/** Minimal metrics sink (adapted to Powertools' Metrics by the entry point). */
export interface MetricSink {
  count(name: string, value: number): void;
  milliseconds(name: string, value: number): void;
}

export interface SyncDeps {
  readonly ec2: EC2Client;
  readonly waf: WAFV2Client;
  readonly ddb: DynamoDBDocumentClient;
  /** Fetches a document's bytes (throws on a non-2xx answer). */
  readonly fetchBytes: (url: string) => Promise<Uint8Array>;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => Date;
  /** Structured log lines (retries of throttled calls included). */
  readonly log: StructuredLog;
  readonly metrics: MetricSink;
}

/** Mutating calls made so far (kept when a sync fails part-way), and the group of the last one. */
export interface CallCounter {
  calls: number;
  groupId?: string;
}

export type SyncTrigger = 'notification' | 'schedule' | 'deployment' | 'manual';

export interface SyncRequest {
  readonly trigger: SyncTrigger;
  /** The AmazonIpSpaceChanged notification, when the trigger is one. */
  readonly notification?: IpSpaceChangedNotification;
}

/** The plan of one part of the target (the security groups, one prefix list, one IP set). */
export interface PlannedPart {
  /** `securityGroups`, `prefixList:<id>` or `wafIpSet:<name>`. */
  readonly target: string;
  readonly counts: PlanCounts;
  readonly refusal?: PlanRefusal;
  readonly transientNarrowing?: boolean;
}

/**
 * What a sync that ran to its end did. A sync that fails throws (after recording FAILED in the
 * audit trail): there is no FAILED outcome.
 */
export interface SyncOutcome {
  readonly status: SyncStatus;
  readonly desired: { ipv4: number; ipv6: number };
  readonly added: string[];
  readonly removed: string[];
  readonly mutatingCalls: number;
  readonly awsSyncToken?: string;
  readonly md5?: string;
  readonly plans: PlannedPart[];
  /** Why the sync was refused (status REFUSED): nothing was changed. */
  readonly refusal?: PlanRefusal;
  /**
   * What the plan would have added and removed (status REFUSED and DRY_RUN): nothing of it was
   * applied, so `added` and `removed` are empty for a refusal.
   */
  readonly planned?: { readonly added: number; readonly removed: number };
}
