import * as fs from 'fs';
import * as path from 'path';
import { Annotations, CfnElement, CfnResource, Stack, Stage, Token } from 'aws-cdk-lib';
import { IConstruct, IValidation } from 'constructs';
import {
  compareLock, CurrentResource, CurrentStack, Finding, LockComparison, lockOf, LockFile, parseLock, renderLock,
} from './logical-id-lock';
import { findingMessages, refactorMessage } from './logical-id-messages';
import { throwArgumentError } from '../core/errors';

/**
 * Whether the guard may write its lock file.
 */
export enum LogicalIdLockMode {
  /**
   * Write the lock when it is missing, and rewrite it when the app changed without an unacknowledged
   * replacement (new stateful resources, a path that changed while its logical ID was kept, acknowledged
   * replacements). Replacements and deletions that are neither pinned nor acknowledged still fail synth.
   */
  UPDATE = 'UPDATE',
  /**
   * Never write: a missing lock, a lock that differs from the app, and every unacknowledged replacement
   * fail synth. For CI, tests and scripts.
   */
  VERIFY = 'VERIFY',
}

/**
 * An intended replacement or deletion of a locked stateful resource, with the reason.
 */
export interface ReplacementAcknowledgement {
  /** The stack: its stack name (the key in the lock file) or its construct path. */
  readonly stack: string;
  /**
   * The resource: its old logical ID (as in the lock), or its construct path (old or new; relative to the
   * stack as in the lock, or in full); `*` for every replacement and deletion in the stack (a stack
   * deleted or rebuilt on purpose).
   */
  readonly resource: string;
  /** Why replacing (or deleting) it is right; must not be empty. */
  readonly reason: string;
}

/**
 * Options of the LogicalIdGuard.
 */
export interface LogicalIdGuardProps {
  /**
   * The lock file: a path relative to the working directory (the folder of cdk.json when the CDK CLI runs
   * the app), or an absolute one. Commit it.
   * @default 'logical-ids.lock.json'
   */
  readonly lockFile?: string;
  /**
   * More CloudFormation types to track, added to `LogicalIdGuard.DEFAULT_STATEFUL_TYPES`
   * (e.g. `['AWS::Route53::HostedZone', 'AWS::EC2::EIP']`).
   * @default - only the default types, and resources whose DeletionPolicy is Retain, RetainExceptOnCreate or Snapshot
   */
  readonly statefulTypes?: string[];
  /**
   * CloudFormation types never tracked, even when retained (added to `LogicalIdGuard.DEFAULT_IGNORED_TYPES`).
   * @default - only the default ignored types
   */
  readonly ignoredTypes?: string[];
  /**
   * Whether the guard may write the lock file.
   * @default - the context value `logical-id-guard:mode` (`update` or `verify`) when set; otherwise VERIFY
   * in CI (the `CI` environment variable set and not `false`/`0`, or `CODEBUILD_BUILD_ID` set), UPDATE when
   * the CDK CLI runs the app (`cdk synth`, `cdk deploy`: `CDK_CLI_VERSION` is set), and VERIFY elsewhere
   * (unit tests, scripts), so only a developer's `cdk synth` ever writes the file.
   */
  readonly mode?: LogicalIdLockMode;
  /**
   * Intended replacements and deletions, each with its reason (see `acknowledgeReplacement`).
   * @default - none
   */
  readonly acknowledgements?: ReplacementAcknowledgement[];
}

/** A resource's internal CloudFormation rendering (`_toCloudFormation`, as cdk-nag reads it). */
interface RenderedResource {
  readonly Type?: unknown;
  readonly Properties?: Record<string, unknown>;
  readonly DeletionPolicy?: unknown;
}

const GUARD_SYMBOL = Symbol.for('cdk-production-patterns.LogicalIdGuard');

/** Deletion policies that keep the resource: the user said it holds something worth keeping. */
const RETAINING_POLICIES = ['Retain', 'RetainExceptOnCreate', 'Snapshot'];

/**
 * The property holding the fixed physical name, for the tracked types whose name is unique in the account
 * and region and whose change requires replacement (so a new logical ID with the same name fails with
 * "already exists"). Cognito user pool names are neither, KMS keys, EFS and FSx file systems and EBS
 * volumes have none.
 */
const PHYSICAL_NAME_PROPERTIES: Record<string, string> = {
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::DynamoDB::GlobalTable': 'TableName',
  'AWS::S3::Bucket': 'BucketName',
  'AWS::S3Express::DirectoryBucket': 'BucketName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::Kinesis::Stream': 'Name',
  'AWS::RDS::DBInstance': 'DBInstanceIdentifier',
  'AWS::RDS::DBCluster': 'DBClusterIdentifier',
  'AWS::RDS::GlobalCluster': 'GlobalClusterIdentifier',
  'AWS::Neptune::DBCluster': 'DBClusterIdentifier',
  'AWS::DocDB::DBCluster': 'DBClusterIdentifier',
  'AWS::Redshift::Cluster': 'ClusterIdentifier',
  'AWS::SecretsManager::Secret': 'Name',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::OpenSearchService::Domain': 'DomainName',
  'AWS::Elasticsearch::Domain': 'DomainName',
  'AWS::ElastiCache::ReplicationGroup': 'ReplicationGroupId',
  'AWS::ElastiCache::CacheCluster': 'ClusterName',
  'AWS::ElastiCache::ServerlessCache': 'ServerlessCacheName',
  'AWS::MemoryDB::Cluster': 'ClusterName',
  'AWS::Backup::BackupVault': 'BackupVaultName',
  'AWS::ECR::Repository': 'RepositoryName',
  'AWS::MSK::Cluster': 'ClusterName',
};

/** A resource's properties as the template will have them (overrides included), resolved; undefined if it cannot be rendered. */
function renderedProperties(res: CfnResource, stack: Stack): Record<string, unknown> | undefined {
  try {
    // `_toCloudFormation` (internal, as cdk-nag reads it) applies the overrides; its output is a token until resolved.
    const internal = res as unknown as { _toCloudFormation(): object };
    const cfn = stack.resolve(internal._toCloudFormation()) as { Resources?: Record<string, RenderedResource> };
    return Object.values(cfn.Resources ?? {})[0]?.Properties;
  } catch {
    return undefined;
  }
}

/** `CI` set to anything but an empty string, `false` or `0`, or an AWS CodeBuild build (which sets no `CI`). */
function runningInCi(): boolean {
  const ci = (process.env.CI ?? '').trim().toLowerCase();
  return (ci !== '' && ci !== 'false' && ci !== '0') || !!process.env.CODEBUILD_BUILD_ID;
}

/** A resolved physical name as a stable string: intrinsics rendered as `${AWS::AccountId}`, the stack's concrete env replaced. */
function physicalNameOf(value: unknown, stack: Stack): string | undefined {
  if (value === undefined || value === null) return undefined;
  const render = (v: unknown): string => {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.Ref === 'string' && Object.keys(o).length === 1) return '${' + o.Ref + '}';
      const join = o['Fn::Join'];
      if (Array.isArray(join) && join.length === 2 && typeof join[0] === 'string' && Array.isArray(join[1])) {
        return join[1].map(render).join(join[0]);
      }
    }
    return JSON.stringify(v);
  };
  let name = render(value);
  if (!Token.isUnresolved(stack.account) && stack.account) name = name.split(stack.account).join('${AWS::AccountId}');
  if (!Token.isUnresolved(stack.region) && stack.region) name = name.split(stack.region).join('${AWS::Region}');
  return name;
}

/**
 * Catches, at synth, the refactors that make CloudFormation replace a stateful resource: a renamed
 * construct id, a construct moved under a new parent, a resource moved to another stack, a fixed physical
 * name changed, a resource deleted.
 *
 * It collects the logical IDs of the stateful resources of an app, stage or stack (by CloudFormation type,
 * `LogicalIdGuard.DEFAULT_STATEFUL_TYPES` plus `statefulTypes`, and every resource whose DeletionPolicy is
 * Retain, RetainExceptOnCreate or Snapshot), keyed by stack name and construct path, and compares them with
 * a committed lock file. When there is no lock file, it writes one. When a locked logical ID disappeared,
 * synth fails with one error per case, each with both remedies: pin the old ID (`LogicalIdGuard.pin`), or
 * keep the new one and move the deployed resource with `cdk refactor` (the `--override-file` content is
 * printed). Intended replacements are acknowledged with a reason.
 *
 * @example
 * import { LogicalIdGuard } from 'cdk-production-patterns';
 *
 * // once the app's stacks are defined:
 * const guard = LogicalIdGuard.of(app, { lockFile: 'logical-ids.lock.json' });
 * guard.acknowledgeReplacement('Orders', 'OrdersQueue1A2B3C4D', 'The queue only buffers retries; an empty new one is fine.');
 */
export class LogicalIdGuard implements IValidation {
  /**
   * The CloudFormation types tracked by default: resources holding data, or an identity a new resource
   * cannot take over (a KMS key's ciphertexts, a user pool's users, a topic's confirmed subscriptions and
   * the ARN other accounts publish to, a secret's value).
   */
  public static readonly DEFAULT_STATEFUL_TYPES: string[] = [
    'AWS::Backup::BackupVault',
    'AWS::Cognito::UserPool',
    'AWS::DocDB::DBCluster',
    'AWS::DynamoDB::GlobalTable',
    'AWS::DynamoDB::Table',
    'AWS::EC2::Volume',
    'AWS::ECR::Repository',
    'AWS::EFS::FileSystem',
    'AWS::ElastiCache::CacheCluster',
    'AWS::ElastiCache::ReplicationGroup',
    'AWS::ElastiCache::ServerlessCache',
    'AWS::Elasticsearch::Domain',
    'AWS::FSx::FileSystem',
    'AWS::KMS::Key',
    'AWS::Kinesis::Stream',
    'AWS::Logs::LogGroup',
    'AWS::MSK::Cluster',
    'AWS::MemoryDB::Cluster',
    'AWS::Neptune::DBCluster',
    'AWS::OpenSearchService::Domain',
    'AWS::RDS::DBCluster',
    'AWS::RDS::DBInstance',
    'AWS::RDS::GlobalCluster',
    'AWS::Redshift::Cluster',
    'AWS::S3::Bucket',
    'AWS::S3Express::DirectoryBucket',
    'AWS::SNS::Topic',
    'AWS::SQS::Queue',
    'AWS::SecretsManager::Secret',
  ];

  /**
   * Types never tracked, even when retained: Lambda versions (`currentVersion` retains each one and gives
   * it a new logical ID on every code change, by design) and the CDK metadata resource.
   */
  public static readonly DEFAULT_IGNORED_TYPES: string[] = ['AWS::CDK::Metadata', 'AWS::Lambda::Version'];

  /** Context key that sets the mode: `-c logical-id-guard:mode=update` or `=verify`. */
  public static readonly MODE_CONTEXT_KEY = 'logical-id-guard:mode';

  /** Id of the warning about an acknowledgement that matches no replacement. */
  public static readonly STALE_ACKNOWLEDGEMENT_WARNING_ID = 'cdk-production-patterns:staleLogicalIdAcknowledgement';

  /**
   * The guard of `scope` (an App, Stage or Stack), created on first call. It checks at synth, through a
   * validation of `scope`, so a replacement fails `cdk synth` and `app.synth()` alike.
   * @param scope the App, Stage or Stack whose stateful resources are locked
   * @param props options; only on the call that creates the guard
   */
  public static of(scope: IConstruct, props?: LogicalIdGuardProps): LogicalIdGuard {
    const existing = (scope as unknown as Record<symbol, LogicalIdGuard | undefined>)[GUARD_SYMBOL];
    if (existing) {
      if (props) {
        throwArgumentError('LogicalIdGuard.of', 'props', `${scope.node.path || '(app)'} already has a LogicalIdGuard; pass props only on the first call`);
      }
      return existing;
    }
    if (!Stage.isStage(scope) && !Stack.isStack(scope)) {
      throwArgumentError('LogicalIdGuard.of', 'scope', `${scope.node.path} must be an App, a Stage or a Stack`);
    }
    const guard = new LogicalIdGuard(scope, props ?? {});
    Object.defineProperty(scope, GUARD_SYMBOL, { value: guard, enumerable: false });
    scope.node.addValidation(guard);
    return guard;
  }

  /**
   * Keeps a resource's old logical ID after a refactor moved or renamed it: `overrideLogicalId` on its
   * CfnResource (the construct itself, or its default child such as an L2's `Resource`).
   * @param construct the resource, or the L2 construct whose default child it is
   * @param logicalId the logical ID to keep (the old one, as in the lock file and the guard's message)
   */
  public static pin(construct: IConstruct, logicalId: string): void {
    const target = CfnElement.isCfnElement(construct) ? construct : construct.node.defaultChild;
    if (!target || !CfnElement.isCfnElement(target)) {
      throwArgumentError('LogicalIdGuard.pin', 'construct',
        `${construct.node.path} is no CloudFormation element and has no default child that is one; pin the CfnResource under it`);
    }
    if (!/^[A-Za-z0-9]{1,255}$/.test(logicalId)) {
      throwArgumentError('LogicalIdGuard.pin', 'logicalId', `'${logicalId}' is no logical ID (1-255 letters and digits)`);
    }
    (target as CfnElement).overrideLogicalId(logicalId);
  }

  /** The lock file's absolute path. */
  public readonly lockFile: string;

  private readonly scope: IConstruct;
  private readonly statefulTypes: Set<string>;
  private readonly ignoredTypes: Set<string>;
  private readonly mode?: LogicalIdLockMode;
  private readonly acknowledgements: ReplacementAcknowledgement[] = [];

  private constructor(scope: IConstruct, props: LogicalIdGuardProps) {
    this.scope = scope;
    this.lockFile = path.resolve(props.lockFile ?? 'logical-ids.lock.json');
    this.statefulTypes = new Set([...LogicalIdGuard.DEFAULT_STATEFUL_TYPES, ...(props.statefulTypes ?? [])]);
    this.ignoredTypes = new Set([...LogicalIdGuard.DEFAULT_IGNORED_TYPES, ...(props.ignoredTypes ?? [])]);
    for (const t of [...(props.statefulTypes ?? []), ...(props.ignoredTypes ?? [])]) {
      if (!/^[A-Za-z0-9]+::[A-Za-z0-9]+::[A-Za-z0-9]+$/.test(t) && !/^Custom::[A-Za-z0-9_@-]+$/.test(t)) {
        throwArgumentError('LogicalIdGuard.of', 'statefulTypes/ignoredTypes', `'${t}' is no CloudFormation type (e.g. AWS::Route53::HostedZone)`);
      }
    }
    this.mode = props.mode;
    for (const ack of props.acknowledgements ?? []) this.acknowledgeReplacement(ack.stack, ack.resource, ack.reason);
  }

  /**
   * Acknowledges an intended replacement or deletion of a locked resource: synth passes, and the lock takes
   * the new state. Once the lock no longer holds the old ID, the acknowledgement matches nothing and synth
   * warns (`STALE_ACKNOWLEDGEMENT_WARNING_ID`): remove it after the deploy.
   * @param stack the stack name (the key in the lock file) or the stack's construct path
   * @param resource the old logical ID, or the construct path (old or new; relative to the stack, or in full); `*` for all of the stack's
   * @param reason why the replacement is right; must not be empty
   */
  public acknowledgeReplacement(stack: string, resource: string, reason: string): void {
    if (!stack || !stack.trim()) throwArgumentError('LogicalIdGuard.acknowledgeReplacement', 'stack', 'must name the stack');
    if (!resource || !resource.trim()) throwArgumentError('LogicalIdGuard.acknowledgeReplacement', 'resource', 'must name the logical ID or construct path');
    if (!reason || !reason.trim()) {
      throwArgumentError('LogicalIdGuard.acknowledgeReplacement', 'reason',
        `must say why replacing ${stack}/${resource} is right (its data is lost or orphaned); an empty reason is not an acknowledgement`);
    }
    this.acknowledgements.push({ stack: stack.trim(), resource: resource.trim(), reason: reason.trim() });
  }

  /**
   * The lock file's content for the app as it is now (what UPDATE mode writes): sorted keys, no
   * timestamps, a trailing newline. Call it after the app is complete (e.g. after `app.synth()`).
   */
  public renderLock(): string {
    return renderLock(lockOf(this.collect()));
  }

  /**
   * Runs at synth (a validation of the guarded scope): compares the app with the lock, writes the lock in
   * UPDATE mode when that is safe, and returns one error per unacknowledged replacement or deletion.
   */
  public validate(): string[] {
    const { mode, error } = this.resolveMode();
    if (!mode) return [error!];
    const stacks = this.collect();
    const rel = path.relative(process.cwd(), this.lockFile) || this.lockFile;

    if (!fs.existsSync(this.lockFile)) {
      if (mode === LogicalIdLockMode.VERIFY) {
        return [`LogicalIdGuard: no lock file at ${rel} (mode VERIFY). Run \`cdk synth\` locally (the CDK CLI runs the app in UPDATE mode and `
          + `writes it) or synthesize with -c ${LogicalIdGuard.MODE_CONTEXT_KEY}=update, then commit it.`];
      }
      this.write(renderLock(lockOf(stacks)));
      return [];
    }

    let lock: LockFile;
    const text = fs.readFileSync(this.lockFile, 'utf8');
    try {
      lock = parseLock(text);
    } catch (err) {
      return [`LogicalIdGuard: the lock file ${rel} is ${(err as Error).message}.`];
    }

    const comparison = compareLock(lock, stacks);
    const used = new Set<ReplacementAcknowledgement>();
    const open: Finding[] = [];
    const acknowledged: Finding[] = [];
    for (const f of comparison.findings) {
      const ack = this.acknowledgements.find((a) => this.matches(a, f, stacks));
      if (ack) {
        used.add(ack);
        acknowledged.push(f);
      } else {
        open.push(f);
      }
    }
    this.warnStale(this.acknowledgements.filter((a) => !used.has(a)), stacks);

    const errors = open.flatMap(findingMessages);
    const refactor = refactorMessage(open);
    if (refactor) errors.push(refactor);
    if (errors.length > 0) {
      errors.push(`LogicalIdGuard: ${open.length} locked stateful resource(s) would be replaced or deleted (lock file ${rel}). `
        + 'Pin, refactor or acknowledge each one; the lock is left unchanged.');
      return errors;
    }

    const next = renderLock(comparison.next);
    if (next === text) return [];
    if (mode === LogicalIdLockMode.VERIFY) {
      return [`LogicalIdGuard: the lock file ${rel} is out of date (mode VERIFY): ${this.describeChanges(comparison, acknowledged)}. `
        + `Run \`cdk synth\` locally (UPDATE mode rewrites it) or synthesize with -c ${LogicalIdGuard.MODE_CONTEXT_KEY}=update, and commit it.`];
    }
    this.write(next);
    return [];
  }

  /** Every CloudFormation resource of the guarded scope, grouped by stack, tracked or not. */
  private collect(): CurrentStack[] {
    const byStack = new Map<Stack, CfnResource[]>();
    for (const c of this.scope.node.findAll()) {
      if (!CfnResource.isCfnResource(c)) continue;
      const stack = Stack.of(c);
      const list = byStack.get(stack) ?? [];
      list.push(c);
      byStack.set(stack, list);
    }
    const stacks = [...byStack.keys()];
    const nameCount = new Map<string, number>();
    const nameOf = (s: Stack): string => (s.nested ? s.node.path : s.stackName);
    for (const s of stacks) nameCount.set(nameOf(s), (nameCount.get(nameOf(s)) ?? 0) + 1);

    return stacks.map((stack) => {
      const stackName = nameOf(stack);
      // Two stacks with one name (the same stack in two regions): the construct path tells them apart.
      const stackKey = (nameCount.get(stackName) ?? 0) > 1 ? `${stackName} (${stack.node.path})` : stackName;
      const account = Token.isUnresolved(stack.account) ? undefined : stack.account;
      const region = Token.isUnresolved(stack.region) ? undefined : stack.region;
      const resources = byStack.get(stack)!.map((res): CurrentResource => {
        const logicalId = stack.resolve(res.logicalId) as string;
        // The L1 view, with raw overrides (addOverride('DeletionPolicy', 'Retain') is common) read cheaply.
        const raw = (res as unknown as { rawOverrides?: { Type?: unknown; DeletionPolicy?: unknown } }).rawOverrides ?? {};
        const type = typeof raw.Type === 'string' ? raw.Type : res.cfnResourceType;
        const policy = stack.resolve(raw.DeletionPolicy ?? res.cfnOptions.deletionPolicy);
        const tracked = !this.ignoredTypes.has(type)
          && (this.statefulTypes.has(type) || (typeof policy === 'string' && RETAINING_POLICIES.includes(policy)));
        const nameProp = PHYSICAL_NAME_PROPERTIES[type];
        // Only a tracked resource with a name property is rendered (property overrides included) to read its name.
        const physicalName = tracked && nameProp ? physicalNameOf(renderedProperties(res, stack)?.[nameProp], stack) : undefined;
        const parent = res.node.scope;
        const pinPath = parent && parent.node.defaultChild === res && parent !== stack ? parent.node.path : res.node.path;
        return {
          stackKey,
          stackName,
          account,
          region,
          logicalId,
          type,
          physicalName,
          tracked,
          pinPath,
          path: res.node.path.slice(stack.node.path.length + 1),
          fullPath: res.node.path,
        };
      });
      return { stackKey, stackName, stackPath: stack.node.path, account, region, resources };
    });
  }

  private resolveMode(): { mode?: LogicalIdLockMode; error?: string } {
    if (this.mode) return { mode: this.mode };
    const ctx = this.scope.node.tryGetContext(LogicalIdGuard.MODE_CONTEXT_KEY);
    if (ctx !== undefined) {
      const v = String(ctx).trim().toLowerCase();
      if (v === 'update') return { mode: LogicalIdLockMode.UPDATE };
      if (v === 'verify') return { mode: LogicalIdLockMode.VERIFY };
      return { error: `LogicalIdGuard: context ${LogicalIdGuard.MODE_CONTEXT_KEY} must be 'update' or 'verify', got '${String(ctx)}'.` };
    }
    if (runningInCi()) return { mode: LogicalIdLockMode.VERIFY };
    return { mode: process.env.CDK_CLI_VERSION ? LogicalIdLockMode.UPDATE : LogicalIdLockMode.VERIFY };
  }

  private matches(ack: ReplacementAcknowledgement, f: Finding, stacks: CurrentStack[]): boolean {
    const stackPaths = stacks.filter((s) => s.stackKey === f.stackKey).map((s) => s.stackPath);
    const stackOk = ack.stack === f.stackKey || ack.stack === f.oldStackName || stackPaths.includes(ack.stack);
    if (!stackOk) return false;
    if (ack.resource === '*') return true;
    const names = [f.old.logicalId, f.oldPath, ...stackPaths.map((p) => `${p}/${f.oldPath}`)];
    if (f.current) names.push(f.current.logicalId, f.current.path, f.current.fullPath);
    return names.includes(ack.resource);
  }

  private warnStale(stale: ReplacementAcknowledgement[], stacks: CurrentStack[]): void {
    if (stale.length === 0) return;
    const all = this.scope.node.findAll().filter((c): c is Stack => Stack.isStack(c));
    for (const ack of stale) {
      const named = stacks.find((s) => s.stackKey === ack.stack || s.stackName === ack.stack || s.stackPath === ack.stack);
      // The warning goes on the acknowledged stack (or the first one): annotations need a stack to be reported.
      const target = all.find((s) => s.node.path === named?.stackPath) ?? all[0];
      const message = `LogicalIdGuard: the acknowledgement of ${ack.stack}/${ack.resource} ('${ack.reason}') matches no replacement: `
        + 'the lock already has the new state (remove it once deployed) or the stack or resource is misspelled.';
      if (target) Annotations.of(target).addWarningV2(LogicalIdGuard.STALE_ACKNOWLEDGEMENT_WARNING_ID, message);
    }
  }

  private describeChanges(c: LockComparison, acknowledged: Finding[]): string {
    const parts: string[] = [];
    if (c.added.length) parts.push(`new: ${c.added.map((r) => `${r.stackKey}/${r.path} (${r.type})`).join(', ')}`);
    if (c.relocated.length) parts.push(`same logical ID at a new path: ${c.relocated.map((r) => `${r.stackKey}/${r.path}`).join(', ')}`);
    if (acknowledged.length) {
      parts.push(`acknowledged: ${acknowledged.map((f) => `${f.stackKey}/${f.oldPath} (${f.old.logicalId}${f.current ? ` -> ${f.current.fullPath}, ${f.current.logicalId}` : ', deleted'})`).join(', ')}`);
    }
    if (c.untracked) parts.push(`${c.untracked} resource(s) no longer stateful (e.g. removal policy no longer retains)`);
    return parts.length ? parts.join('; ') : 'its content or formatting differs from what the app writes';
  }

  private write(content: string): void {
    fs.mkdirSync(path.dirname(this.lockFile), { recursive: true });
    const tmp = `${this.lockFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, content);
    fs.renameSync(tmp, this.lockFile);
  }
}
