/**
 * The pure part of the LogicalIdGuard: the lock file's shape, its stable rendering, and the comparison
 * of a lock with the stateful resources an app synthesizes now (no construct or AWS code in here).
 *
 * Nothing in this module is exported from the package: the guard's public API is in logical-id-guard.ts.
 */

/** Version of the lock file format. */
export const LOCK_FORMAT_VERSION = 1;

/** One stateful resource as the lock records it. @internal */
export interface LockedResource {
  readonly logicalId: string;
  /** CloudFormation type, e.g. AWS::SQS::Queue. */
  readonly type: string;
  /**
   * The fixed physical name (QueueName, TableName, BucketName...) when the template sets one, with the
   * stack's concrete account and region written as ${AWS::AccountId} and ${AWS::Region} so the lock does
   * not depend on the environment the app is synthesized for.
   */
  readonly physicalName?: string;
}

/** One stack's section of the lock. @internal */
export interface LockedStack {
  /** The CloudFormation stack name (what `cdk refactor` mappings name). */
  readonly stackName: string;
  /** Construct path relative to the stack (e.g. `Orders/Resource`) -> the resource. */
  readonly resources: Record<string, LockedResource>;
}

/** The lock file. @internal */
export interface LockFile {
  readonly version: number;
  /** Stack key (its stack name) -> section. */
  readonly stacks: Record<string, LockedStack>;
}

/** A resource of the app as synthesized now. @internal */
export interface CurrentResource extends LockedResource {
  /** Key of its stack in the lock. */
  readonly stackKey: string;
  readonly stackName: string;
  /** Construct path relative to the stack. */
  readonly path: string;
  /** Full construct path (for messages and pinning). */
  readonly fullPath: string;
  /** Full construct path of the construct to pin: the L2 whose default child the resource is, else the resource. */
  readonly pinPath: string;
  /** Concrete account and region of the stack (undefined when environment-agnostic). */
  readonly account?: string;
  readonly region?: string;
  /** Whether the guard tracks it (stateful type or retaining deletion policy). Untracked resources only show that an ID still exists. */
  readonly tracked: boolean;
}

/** A stack of the app as synthesized now. @internal */
export interface CurrentStack {
  readonly stackKey: string;
  readonly stackName: string;
  /** The stack's construct path. */
  readonly stackPath: string;
  readonly account?: string;
  readonly region?: string;
  /** Every CloudFormation resource of the stack, tracked or not. */
  readonly resources: CurrentResource[];
}

/** What happened to one locked resource. @internal */
export enum FindingKind {
  /** Same construct path, new logical ID. */
  LOGICAL_ID_CHANGED = 'LOGICAL_ID_CHANGED',
  /** Old path and ID gone; a new resource of the same type appeared elsewhere. */
  MOVED = 'MOVED',
  /** Old path and ID gone; nothing of the type took its place. */
  REMOVED = 'REMOVED',
  /** Same logical ID, but its fixed physical name changed (a replacement property). */
  PHYSICAL_NAME_CHANGED = 'PHYSICAL_NAME_CHANGED',
}

/** One replacement (or deletion) of a locked resource. @internal */
export interface Finding {
  readonly kind: FindingKind;
  readonly stackKey: string;
  /** Locked path relative to the stack. */
  readonly oldPath: string;
  readonly old: LockedResource;
  readonly oldStackName: string;
  /** Where it is now (LOGICAL_ID_CHANGED, PHYSICAL_NAME_CHANGED) or most likely went (MOVED). */
  readonly current?: CurrentResource;
  /** Other new resources of the same type it may have moved to (MOVED only). */
  readonly otherCandidates: CurrentResource[];
}

/** The comparison of a lock with the app. @internal */
export interface LockComparison {
  /** Replacements and deletions of locked resources. */
  readonly findings: Finding[];
  /** Tracked resources not in the lock (new). */
  readonly added: CurrentResource[];
  /** Locked resources whose logical ID is unchanged but whose path changed (e.g. wrapped as `Default`, or pinned). */
  readonly relocated: CurrentResource[];
  /** Locked resources that still exist with the same logical ID but are no longer tracked (e.g. removal policy now DESTROY). */
  readonly untracked: number;
  /** The lock the app would write now. */
  readonly next: LockFile;
}

/** Builds the lock of the current app. @internal */
export function lockOf(stacks: CurrentStack[]): LockFile {
  const out: Record<string, LockedStack> = {};
  for (const stack of stacks) {
    const resources: Record<string, LockedResource> = {};
    for (const r of stack.resources) {
      if (!r.tracked) continue;
      resources[r.path] = r.physicalName === undefined
        ? { logicalId: r.logicalId, type: r.type }
        : { logicalId: r.logicalId, type: r.type, physicalName: r.physicalName };
    }
    if (Object.keys(resources).length > 0) out[stack.stackKey] = { stackName: stack.stackName, resources };
  }
  return { version: LOCK_FORMAT_VERSION, stacks: out };
}

/** A value with every object's keys sorted (arrays keep their order). */
function sortedDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedDeep);
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(obj).sort()) {
      if (obj[key] !== undefined) out[key] = sortedDeep(obj[key]);
    }
    return out;
  }
  return value;
}

/** Explanation at the top of every lock file. */
export const LOCK_FILE_COMMENT = 'Logical IDs of the stateful resources of this CDK app, checked at synth by LogicalIdGuard '
  + '(cdk-production-patterns). Commit this file; a change to it in review means a resource was added, moved or replaced.';

/**
 * The lock file's text: sorted keys at every level, two-space indentation, no timestamps, one trailing
 * newline, so two synths of the same app give byte-identical files and a change diffs as one line per resource.
 * @internal
 */
export function renderLock(lock: LockFile): string {
  return JSON.stringify(sortedDeep({ '//': LOCK_FILE_COMMENT, 'version': lock.version, 'stacks': lock.stacks }), undefined, 2) + '\n';
}

/** Parses and checks a lock file's text; throws an Error that says what is wrong. @internal */
export function parseLock(text: string): LockFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`not valid JSON (${(err as Error).message}); a merge conflict? Resolve it, or delete the file to write it anew from the app`);
  }
  const obj = raw as { version?: unknown; stacks?: unknown };
  if (!obj || typeof obj !== 'object' || obj.version !== LOCK_FORMAT_VERSION || !obj.stacks || typeof obj.stacks !== 'object') {
    throw new Error(`not a version ${LOCK_FORMAT_VERSION} lock file (expected {"version": ${LOCK_FORMAT_VERSION}, "stacks": {...}})`);
  }
  for (const [key, stack] of Object.entries(obj.stacks as Record<string, unknown>)) {
    const s = stack as { stackName?: unknown; resources?: unknown };
    if (!s || typeof s.stackName !== 'string' || !s.resources || typeof s.resources !== 'object') {
      throw new Error(`stack '${key}' needs "stackName" (string) and "resources" (object)`);
    }
    for (const [path, res] of Object.entries(s.resources as Record<string, unknown>)) {
      const r = res as { logicalId?: unknown; type?: unknown; physicalName?: unknown };
      if (!r || typeof r.logicalId !== 'string' || typeof r.type !== 'string' || (r.physicalName !== undefined && typeof r.physicalName !== 'string')) {
        throw new Error(`stack '${key}', resource '${path}' needs "logicalId" and "type" (strings) and at most a string "physicalName"`);
      }
    }
  }
  return obj as LockFile;
}

/** The human part of a logical ID (without CDK's 8-character hash), for matching moves by name. */
export function humanPart(logicalId: string): string {
  return /^(.+?)[0-9A-F]{8}$/.test(logicalId) ? logicalId.slice(0, -8) : logicalId;
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function commonSuffix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[a.length - 1 - i] === b[b.length - 1 - i]) i++;
  return i;
}

/** The construct path without L2 plumbing (`Orders/Resource` -> `Orders`), lower-cased for comparison. */
function ownerPath(path: string): string {
  return path.replace(/\/(Resource|Default)$/, '').toLowerCase();
}

/** How likely a new resource is the moved old one (higher is likelier). */
function moveScore(oldPath: string, old: LockedResource, oldStackKey: string, cand: CurrentResource): number {
  let score = 0;
  if (old.physicalName !== undefined && old.physicalName === cand.physicalName) score += 10_000;
  if (cand.stackKey === oldStackKey) score += 1_000;
  const oldHuman = humanPart(old.logicalId).toLowerCase();
  const newHuman = humanPart(cand.logicalId).toLowerCase();
  if (oldHuman === newHuman) score += 500;
  const oldLast = ownerPath(oldPath).split('/').pop() ?? '';
  const newSegments = ownerPath(cand.path).split('/');
  if (newSegments[newSegments.length - 1] === oldLast) score += 200;
  else if (newSegments.includes(oldLast)) score += 100;
  score += commonPrefix(oldHuman, newHuman) + commonSuffix(oldHuman, newHuman);
  return score;
}

/**
 * Compares the lock with the app's resources now.
 * - A locked logical ID that still exists in its stack (whatever its path) is kept; when its fixed
 *   physical name changed, CloudFormation replaces it anyway (PHYSICAL_NAME_CHANGED).
 * - A locked path that now holds a resource of the same type under another ID: LOGICAL_ID_CHANGED.
 * - Otherwise the locked resource is gone: MOVED when a new tracked resource of the same type appeared
 *   (the likeliest one is named, in the same stack first), else REMOVED.
 * @internal
 */
export function compareLock(lock: LockFile, stacks: CurrentStack[]): LockComparison {
  const byStack = new Map(stacks.map((s) => [s.stackKey, s]));
  const findings: Finding[] = [];
  const relocated: CurrentResource[] = [];
  let untracked = 0;
  /** Current tracked resources accounted for by the lock (same ID, or same path). */
  const claimed = new Set<CurrentResource>();
  const gone: Array<{ stackKey: string; oldStackName: string; path: string; old: LockedResource }> = [];

  // A stack whose key changed only because a second stack with its name appeared (`Api` -> `Api (Path)`): the
  // current stack of that name, not itself in the lock, holding most of the section's logical IDs.
  const rekeyed = (locked: LockFile['stacks'][string]): CurrentStack | undefined => {
    const ids = new Set(Object.values(locked.resources).map((r) => r.logicalId));
    let best: CurrentStack | undefined;
    let bestOverlap = 0;
    for (const candidate of stacks) {
      if (candidate.stackName !== locked.stackName || lock.stacks[candidate.stackKey]) continue;
      const overlap = candidate.resources.filter((r) => ids.has(r.logicalId)).length;
      if (overlap > bestOverlap) [best, bestOverlap] = [candidate, overlap];
    }
    return best;
  };

  for (const stackKey of Object.keys(lock.stacks).sort()) {
    const locked = lock.stacks[stackKey];
    const current = byStack.get(stackKey) ?? rekeyed(locked);
    const byId = new Map((current?.resources ?? []).map((r) => [r.logicalId, r]));
    const byPath = new Map((current?.resources ?? []).filter((r) => r.tracked).map((r) => [r.path, r]));
    for (const path of Object.keys(locked.resources).sort()) {
      const old = locked.resources[path];
      const sameId = byId.get(old.logicalId);
      // The same ID with another type is no match: CloudFormation cannot update a resource's type.
      if (sameId && sameId.type === old.type) {
        claimed.add(sameId);
        if (!sameId.tracked) {
          untracked++;
          continue;
        }
        if (sameId.path !== path) relocated.push(sameId);
        if (sameId.physicalName !== old.physicalName) {
          findings.push({
            kind: FindingKind.PHYSICAL_NAME_CHANGED,
            stackKey,
            oldPath: path,
            old,
            oldStackName: locked.stackName,
            current: sameId,
            otherCandidates: [],
          });
        }
        continue;
      }
      const samePath = byPath.get(path);
      if (samePath && samePath.type === old.type && !isLockedId(locked, samePath.logicalId)) {
        claimed.add(samePath);
        findings.push({
          kind: FindingKind.LOGICAL_ID_CHANGED, stackKey, oldPath: path, old, oldStackName: locked.stackName, current: samePath, otherCandidates: [],
        });
        continue;
      }
      gone.push({ stackKey, oldStackName: locked.stackName, path, old });
    }
  }

  // New tracked resources: not in the lock by ID, not paired by path.
  const fresh = stacks.flatMap((s) => s.resources).filter((r) => r.tracked && !claimed.has(r) && !isLockedId(lock.stacks[r.stackKey], r.logicalId));
  const used = new Set<CurrentResource>();
  // Deterministic greedy pairing: the strongest (old, new) pairs first.
  const pairs: Array<{ gi: number; cand: CurrentResource; score: number }> = [];
  gone.forEach((g, gi) => {
    for (const cand of fresh) {
      if (cand.type === g.old.type) pairs.push({ gi, cand, score: moveScore(g.path, g.old, g.stackKey, cand) });
    }
  });
  pairs.sort((a, b) => b.score - a.score || a.gi - b.gi || a.cand.fullPath.localeCompare(b.cand.fullPath));
  const chosen = new Map<number, CurrentResource>();
  for (const p of pairs) {
    if (chosen.has(p.gi) || used.has(p.cand)) continue;
    chosen.set(p.gi, p.cand);
    used.add(p.cand);
  }
  gone.forEach((g, gi) => {
    const cand = chosen.get(gi);
    if (cand) {
      const others = fresh.filter((f) => f !== cand && f.type === g.old.type).sort((a, b) => a.fullPath.localeCompare(b.fullPath));
      findings.push({
        kind: FindingKind.MOVED,
        stackKey: g.stackKey,
        oldPath: g.path,
        old: g.old,
        oldStackName: g.oldStackName,
        current: cand,
        otherCandidates: others,
      });
    } else {
      findings.push({
        kind: FindingKind.REMOVED, stackKey: g.stackKey, oldPath: g.path, old: g.old, oldStackName: g.oldStackName, otherCandidates: [],
      });
    }
  });

  return {
    findings,
    added: fresh.filter((f) => !used.has(f)),
    relocated,
    untracked,
    next: lockOf(stacks),
  };
}

function isLockedId(stack: LockedStack | undefined, logicalId: string): boolean {
  return !!stack && Object.values(stack.resources).some((r) => r.logicalId === logicalId);
}

/** `Stack.LogicalId`, the location form of `cdk refactor` override files. */
function location(stackName: string, logicalId: string): string {
  return `${stackName}.${logicalId}`;
}

/**
 * The `cdk refactor --override-file` content that keeps the new logical IDs: for each environment, the
 * old location (`StackName.LogicalId`, deployed) mapped to the new one. The shape is the one the CDK CLI
 * parses (`parseMappingGroups` in @aws-cdk/toolkit-lib: a top-level `environments` array of
 * `{ account, region, resources }`); environment-agnostic stacks get `<account>` / `<region>` placeholders.
 * Undefined when no finding has a new location.
 * @internal
 */
export function refactorOverrideFile(findings: Finding[]): string | undefined {
  const groups = new Map<string, { account: string; region: string; resources: Record<string, string> }>();
  for (const f of findings) {
    if (!f.current || f.kind === FindingKind.PHYSICAL_NAME_CHANGED) continue;
    const account = f.current.account ?? '<account>';
    const region = f.current.region ?? '<region>';
    const key = `${account}/${region}`;
    const group = groups.get(key) ?? { account, region, resources: {} };
    group.resources[location(f.oldStackName, f.old.logicalId)] = location(f.current.stackName, f.current.logicalId);
    groups.set(key, group);
  }
  if (groups.size === 0) return undefined;
  const environments = [...groups.keys()].sort().map((k) => groups.get(k)!);
  return JSON.stringify(sortedDeep({ environments }), undefined, 2);
}
