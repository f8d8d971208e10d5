/**
 * The state table: one STATE item per sync id (what was last applied) and one audit record per
 * sync (`SYNC#<time>#<random>`, expiring after `auditTtlDays`).
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { AuditStatus, SyncConfig } from './contracts';
import { SyncDeps, SyncTrigger } from './deps';
import { PlanCounts } from './plan';
import { withRetry } from '../../core/runtime/retry';

/** What the state table remembers between syncs. */
export interface SyncState {
  readonly awsSyncToken?: string;
  readonly md5?: string;
  readonly fingerprint?: string;
  readonly appliedAt?: string;
}

/** One part of the plan, as recorded: its counts and the refusal code, if any. */
export type AuditPlan = { readonly target: string; readonly refusal?: string } & PlanCounts;

/** One audit record (the key, time and TTL are added when it is written). */
export interface AuditRecord {
  readonly status: AuditStatus;
  readonly trigger: SyncTrigger;
  readonly awsSyncToken?: string;
  readonly md5?: string;
  readonly fingerprint: string;
  readonly desiredIpv4: number;
  readonly desiredIpv6: number;
  readonly plans: AuditPlan[];
  /** What was added (APPLIED, FAILED: what the plan adds; DRY_RUN: would add; REFUSED: empty). */
  readonly added: string[];
  readonly removed: string[];
  /** Mutating calls made (APPLIED, NO_CHANGE, DRY_RUN). */
  readonly mutatingCalls?: number;
  /** The refusal message (REFUSED). */
  readonly reason?: string;
  /** What the refused plan would have added and removed (REFUSED). */
  readonly plannedAdded?: number;
  readonly plannedRemoved?: number;
  /** The error (FAILED), and the mutating calls made before it. */
  readonly error?: string;
  readonly mutatingCallsBeforeFailure?: number;
}

/** Audit lists are cut to keep an item far below DynamoDB's 400 KB. */
export const MAX_AUDIT_LIST = 2000;

export async function readState(config: SyncConfig, deps: SyncDeps): Promise<SyncState> {
  const res = await withRetry(deps, 'GetItem', () => deps.ddb.send(new GetCommand({
    TableName: config.stateTable, Key: { pk: config.syncId, sk: 'STATE' }, ConsistentRead: true,
  })));
  return (res.Item as SyncState | undefined) ?? {};
}

/** Writes the audit record, then (when given) the new state. */
export async function record(config: SyncConfig, deps: SyncDeps, item: AuditRecord, state?: SyncState): Promise<void> {
  const now = deps.now();
  const cut = (list: string[]) => list.length > MAX_AUDIT_LIST ? list.slice(0, MAX_AUDIT_LIST) : list;
  await withRetry(deps, 'PutItem', () => deps.ddb.send(new PutCommand({
    TableName: config.stateTable,
    Item: {
      pk: config.syncId,
      sk: `SYNC#${now.toISOString()}#${Math.random().toString(36).slice(2, 8)}`,
      ...item,
      added: cut(item.added),
      removed: cut(item.removed),
      listsTruncated: [item.added, item.removed].some((l) => l.length > MAX_AUDIT_LIST),
      at: now.toISOString(),
      expiresAt: Math.floor(now.getTime() / 1000) + config.auditTtlDays * 86400,
    },
  })));
  if (state) {
    await withRetry(deps, 'PutItem', () => deps.ddb.send(new PutCommand({
      TableName: config.stateTable,
      Item: { pk: config.syncId, sk: 'STATE', ...state },
    })));
  }
}
