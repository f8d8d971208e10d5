/**
 * The sync, step by step: fetch and verify the documents (sources.ts), build the minimal cover,
 * let the target's adapter describe what it holds now and plan (targets/), refuse or apply, record
 * (state-store.ts). AWS clients are injected (tests mock them); all decisions are made by the pure
 * modules.
 */
import { coverFingerprint } from './cidr';
import { METRIC, SyncConfig, SyncStatus } from './contracts';
import { CallCounter, SyncDeps, SyncOutcome, SyncRequest } from './deps';
import { isNewerSyncToken } from './documents';
import { PlanRefusal } from './plan';
import { fetchSources } from './sources';
import { AuditRecord, readState, record, SyncState } from './state-store';
import { targetAdapter } from './targets';
import { describeError } from '../../core/runtime/retry';

/**
 * Runs one sync and returns what it did. A refused plan (empty set, capacity, too many removals)
 * changes nothing and is recorded and returned with status REFUSED: it is deterministic, so it is
 * not thrown (a retry would refuse again). A sync that fails (a bad document, an AWS error) throws:
 * before any change when the document is bad; after recording FAILED when an apply call failed.
 */
export async function runSync(config: SyncConfig, request: SyncRequest, deps: SyncDeps): Promise<SyncOutcome> {
  const started = deps.now().getTime();
  const state = await readState(config, deps);

  // A notification not newer than the last applied one changes nothing (replays, out-of-order delivery).
  if (request.trigger === 'notification' && request.notification && state.awsSyncToken
    && !isNewerSyncToken(request.notification.syncToken, state.awsSyncToken)) {
    deps.log.info('notification is not newer than the last applied document; skipped', {
      notificationSyncToken: request.notification.syncToken, lastApplied: state.awsSyncToken,
    });
    deps.metrics.count(METRIC.skippedStale, 1);
    deps.metrics.count(METRIC.successfulSync, 1);
    return { status: 'SKIPPED_STALE', desired: { ipv4: 0, ipv6: 0 }, added: [], removed: [], mutatingCalls: 0, plans: [] };
  }

  const fetched = await fetchSources(config, request, deps);
  // Never go back: a document older than the last applied one (a stale mirror or cache) changes nothing.
  if (fetched.awsSyncToken && state.awsSyncToken && isNewerSyncToken(state.awsSyncToken, fetched.awsSyncToken)) {
    deps.log.warn('the fetched document is older than the last applied one; skipped', {
      documentSyncToken: fetched.awsSyncToken, lastApplied: state.awsSyncToken,
    });
    deps.metrics.count(METRIC.skippedStale, 1);
    deps.metrics.count(METRIC.successfulSync, 1);
    return { status: 'SKIPPED_STALE', desired: { ipv4: 0, ipv6: 0 }, added: [], removed: [], mutatingCalls: 0, plans: [] };
  }
  const { cover } = fetched;
  const fingerprint = coverFingerprint(cover);
  deps.metrics.count(METRIC.desiredCidrs, cover.ipv4.length + cover.ipv6.length);

  // Plan every part of the target before touching anything.
  const adapter = targetAdapter(config, deps);
  const targetPlan = await adapter.plan(cover);
  const { parts: plans, added, removed } = targetPlan;
  const base: Omit<AuditRecord, 'status' | 'added' | 'removed'> = {
    trigger: request.trigger,
    awsSyncToken: fetched.awsSyncToken,
    md5: fetched.md5,
    fingerprint,
    desiredIpv4: cover.ipv4.length,
    desiredIpv6: cover.ipv6.length,
    plans: plans.map((p) => ({ target: p.target, ...p.counts, refusal: p.refusal?.code })),
  };

  const refusals = plans.filter((p) => p.refusal).map((p) => p.refusal!);
  // Every part that does not fit is named (an IPv4 and an IPv6 list can both be too small).
  const refusal: PlanRefusal | undefined = refusals.length === 0 ? undefined : {
    code: refusals[0].code,
    message: [...new Set(refusals.map((r) => r.message))].join('; and '),
  };
  if (refusal) {
    // A refused plan places no rule: what it would have done is in its counts.
    const planned = { added: plans.reduce((n, p) => n + p.counts.add, 0), removed: plans.reduce((n, p) => n + p.counts.remove, 0) };
    deps.log.error('sync refused; nothing changed', { refusal, applied: { added: 0, removed: 0 }, planned, plans: base.plans });
    deps.metrics.count(refusal.code === 'CAPACITY' ? METRIC.capacityExceeded : refusal.code === 'TOO_MANY_REMOVALS' ? METRIC.guardRefusal : METRIC.emptyDesiredRefusal, 1);
    await record(config, deps, {
      ...base, status: 'REFUSED', reason: refusal.message, added: [], removed: [], plannedAdded: planned.added, plannedRemoved: planned.removed,
    });
    // A refusal is deterministic: retrying the same document would refuse again, so it is not thrown.
    // Its own metric and alarm report it. Nothing was applied: the planned counts are kept apart.
    return {
      status: 'REFUSED',
      refusal,
      desired: { ipv4: cover.ipv4.length, ipv6: cover.ipv6.length },
      added: [],
      removed: [],
      planned,
      mutatingCalls: 0,
      awsSyncToken: fetched.awsSyncToken,
      md5: fetched.md5,
      plans,
    };
  }

  const expectedCalls = plans.reduce((n, p) => n + p.counts.mutatingCalls, 0);
  if (config.dryRun) {
    deps.log.info('dry run: the plan is logged, nothing is changed', { plans: base.plans, added, removed });
    await record(config, deps, { ...base, status: 'DRY_RUN', added, removed, mutatingCalls: 0 });
    deps.metrics.count(METRIC.successfulSync, 1);
    return {
      status: 'DRY_RUN',
      desired: { ipv4: cover.ipv4.length, ipv6: cover.ipv6.length },
      added,
      removed,
      planned: { added: added.length, removed: removed.length },
      mutatingCalls: 0,
      awsSyncToken: fetched.awsSyncToken,
      md5: fetched.md5,
      plans,
    };
  }

  const counter: CallCounter = { calls: 0 };
  try {
    await targetPlan.apply(counter);
  } catch (caught) {
    const err = await adapter.explainApplyError(caught, counter);
    // Adds run before removes, so a sync cut short leaves ingress at least as wide as either version.
    // The audit write must never replace the cause: when it fails too, both are logged and the
    // cause is what the caller sees.
    try {
      await record(config, deps, {
        ...base, status: 'FAILED', error: describeError(err), added, removed, mutatingCallsBeforeFailure: counter.calls,
      });
    } catch (recordError) {
      deps.log.error('sync failed and its audit record could not be written', {
        error: describeError(err), recordError: describeError(recordError), mutatingCallsBeforeFailure: counter.calls,
      });
    }
    throw err;
  }
  const calls = counter.calls;

  const status: SyncStatus = expectedCalls === 0 ? 'NO_CHANGE' : 'APPLIED';
  const newState: SyncState = {
    awsSyncToken: [fetched.awsSyncToken, state.awsSyncToken].filter((t): t is string => !!t)
      .reduce<string | undefined>((max, t) => (max === undefined || isNewerSyncToken(t, max) ? t : max), undefined),
    md5: fetched.md5 ?? state.md5,
    fingerprint,
    appliedAt: deps.now().toISOString(),
  };
  await record(config, deps, { ...base, status, added, removed, mutatingCalls: calls }, newState);
  deps.metrics.count(METRIC.added, added.length);
  deps.metrics.count(METRIC.removed, removed.length);
  deps.metrics.count(METRIC.mutatingCalls, calls);
  deps.metrics.count(METRIC.successfulSync, 1);
  deps.metrics.milliseconds(METRIC.syncDuration, deps.now().getTime() - started);
  deps.log.info(status === 'APPLIED' ? 'sync applied' : 'already in sync; no change', {
    desiredIpv4: cover.ipv4.length,
    desiredIpv6: cover.ipv6.length,
    added: added.length,
    removed: removed.length,
    mutatingCalls: calls,
    plans: base.plans,
  });
  return {
    status,
    desired: { ipv4: cover.ipv4.length, ipv6: cover.ipv6.length },
    added,
    removed,
    mutatingCalls: calls,
    awsSyncToken: fetched.awsSyncToken,
    md5: fetched.md5,
    plans,
  };
}
