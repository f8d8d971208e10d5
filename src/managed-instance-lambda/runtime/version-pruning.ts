/**
 * The version pruner's logic: a pure planner (which versions of a function to keep and which to
 * delete) and the run loop that lists, plans and deletes with the Lambda client passed in, and the
 * answer to CloudFormation for the after-deploy custom resource. No aws-cdk-lib here.
 *
 * Safety rules, in the order they apply:
 * - only numbered versions are ever deleted: `$LATEST`, `$LATEST.PUBLISHED` and anything that is not
 *   a decimal number are kept whatever the count;
 * - every version an alias points to is kept, the primary version and each version of the alias's
 *   routing configuration (`AdditionalVersionWeights`: a weighted alias points at two versions);
 * - the newest N numbered versions (numeric order: 10 is newer than 9) are kept;
 * - versions are listed before aliases, so a version published and aliased meanwhile is either not
 *   in the list or protected; an alias moved onto a listed version after that makes DeleteFunction
 *   answer ResourceConflictException: that version is skipped, logged and counted.
 */
import {
  DeleteFunctionCommand, ListFunctionVersionsByCapacityProviderCommand, LambdaClient, ListAliasesCommand, ListVersionsByFunctionCommand,
} from '@aws-sdk/client-lambda';
import {
  CAPACITY_PROVIDER_VERSION_CAP, KeepReason, PRUNE_PAYLOAD_SOURCE, PRUNER_ENV, PRUNER_METRIC, PRUNER_RESOURCE_PROPS, PruneOutcome, PruneTarget,
  STOP_BEFORE_TIMEOUT_MS, TargetOutcome, VERSIONS_TO_KEEP_MAX, VERSIONS_TO_KEEP_MIN,
} from './version-pruner-contract';
import { buildCfnResponse, CfnEvent, fetchPut, HttpPut, sendCfnResponse } from '../../core/runtime/cfn-response';
import { requireEnv } from '../../core/runtime/env';
import type { StructuredLog } from '../../core/runtime/log';
import { describeError, errorName, withRetry } from '../../core/runtime/retry';

// ---- configuration ---------------------------------------------------------------------------

/** The handler's configuration (from the environment the construct set). */
export interface PrunerConfig {
  readonly versionsToKeep: number;
  readonly dryRun: boolean;
}

/** Reads and checks the configuration; an error names the variable. */
export function parsePrunerConfig(env: Record<string, string | undefined>): PrunerConfig {
  const keep = requireEnv(env, PRUNER_ENV.versionsToKeep);
  if (!isKeepCount(Number(keep)) || !/^\d+$/.test(keep)) {
    throw new Error(`Environment variable ${PRUNER_ENV.versionsToKeep} must be an integer in ${VERSIONS_TO_KEEP_MIN}..${VERSIONS_TO_KEEP_MAX}, got ${JSON.stringify(keep)}`);
  }
  const dryRun = requireEnv(env, PRUNER_ENV.dryRun);
  if (dryRun !== 'true' && dryRun !== 'false') {
    throw new Error(`Environment variable ${PRUNER_ENV.dryRun} must be 'true' or 'false', got ${JSON.stringify(dryRun)}`);
  }
  return { versionsToKeep: Number(keep), dryRun: dryRun === 'true' };
}

function isKeepCount(n: number): boolean {
  return Number.isInteger(n) && n >= VERSIONS_TO_KEEP_MIN && n <= VERSIONS_TO_KEEP_MAX;
}

// ---- the planner (pure) ----------------------------------------------------------------------

/** The versions one alias points to. */
export interface AliasPointer {
  readonly name: string;
  readonly functionVersion?: string;
  /** The versions of its routing configuration (AdditionalVersionWeights keys). */
  readonly additionalVersions?: string[];
}

/** What the planner is given for one function. */
export interface PlanInput {
  /** The `Version` of every listed version (`$LATEST`, `$LATEST.PUBLISHED`, `1`, `2`...). */
  readonly versions: string[];
  readonly aliases: AliasPointer[];
  /** Numbered versions kept besides those aliases point to. */
  readonly versionsToKeep: number;
}

/** One kept version and why. */
export interface KeptVersion {
  readonly version: string;
  readonly reasons: KeepReason[];
  /** The aliases pointing to it. */
  readonly aliases: string[];
}

/** What to do with one function's versions. */
export interface PrunePlan {
  /** Every listed version that stays, newest first (unnumbered ones last). */
  readonly keep: KeptVersion[];
  /** Numbered versions to delete, oldest first. */
  readonly delete: string[];
}

const NUMBERED = /^[0-9]+$/;

/** Numeric order of version numbers of any length (10 after 9; no precision loss). */
export function compareVersions(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  return x.length - y.length || (x < y ? -1 : x > y ? 1 : 0);
}

/** Plans one function: keeps the newest N numbered versions, every aliased version and every unnumbered one. */
export function planPrune(input: PlanInput): PrunePlan {
  const keepCount = Math.max(0, Math.floor(input.versionsToKeep));
  const unique = [...new Set(input.versions)];
  const numbered = unique.filter((v) => NUMBERED.test(v)).sort((a, b) => compareVersions(b, a));
  const aliasesOf = new Map<string, string[]>();
  for (const alias of input.aliases) {
    for (const v of [alias.functionVersion, ...(alias.additionalVersions ?? [])]) {
      if (v === undefined) continue;
      aliasesOf.set(v, [...(aliasesOf.get(v) ?? []), alias.name]);
    }
  }
  const keep: KeptVersion[] = [];
  const remove: string[] = [];
  numbered.forEach((version, i) => {
    const reasons: KeepReason[] = [];
    if (i < keepCount) reasons.push('newest');
    const aliases = aliasesOf.get(version) ?? [];
    if (aliases.length > 0) reasons.push('alias');
    if (reasons.length > 0) keep.push({ version, reasons, aliases });
    else remove.push(version);
  });
  for (const version of unique.filter((v) => !NUMBERED.test(v))) {
    keep.push({ version, reasons: ['unpublished'], aliases: aliasesOf.get(version) ?? [] });
  }
  return { keep, delete: remove.reverse() };
}

/** Versions counted against a capacity provider's cap: numbered ones, and `$LATEST.PUBLISHED` (conservatively). */
export function countedVersions(versions: string[]): number {
  return new Set(versions.filter((v) => NUMBERED.test(v) || v === '$LATEST.PUBLISHED')).size;
}

// ---- input -----------------------------------------------------------------------------------

/** A malformed event or payload: the handler fails loudly on it. */
export class PrunerInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrunerInputError';
  }
}

/** Function names as Lambda accepts them: a name, a partial ARN or a full ARN, unqualified. */
const FUNCTION_NAME = /^(arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:|\d{12}:function:)?[a-zA-Z0-9-_]{1,64}$/;
const CAPACITY_PROVIDER = /^([a-zA-Z0-9-_]{1,140}|arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:capacity-provider:[a-zA-Z0-9-_]+)$/;

/** Checks a target list (the schedule's input or the custom resource's properties); CloudFormation's numbers may be strings. */
export function parseTargets(value: unknown, where: string): PruneTarget[] {
  if (!Array.isArray(value) || value.length === 0) throw new PrunerInputError(`${where} must be a non-empty list of targets, got ${JSON.stringify(value)}`);
  return value.map((t, i) => {
    const at = `${where}[${i}]`;
    if (!t || typeof t !== 'object') throw new PrunerInputError(`${at} must be an object, got ${JSON.stringify(t)}`);
    const { functionName, versionsToKeep, capacityProvider } = t as Record<string, unknown>;
    if (typeof functionName !== 'string' || !FUNCTION_NAME.test(functionName)) {
      throw new PrunerInputError(`${at}.functionName must be an unqualified function name or ARN, got ${JSON.stringify(functionName)}`);
    }
    let keep: number | undefined;
    if (versionsToKeep !== undefined && versionsToKeep !== null && versionsToKeep !== '') {
      keep = Number(versionsToKeep);
      if (!isKeepCount(keep)) {
        throw new PrunerInputError(`${at}.versionsToKeep must be an integer in ${VERSIONS_TO_KEEP_MIN}..${VERSIONS_TO_KEEP_MAX}, got ${JSON.stringify(versionsToKeep)}`);
      }
    }
    if (capacityProvider !== undefined && capacityProvider !== null && capacityProvider !== ''
      && (typeof capacityProvider !== 'string' || !CAPACITY_PROVIDER.test(capacityProvider))) {
      throw new PrunerInputError(`${at}.capacityProvider must be a capacity provider name or ARN, got ${JSON.stringify(capacityProvider)}`);
    }
    return {
      functionName,
      ...(keep !== undefined ? { versionsToKeep: keep } : {}),
      ...(typeof capacityProvider === 'string' && capacityProvider ? { capacityProvider } : {}),
    };
  });
}

/** Reads the payload of a scheduled or manual run. */
export function parsePayload(event: unknown): PruneTarget[] {
  const e = event as Record<string, unknown> | undefined;
  if (!e || typeof e !== 'object' || e.source !== PRUNE_PAYLOAD_SOURCE) {
    throw new PrunerInputError(`expected a CloudFormation custom-resource event or a payload with source '${PRUNE_PAYLOAD_SOURCE}', got ${JSON.stringify(event)?.slice(0, 300)}`);
  }
  return parseTargets(e.targets, 'targets');
}

// ---- the run loop ----------------------------------------------------------------------------

/** What the pruner is given (tests inject fakes). */
export interface PrunerDeps {
  readonly lambda: LambdaClient;
  readonly sleep: (ms: number) => Promise<void>;
  readonly log: StructuredLog;
  readonly metrics: {
    /** Adds to a count metric of the run (PRUNER_METRIC). */
    count(name: string, value: number): void;
    /** The headroom of one capacity provider, and the versions counted against its cap. */
    headroom(capacityProvider: string, headroom: number, versions: number): void;
  };
  /** A number in [0, 1) for the retry jitter. @default Math.random */
  readonly random?: () => number;
  /**
   * Milliseconds left of the invocation (`context.getRemainingTimeInMillis`): deletes stop when less
   * than STOP_BEFORE_TIMEOUT_MS is left, so the run always answers (a custom resource that never
   * answers fails the deployment an hour later). @default no limit
   */
  readonly remainingMs?: () => number;
}

function timeIsShort(deps: PrunerDeps): boolean {
  return deps.remainingMs !== undefined && deps.remainingMs() < STOP_BEFORE_TIMEOUT_MS;
}

async function listVersions(functionName: string, deps: PrunerDeps): Promise<string[]> {
  const retry = { sleep: deps.sleep, log: deps.log, random: deps.random };
  const versions: string[] = [];
  let marker: string | undefined;
  do {
    const page = await withRetry(retry, 'ListVersionsByFunction',
      () => deps.lambda.send(new ListVersionsByFunctionCommand({ FunctionName: functionName, Marker: marker, MaxItems: 50 })));
    for (const v of page.Versions ?? []) if (v.Version) versions.push(v.Version);
    marker = page.NextMarker || undefined;
  } while (marker);
  return versions;
}

async function listAliases(functionName: string, deps: PrunerDeps): Promise<AliasPointer[]> {
  const retry = { sleep: deps.sleep, log: deps.log, random: deps.random };
  const aliases: AliasPointer[] = [];
  let marker: string | undefined;
  do {
    const page = await withRetry(retry, 'ListAliases',
      () => deps.lambda.send(new ListAliasesCommand({ FunctionName: functionName, Marker: marker, MaxItems: 50 })));
    for (const a of page.Aliases ?? []) {
      aliases.push({
        name: a.Name ?? '',
        functionVersion: a.FunctionVersion,
        additionalVersions: Object.keys(a.RoutingConfig?.AdditionalVersionWeights ?? {}),
      });
    }
    marker = page.NextMarker || undefined;
  } while (marker);
  return aliases;
}

/** Prunes one function; never throws (a failure is the outcome's status). */
export async function pruneTarget(target: PruneTarget, config: PrunerConfig, deps: PrunerDeps): Promise<TargetOutcome> {
  const keepCount = target.versionsToKeep ?? config.versionsToKeep;
  const base = { functionName: target.functionName, capacityProvider: target.capacityProvider };
  let versions: string[];
  let plan: PrunePlan;
  try {
    versions = await listVersions(target.functionName, deps);
    const aliases = await listAliases(target.functionName, deps);
    plan = planPrune({ versions, aliases, versionsToKeep: keepCount });
  } catch (err) {
    if (errorName(err) === 'ResourceNotFoundException') {
      deps.log.error(`version pruner: function ${target.functionName} does not exist; the other targets are pruned. `
        + 'Remove it from the pruner, or check the name.', { functionName: target.functionName, error: describeError(err) });
      return { ...base, status: 'NOT_FOUND', kept: [], deleted: [], conflicts: [], versionsCounted: 0, error: describeError(err) };
    }
    deps.log.error(`version pruner: listing the versions of ${target.functionName} failed; nothing of it was deleted`, {
      functionName: target.functionName, error: describeError(err),
    });
    return { ...base, status: 'FAILED', kept: [], deleted: [], conflicts: [], versionsCounted: -1, error: describeError(err) };
  }
  const kept = plan.keep.filter((k) => NUMBERED.test(k.version)).map((k) => k.version);
  if (config.dryRun) {
    deps.log.info(`dry run: ${plan.delete.length} version(s) of ${target.functionName} would be deleted`, {
      functionName: target.functionName, versionsToKeep: keepCount, wouldDelete: plan.delete, keep: plan.keep,
    });
    return { ...base, status: 'PLANNED', kept, deleted: plan.delete, conflicts: [], versionsCounted: countedVersions(versions) };
  }

  const retry = { sleep: deps.sleep, log: deps.log, random: deps.random };
  const deleted: string[] = [];
  const conflicts: string[] = [];
  let error: string | undefined;
  for (const version of plan.delete) {
    if (timeIsShort(deps)) {
      deps.log.warn(`version pruner: the invocation is about to time out; ${plan.delete.length - deleted.length - conflicts.length} version(s) of `
        + `${target.functionName} are left for the next run`, { functionName: target.functionName, left: plan.delete.filter((v) => !deleted.includes(v)) });
      break;
    }
    try {
      await withRetry(retry, 'DeleteFunction',
        () => deps.lambda.send(new DeleteFunctionCommand({ FunctionName: target.functionName, Qualifier: version })));
      deleted.push(version);
    } catch (err) {
      const name = errorName(err);
      if (name === 'ResourceNotFoundException') {
        // Already gone (another run, a person): what the pruner wanted.
        deleted.push(version);
      } else if (name === 'ResourceConflictException') {
        conflicts.push(version);
        deps.log.warn(`version ${version} of ${target.functionName} was not deleted: it is in use (an alias moved to it, or an update is in progress); `
          + 'it is skipped until the next run', { functionName: target.functionName, version, error: describeError(err) });
      } else {
        error = describeError(err);
        deps.log.error(`deleting version ${version} of ${target.functionName} failed; the rest of its versions are left for the next run`, {
          functionName: target.functionName, version, error,
        });
        break;
      }
    }
  }
  const left = versions.filter((v) => !deleted.includes(v));
  deps.log.info(`pruned ${target.functionName}: ${deleted.length} deleted, ${kept.length} kept, ${conflicts.length} skipped on conflict`, {
    functionName: target.functionName, versionsToKeep: keepCount, deleted, conflicts, keep: plan.keep,
  });
  return {
    ...base,
    status: error ? 'FAILED' : 'PRUNED',
    kept,
    deleted,
    conflicts,
    versionsCounted: countedVersions(left),
    ...(error ? { error } : {}),
  };
}

/**
 * The versions on a capacity provider, of every function attached to it (ListFunctionVersionsByCapacityProvider,
 * all pages; `$LATEST` is not a published version and is not counted), or undefined when the provider cannot be
 * listed (then the headroom falls back to the pruner's own targets, with a WARN line).
 */
async function providerVersionCount(provider: string, deps: PrunerDeps): Promise<number | undefined> {
  const retry = { sleep: deps.sleep, log: deps.log, random: deps.random };
  let count = 0;
  let marker: string | undefined;
  try {
    do {
      const page = await withRetry(retry, 'ListFunctionVersionsByCapacityProvider', () => deps.lambda.send(
        new ListFunctionVersionsByCapacityProviderCommand({ CapacityProviderName: provider, Marker: marker, MaxItems: 50 })));
      count += (page.FunctionVersions ?? []).filter((v) => !(v.FunctionArn ?? '').endsWith(':$LATEST')).length;
      marker = page.NextMarker || undefined;
    } while (marker);
    return count;
  } catch (err) {
    deps.log.warn(`capacity provider ${provider} could not be listed: its headroom counts the pruner's functions only`, {
      capacityProvider: provider, error: describeError(err),
    });
    return undefined;
  }
}

/** Prunes every target in turn (one failing target never stops the others) and publishes the metrics. */
export async function runPrune(targets: PruneTarget[], config: PrunerConfig, deps: PrunerDeps): Promise<PruneOutcome> {
  const outcomes: TargetOutcome[] = [];
  for (const target of targets) {
    if (timeIsShort(deps)) {
      deps.log.warn(`version pruner: the invocation is about to time out; ${target.functionName} is left for the next run`, {
        functionName: target.functionName,
      });
      // Not listed: its provider's headroom is not published for this run.
      outcomes.push({
        functionName: target.functionName,
        capacityProvider: target.capacityProvider,
        status: 'PRUNED',
        kept: [],
        deleted: [],
        conflicts: [],
        versionsCounted: -1,
      });
      continue;
    }
    outcomes.push(await pruneTarget(target, config, deps));
  }

  const headroom: Record<string, number> = {};
  const providers = new Map<string, TargetOutcome[]>();
  for (const o of outcomes) if (o.capacityProvider) providers.set(o.capacityProvider, [...(providers.get(o.capacityProvider) ?? []), o]);
  for (const [provider, list] of providers) {
    // Every function on the provider counts, not only the pruner's: ask the provider itself.
    let used = await providerVersionCount(provider, deps);
    if (used === undefined) {
      if (list.some((o) => o.versionsCounted < 0)) {
        deps.log.warn(`the headroom of capacity provider ${provider} is not published: a target of it could not be listed`, { capacityProvider: provider });
        continue;
      }
      used = list.reduce((n, o) => n + o.versionsCounted, 0);
    }
    headroom[provider] = CAPACITY_PROVIDER_VERSION_CAP - used;
    deps.metrics.headroom(provider, headroom[provider], used);
  }

  const sum = (f: (o: TargetOutcome) => number) => outcomes.reduce((n, o) => n + f(o), 0);
  const deleted = config.dryRun ? 0 : sum((o) => o.deleted.length);
  const conflicts = sum((o) => o.conflicts.length);
  const failures = outcomes.filter((o) => o.status === 'NOT_FOUND' || o.status === 'FAILED').length;
  deps.metrics.count(PRUNER_METRIC.versionsKept, sum((o) => o.kept.length));
  if (config.dryRun) deps.metrics.count(PRUNER_METRIC.versionsPlanned, sum((o) => o.deleted.length));
  else deps.metrics.count(PRUNER_METRIC.versionsDeleted, deleted);
  deps.metrics.count(PRUNER_METRIC.deleteConflicts, conflicts);
  deps.metrics.count(PRUNER_METRIC.failures, failures);
  if (failures > 0) {
    deps.log.error(`version pruner: ${failures} of ${targets.length} target(s) could not be pruned`, {
      failed: outcomes.filter((o) => o.error).map((o) => ({ functionName: o.functionName, status: o.status, error: o.error })),
    });
  }
  return { dryRun: config.dryRun, targets: outcomes, headroom, deleted, conflicts, failures };
}

// ---- events ----------------------------------------------------------------------------------

/** Whether an event is a CloudFormation custom-resource request. */
export function isCfnEvent(event: unknown): event is CfnEvent {
  const e = event as Record<string, unknown> | undefined;
  return !!e && typeof e === 'object' && typeof e.RequestType === 'string' && typeof e.ResponseURL === 'string';
}

/**
 * Handles one event: a scheduled (or manual) payload runs the pruner; a CloudFormation request is
 * answered at its ResponseURL. Create and Update prune and answer SUCCESS even when pruning failed
 * (housekeeping never rolls an application back: the failure is logged as an ERROR and counted in
 * PruneFailures, which has an alarm); a malformed request answers FAILED. Delete changes nothing and
 * answers SUCCESS.
 */
export async function handlePrunerEvent(
  event: unknown, config: PrunerConfig, deps: PrunerDeps, put: HttpPut = fetchPut,
): Promise<PruneOutcome | undefined> {
  if (!isCfnEvent(event)) return runPrune(parsePayload(event), config, deps);

  const physicalResourceId = event.PhysicalResourceId ?? `${event.LogicalResourceId}-version-pruner`;
  const respond = (status: 'SUCCESS' | 'FAILED', reason?: string, data?: Record<string, string>) =>
    sendCfnResponse(buildCfnResponse(event, { status, physicalResourceId, reason, data }), event.ResponseURL, put);

  if (event.RequestType === 'Delete') {
    deps.log.info('Delete: the version pruner changes nothing (versions stay as they are)', { physicalResourceId });
    await respond('SUCCESS');
    return undefined;
  }
  if (event.RequestType !== 'Create' && event.RequestType !== 'Update') {
    await respond('FAILED', `unknown RequestType ${JSON.stringify(event.RequestType)}`);
    return undefined;
  }
  let targets: PruneTarget[];
  try {
    targets = parseTargets(event.ResourceProperties?.[PRUNER_RESOURCE_PROPS.targets], PRUNER_RESOURCE_PROPS.targets);
  } catch (err) {
    deps.log.error(`version pruner: malformed ${event.RequestType} request`, { error: describeError(err) });
    await respond('FAILED', describeError(err));
    return undefined;
  }
  let outcome: PruneOutcome | undefined;
  try {
    outcome = await runPrune(targets, config, deps);
  } catch (err) {
    deps.metrics.count(PRUNER_METRIC.failures, 1);
    deps.log.error(`version pruner: the after-deploy run failed during ${event.RequestType}; the deployment goes on`, { error: describeError(err) });
    await respond('SUCCESS', `pruning failed (the deployment is not rolled back): ${describeError(err)}`, { Deleted: '0', Conflicts: '0', Failures: '1' });
    return undefined;
  }
  const reason = outcome.failures > 0
    ? `pruned with ${outcome.failures} target failure(s) (see the PruneFailures alarm): ${outcome.targets.filter((t) => t.error).map((t) => `${t.functionName}: ${t.error}`).join('; ')}`
    : undefined;
  await respond('SUCCESS', reason, {
    Deleted: String(outcome.deleted),
    Conflicts: String(outcome.conflicts),
    Failures: String(outcome.failures),
  });
  return outcome;
}
