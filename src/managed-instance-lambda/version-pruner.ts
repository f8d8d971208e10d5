import { Annotations, CustomResource, Duration, Lazy, Names, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, IConstruct } from 'constructs';
import {
  CAPACITY_PROVIDER_DIMENSION, CAPACITY_PROVIDER_VERSION_CAP, PRUNE_PAYLOAD_SOURCE, PRUNER_ENV, PRUNER_METRIC, PRUNER_METRICS_NAMESPACE,
  PRUNER_RESOURCE_PROPS, PRUNER_RESOURCE_TYPE, PRUNER_SERVICE_NAME, PruneTarget, VERSIONS_TO_KEEP_MAX, VERSIONS_TO_KEEP_MIN,
} from './runtime/version-pruner-contract';
import { VersionPrunerFunction } from './runtime/version-pruner-function';
import { ManagedInstanceWarnings } from './warnings';
import { alarmMaker, AlarmMaker } from '../core/alarms';
import { throwPropError, validateRange } from '../core/errors';
import { bundledFunction } from '../core/functions';
import { HandlerNetworkProps } from '../core/handler-network-props';
import { nagArn } from '../core/nag';
import { handlerNetwork } from '../core/network';

/** Warning id: the functions of one capacity provider keep so many versions that little headroom is left under its cap. */

/** The most characters an EventBridge target's input may hold (the schedule carries the target list). */
const MAX_SCHEDULE_INPUT = 8192;
/** What an unresolved function or capacity-provider ARN is counted as in that size check (the longest ARN Lambda accepts). */
const TOKEN_LENGTH_ESTIMATE = 140;

/**
 * Props of the stack's VersionPruner.
 *
 * `handlerVpc`, `handlerVpcSubnets` and `handlerSecurityGroups` place the handler in your VPC
 * (CT.LAMBDA.PR.3). It calls Lambda (ListVersionsByFunction, ListAliases, DeleteFunction), CloudWatch
 * Logs (its metrics are EMF log lines), the CloudFormation response URL (an S3 pre-signed URL) and,
 * when it fails, SQS; with X-Ray, X-Ray: the subnets need a NAT gateway, or the `lambda`, `sqs` and
 * `xray` interface endpoints and the `s3` gateway endpoint.
 */
export interface VersionPrunerProps extends HandlerNetworkProps {
  /**
   * Numbered versions kept per function, besides every version an alias points to (2..90: a rollback of the deployment
   * that published the newest needs the previous one).
   *
   * A function on a capacity provider also holds `$LATEST.PUBLISHED`, and the provider's cap (100
   * versions, not increasable) is shared by all its functions: keep the sum under it.
   * @default 5
   */
  readonly versionsToKeep?: number;
  /**
   * When the scheduled run happens (an EventBridge rule, whose target has retries and a dead-letter
   * queue). The after-deploy run (`runAfterDeploy`) prunes at each deployment; the schedule catches
   * versions published outside CloudFormation (CI pipelines, the console) between deployments.
   * @default events.Schedule.rate(Duration.days(1))
   */
  readonly schedule?: events.Schedule;
  /**
   * Run the pruner at each deployment, after the versions given to `addFunction()` are published (a
   * custom resource). A pruning failure does not fail the deployment: it is logged as an ERROR and
   * counted (`failuresAlarm` fires); a malformed request does fail it.
   * @default true
   */
  readonly runAfterDeploy?: boolean;
  /**
   * Plan and log what would be deleted (and count it in `VersionsPlannedForDeletion`), delete nothing.
   * @default false
   */
  readonly dryRun?: boolean;
  /**
   * `headroomAlarms` fire when fewer than this many versions are left under a capacity provider's
   * 100-version cap (1..99).
   * @default 20
   */
  readonly headroomAlarmThreshold?: number;
  /**
   * Where the pruner's alarms notify.
   * @default - no notification: the alarms are only visible in CloudWatch
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Encrypts the handler's log group and dead-letter queue (CT.CLOUDWATCH.PR.3). A key defined in
   * this app gets the key-policy statement that lets CloudWatch Logs use it; an imported key's policy
   * must already allow it (a warning says so).
   * @default - the log group with CloudWatch Logs' key, the dead-letter queue with SSE-SQS
   */
  readonly encryptionKey?: kms.IKey;
}

/** How one function is pruned. */
export interface PruneTargetOptions {
  /**
   * Numbered versions kept for this function (2..90), besides those an alias points to.
   * @default - the pruner's `versionsToKeep`
   */
  readonly versionsToKeep?: number;
  /**
   * The capacity provider the function runs on: its versions count against that provider's
   * 100-version cap, published as `VersionHeadroom` (dimension `CapacityProvider`, the sum over the
   * provider's targets) with an alarm below `headroomAlarmThreshold`.
   * @default - no headroom metric for this function
   */
  readonly capacityProvider?: lambda.ICapacityProvider;
  /**
   * The version the deployment publishes: the after-deploy run happens after it is created, and runs
   * again whenever it changes.
   * @default - the after-deploy run does not wait for a version of this function
   */
  readonly version?: lambda.IVersion;
}

interface Target {
  readonly fn: lambda.IFunction;
  versionsToKeep?: number;
  capacityProvider?: lambda.ICapacityProvider;
  readonly versions: lambda.IVersion[];
}

/**
 * Deletes old versions of Lambda functions: one per stack (`VersionPruner.of(this)`), for functions
 * on Lambda Managed Instances (a capacity provider holds at most 100 function versions, and that
 * cannot be raised: publishing more fails with FunctionVersionsPerCapacityProviderLimitExceeded) and
 * for ordinary functions whose versions CloudFormation retains.
 *
 * For each function added with `addFunction()` it lists the versions (ListVersionsByFunction) and the
 * aliases (ListAliases), keeps the newest `versionsToKeep` numbered versions, every version an alias
 * points to (including the second version of a weighted alias) and `$LATEST`/`$LATEST.PUBLISHED`,
 * and deletes the others (DeleteFunction with a qualifier). It runs on a schedule and, by default,
 * after each deployment. Its role may only list and delete versions of the functions added.
 *
 * @example
 * import { Duration } from 'aws-cdk-lib';
 * import * as lambda from 'aws-cdk-lib/aws-lambda';
 * import { VersionPruner } from 'cdk-production-patterns';
 *
 * const api = new lambda.Function(this, 'Api', {
 *   runtime: lambda.Runtime.NODEJS_24_X,
 *   handler: 'index.handler',
 *   code: lambda.Code.fromAsset('dist/api'),
 *   timeout: Duration.seconds(10),
 * });
 * const pruner = VersionPruner.of(this, { versionsToKeep: 3, alarmTopic });
 * pruner.addFunction(api, { version: api.currentVersion });
 */
export class VersionPruner extends Construct {
  /**
   * The stack's pruner, created on the first call. Props are only given on the first call (or the
   * same props again); a later call with other props is an error.
   * @param scope any construct of the stack
   * @param props the pruner's props (first call only)
   */
  public static of(scope: IConstruct, props?: VersionPrunerProps): VersionPruner {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild(VersionPruner.ID) as VersionPruner | undefined;
    if (!existing) return new VersionPruner(stack, VersionPruner.ID, props ?? {});
    if (props && !sameProps(existing.props, props)) {
      throwPropError(scope, 'props', `the version pruner of stack ${stack.node.path} was already created with other props: `
        + 'give its props on the first VersionPruner.of() call only (later calls take none)');
    }
    return existing;
  }

  /**
   * The stack's pruner if one was created, without creating it.
   * @param scope any construct of the stack
   * @returns the pruner, or undefined
   */
  public static find(scope: IConstruct): VersionPruner | undefined {
    return Stack.of(scope).node.tryFindChild(VersionPruner.ID) as VersionPruner | undefined;
  }

  private static readonly ID = 'CdkProductionPatternsVersionPruner';

  /** The handler that lists and deletes versions. */
  public readonly handler: lambda.IFunction;
  /** The rule of the scheduled run (its input is the target list). */
  public readonly scheduleRule: events.Rule;
  /** The after-deploy custom resource (`runAfterDeploy`). */
  public readonly afterDeployRun?: CustomResource;
  /** Scheduled runs the handler could not process after its retries. */
  public readonly deadLetterQueue: sqs.IQueue;
  /** Fires when a target could not be pruned (missing function, API errors) or a run failed. */
  public readonly failuresAlarm: cloudwatch.Alarm;
  /** Fires when the handler errored (malformed events, configuration errors, an unexpected failure). */
  public readonly handlerErrorsAlarm: cloudwatch.Alarm;
  /** Fires when scheduled runs landed in the dead-letter queue. */
  public readonly deadLettersAlarm: cloudwatch.Alarm;
  /** One alarm per capacity provider: fewer than `headroomAlarmThreshold` versions left under its cap. */
  public readonly headroomAlarms: cloudwatch.Alarm[] = [];
  /** Every alarm of the pruner (the headroom alarms are added as capacity providers are). */
  public readonly alarms: cloudwatch.IAlarm[];
  /** Numbered versions kept per function unless a target says otherwise. */
  public readonly versionsToKeep: number;
  /** Whether the pruner only plans. */
  public readonly dryRun: boolean;

  private readonly props: VersionPrunerProps;
  private readonly targets: Target[] = [];
  private readonly headroomThreshold: number;
  private readonly alarm: AlarmMaker;

  private constructor(scope: Construct, id: string, props: VersionPrunerProps) {
    super(scope, id);
    this.props = props;
    validateRange(this, 'versionsToKeep', props.versionsToKeep, VERSIONS_TO_KEEP_MIN, VERSIONS_TO_KEEP_MAX, { integer: true });
    validateRange(this, 'headroomAlarmThreshold', props.headroomAlarmThreshold, 1, CAPACITY_PROVIDER_VERSION_CAP - 1, { integer: true });
    const network = handlerNetwork(this, props);
    this.versionsToKeep = props.versionsToKeep ?? 5;
    this.dryRun = props.dryRun ?? false;
    this.headroomThreshold = props.headroomAlarmThreshold ?? 20;

    const pruner = bundledFunction(this, 'Handler', VersionPrunerFunction, {
      description: 'cdk-production-patterns: deletes old Lambda function versions (keeps the newest and the aliased ones)',
      memorySize: 256,
      // A run stops deleting 30 seconds before this and answers; what is left waits for the next run.
      // No reserved concurrency: a schedule and a deployment running together are harmless (a version
      // already gone counts as deleted, a conflict is skipped), and reserving 1 fails in accounts whose
      // concurrency quota is 10.
      timeout: Duration.minutes(5),
      environment: {
        [PRUNER_ENV.versionsToKeep]: String(this.versionsToKeep),
        [PRUNER_ENV.dryRun]: String(this.dryRun),
      },
    }, {
      logGroupId: 'HandlerLogs',
      encryptionKey: props.encryptionKey,
      network,
      asyncFailures: { queueId: 'DeadLetters', owner: 'the version pruner and its schedule' },
    });
    const fn = pruner.fn;
    this.handler = fn;
    this.deadLetterQueue = pruner.deadLetterQueue!;
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Only the X-Ray actions (PutTraceSegments, PutTelemetryRecords) are on *: they support no resource-level permissions. '
        + 'The Lambda actions are scoped to the functions added to the pruner.',
    });

    const targetList = Lazy.any({ produce: () => this.renderTargets() });
    this.scheduleRule = new events.Rule(this, 'Schedule', {
      schedule: props.schedule ?? events.Schedule.rate(Duration.days(1)),
      description: `Scheduled run of the Lambda version pruner (${this.node.path})`,
      targets: [new targets.LambdaFunction(fn, {
        event: events.RuleTargetInput.fromObject({ source: PRUNE_PAYLOAD_SOURCE, targets: targetList }),
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 2,
        maxEventAge: Duration.hours(1),
      })],
    });

    if (props.runAfterDeploy ?? true) {
      this.afterDeployRun = new CustomResource(this, 'AfterDeployRun', {
        serviceToken: fn.functionArn,
        resourceType: PRUNER_RESOURCE_TYPE,
        // The handler answers before its 5-minute timeout; CloudFormation need not wait the default hour.
        serviceTimeout: Duration.minutes(10),
        properties: {
          [PRUNER_RESOURCE_PROPS.targets]: targetList,
          [PRUNER_RESOURCE_PROPS.versions]: Lazy.list({
            produce: () => this.targets.flatMap((t) => t.versions.map((v) => `${t.fn.functionArn}:${v.version}`)),
          }, { omitEmpty: true }),
          [PRUNER_RESOURCE_PROPS.versionsToKeep]: this.versionsToKeep,
          [PRUNER_RESOURCE_PROPS.dryRun]: this.dryRun,
        },
      });
      // The role's policy exists before CloudFormation invokes the handler.
      this.afterDeployRun.node.addDependency(fn.role!);
    }

    this.alarm = alarmMaker(this, props.alarmTopic);
    this.failuresAlarm = this.alarm('FailuresAlarm', this.metricFailures(),
      'The Lambda version pruner could not prune a function (it does not exist, or a Lambda call failed): versions may pile up towards '
      + 'the 100-version cap of a capacity provider. Its log has an ERROR line per failed function.');
    this.handlerErrorsAlarm = this.alarm('HandlerErrorsAlarm', fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      'The Lambda version pruner handler errored (a malformed event or configuration).');
    this.deadLettersAlarm = this.alarm('DeadLettersAlarm',
      this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      'Scheduled runs of the Lambda version pruner could not be processed after retries.');
    this.alarms = [this.failuresAlarm, this.handlerErrorsAlarm, this.deadLettersAlarm];

    this.node.addValidation({ validate: () => this.validateTargets() });
  }

  /**
   * Prunes a function's versions. Its role may then list its versions and aliases (`<arn>`) and delete its
   * versions (`<arn>:*`, never the function itself), nothing else. Adding a function twice merges the options (the
   * versions) or, when they disagree, is an error.
   * @param fn the function (any `IFunction`: of this stack, another, or imported)
   * @param options how it is pruned
   */
  public addFunction(fn: lambda.IFunction, options: PruneTargetOptions = {}): void {
    validateRange(this, 'versionsToKeep', options.versionsToKeep, VERSIONS_TO_KEEP_MIN, VERSIONS_TO_KEEP_MAX, { integer: true });
    const existing = this.targets.find((t) => t.fn === fn);
    if (existing) {
      if (options.versionsToKeep !== undefined && existing.versionsToKeep !== undefined && options.versionsToKeep !== existing.versionsToKeep) {
        throwPropError(this, 'versionsToKeep', `${fn.node.path} was already added with versionsToKeep ${existing.versionsToKeep}, now ${options.versionsToKeep}`);
      }
      if (options.capacityProvider && existing.capacityProvider && options.capacityProvider !== existing.capacityProvider) {
        throwPropError(this, 'capacityProvider', `${fn.node.path} was already added with capacity provider ${existing.capacityProvider.node.path}`);
      }
      existing.versionsToKeep ??= options.versionsToKeep;
      existing.capacityProvider ??= options.capacityProvider;
      if (options.version) existing.versions.push(options.version);
    } else {
      this.targets.push({
        fn, versionsToKeep: options.versionsToKeep, capacityProvider: options.capacityProvider, versions: options.version ? [options.version] : [],
      });
      this.handler.addToRolePolicy(new iam.PolicyStatement({
        actions: ['lambda:ListVersionsByFunction', 'lambda:ListAliases'],
        resources: [fn.functionArn],
      }));
      // Versions only: DeleteFunction on the unqualified ARN would delete the function itself.
      this.handler.addToRolePolicy(new iam.PolicyStatement({
        actions: ['lambda:DeleteFunction'],
        resources: [`${fn.functionArn}:*`],
      }));
      Validations.of(this.handler).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagArn(this, `${fn.functionArn}:*`)}]`,
        reason: `DeleteFunction with a qualifier acts on the version ARNs of ${fn.node.path} (<arn>:<version>); the pruner deletes numbered versions only.`,
      });
    }
    if (options.version) this.afterDeployRun?.node.addDependency(options.version);
    if (options.capacityProvider) this.headroomAlarmFor(options.capacityProvider);
  }

  /**
   * Versions deleted (Sum over five minutes by default).
   * @param props options of the metric (period, statistic...)
   */
  public metricVersionsDeleted(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.prunerMetric(PRUNER_METRIC.versionsDeleted, {}, props);
  }

  /**
   * Numbered versions kept (the newest N and the aliased ones; Sum over five minutes by default).
   * @param props options of the metric (period, statistic...)
   */
  public metricVersionsKept(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.prunerMetric(PRUNER_METRIC.versionsKept, {}, props);
  }

  /**
   * Versions a dry run would have deleted (Sum over five minutes by default).
   * @param props options of the metric (period, statistic...)
   */
  public metricVersionsPlannedForDeletion(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.prunerMetric(PRUNER_METRIC.versionsPlanned, {}, props);
  }

  /**
   * Deletes skipped on ResourceConflictException (an alias moved to the version meanwhile).
   * @param props options of the metric (period, statistic...)
   */
  public metricDeleteConflicts(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.prunerMetric(PRUNER_METRIC.deleteConflicts, {}, props);
  }

  /**
   * Functions that could not be pruned, and failed runs (Sum over five minutes by default).
   * @param props options of the metric (period, statistic...)
   */
  public metricFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.prunerMetric(PRUNER_METRIC.failures, {}, props);
  }

  /**
   * Versions left under a capacity provider's 100-version cap after the last run (Minimum over six
   * hours by default): 100 minus the numbered versions and `$LATEST.PUBLISHED` of the pruner's
   * functions on that provider. Functions of the provider that are not added to the pruner are not
   * counted.
   * @param capacityProviderName the capacity provider's name (`capacityProvider.capacityProviderName`)
   * @param props options of the metric (period, statistic...)
   */
  public metricVersionHeadroom(capacityProviderName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.prunerMetric(PRUNER_METRIC.versionHeadroom, { [CAPACITY_PROVIDER_DIMENSION]: capacityProviderName },
      { statistic: 'Minimum', period: Duration.hours(6), ...props });
  }

  private prunerMetric(metricName: string, dimensions: Record<string, string>, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: PRUNER_METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: PRUNER_SERVICE_NAME, ...dimensions },
      statistic: 'Sum',
      period: Duration.minutes(5),
      ...props,
    });
  }

  private headroomAlarmFor(provider: lambda.ICapacityProvider): void {
    const id = `HeadroomAlarm${Names.nodeUniqueId(provider.node)}`;
    if (this.node.tryFindChild(id)) return;
    const alarm = this.alarm(id, this.metricVersionHeadroom(provider.capacityProviderName),
      `Fewer than ${this.headroomThreshold} function versions are left under the 100-version cap of capacity provider `
      + `${provider.node.path} (it cannot be raised): publishing more fails with FunctionVersionsPerCapacityProviderLimitExceeded. `
      + 'Lower versionsToKeep, remove aliases of old versions, or move functions to another capacity provider.', {
        threshold: this.headroomThreshold,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        // The pruner reports after each run (daily and at deployments): the alarm keeps its state in between.
        treatMissingData: cloudwatch.TreatMissingData.IGNORE,
      });
    this.headroomAlarms.push(alarm);
    this.alarms.push(alarm);
    // The headroom counts every function version on the provider, the pruner's functions or not.
    this.handler.addToRolePolicy(new iam.PolicyStatement({
      actions: ['lambda:ListFunctionVersionsByCapacityProvider'],
      resources: [provider.capacityProviderArn],
    }));
  }

  private renderTargets(): PruneTarget[] {
    return this.targets.map((t) => ({
      functionName: t.fn.functionArn,
      ...(t.versionsToKeep !== undefined ? { versionsToKeep: t.versionsToKeep } : {}),
      ...(t.capacityProvider ? { capacityProvider: t.capacityProvider.capacityProviderName } : {}),
    }));
  }

  private validateTargets(): string[] {
    const errors: string[] = [];
    if (this.targets.length === 0) {
      errors.push(`${this.node.path}: the version pruner has no function to prune: call addFunction(), or do not create it`);
      return errors;
    }
    // The schedule's input carries the target list: EventBridge takes at most 8192 characters.
    const estimate = JSON.stringify({
      source: PRUNE_PAYLOAD_SOURCE,
      targets: this.targets.map((t) => ({
        functionName: estimateLength(t.fn.functionArn),
        versionsToKeep: t.versionsToKeep,
        capacityProvider: t.capacityProvider ? estimateLength(t.capacityProvider.capacityProviderName) : undefined,
      })),
    }).length;
    if (estimate > MAX_SCHEDULE_INPUT) {
      errors.push(`${this.node.path}: the version pruner's ${this.targets.length} functions need about ${estimate} characters of schedule input `
        + `(an ARN not known at synth counts as ${TOKEN_LENGTH_ESTIMATE}); EventBridge allows ${MAX_SCHEDULE_INPUT}: `
        + 'prune some of the functions with the pruner of another stack');
    }
    const perProvider = new Map<lambda.ICapacityProvider, number>();
    for (const t of this.targets) {
      if (!t.capacityProvider) continue;
      const keep = t.versionsToKeep ?? this.versionsToKeep;
      // the kept versions and $LATEST.PUBLISHED
      perProvider.set(t.capacityProvider, (perProvider.get(t.capacityProvider) ?? 0) + keep + 1);
    }
    for (const [provider, kept] of perProvider) {
      if (kept > CAPACITY_PROVIDER_VERSION_CAP) {
        errors.push(`${this.node.path}: the functions on capacity provider ${provider.node.path} keep ${kept} versions in all (with $LATEST.PUBLISHED), `
          + `more than its cap of ${CAPACITY_PROVIDER_VERSION_CAP} (not increasable): lower versionsToKeep`);
      } else if (kept > CAPACITY_PROVIDER_VERSION_CAP - this.headroomThreshold) {
        Annotations.of(this).addWarningV2(ManagedInstanceWarnings.PRUNER_LOW_HEADROOM,
          `The functions on capacity provider ${provider.node.path} keep ${kept} versions in all (with $LATEST.PUBLISHED), leaving less than `
          + `headroomAlarmThreshold (${this.headroomThreshold}) under its cap of ${CAPACITY_PROVIDER_VERSION_CAP}: its headroom alarm will fire. `
          + 'Lower versionsToKeep.');
      }
    }
    return errors;
  }
}

function estimateLength(value: string): string {
  return Token.isUnresolved(value) ? 'x'.repeat(TOKEN_LENGTH_ESTIMATE) : value;
}

/** Whether two prop sets of the singleton are the same (objects by identity, schedules by expression). */
function sameProps(a: VersionPrunerProps, b: VersionPrunerProps): boolean {
  const scalar: Array<keyof VersionPrunerProps> = [
    'versionsToKeep', 'runAfterDeploy', 'dryRun', 'headroomAlarmThreshold', 'alarmTopic', 'encryptionKey', 'handlerVpc', 'handlerVpcSubnets',
  ];
  if (scalar.some((k) => a[k] !== b[k])) return false;
  if (a.schedule?.expressionString !== b.schedule?.expressionString) return false;
  const groups = (p: VersionPrunerProps) => (p.handlerSecurityGroups ?? []);
  return groups(a).length === groups(b).length && groups(a).every((g, i) => g === groups(b)[i]);
}

