import { Annotations, Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { vCpuPerEnvironment } from './capacity-plan';
import { IManagedCapacityPool } from './managed-capacity-pool';
import { defaultMaxConcurrency, runtimeSupport } from './runtime-support';
import { VersionPruner } from './version-pruner';
import { createWarmer, WARMER_EVENT_SOURCE, WarmerOptions } from './warmer';
import { ManagedInstanceWarnings } from './warnings';
import { alarmMaker } from '../core/alarms';
import { throwPropError, validateRange } from '../core/errors';
import { allowLogsToUseKey } from '../core/functions';
import { acknowledgeBasicExecutionRole } from '../core/handlers';

/** Props of a ManagedInstanceLambda: a function's props, plus where and how it runs on Managed Instances. */
export interface ManagedInstanceLambdaProps extends lambda.FunctionProps {
  /**
   * The pool the function runs on (a `ManagedCapacityPool`, or one imported with
   * `ManagedCapacityPool.fromCapacityProviderArn`). Exactly one of `pool` and `capacityProvider`.
   * @default - none: give `capacityProvider`
   */
  readonly pool?: IManagedCapacityPool;
  /**
   * A capacity provider made elsewhere (aws-cdk-lib's `lambda.CapacityProvider` or an import), when
   * no pool is given. Its architecture is taken to be `architecture` (arm64 unless told), and no
   * capacity check runs.
   * @default - none: give `pool`
   */
  readonly capacityProvider?: lambda.ICapacityProvider;
  /**
   * Memory of an execution environment per vCPU, in GiB: 2 (compute optimized) to 8 (memory
   * optimized). With `memorySize` it sets the vCPUs of one environment (memorySize / 1024 / this).
   * @default 2
   */
  readonly memoryGiBPerVCpu?: number;
  /**
   * Concurrent requests one execution environment handles (1 to 1,600). The runtime must be safe
   * for it: Node.js runs them on one event loop, Python in separate processes, Java and .NET on threads.
   * Lower it (the platform article uses 4) to share a pool fairly between functions.
   * @default - the runtime family's documented default, written into the template: 64 per vCPU for
   * Node.js, 16 for Python, 32 for Java and .NET (AWS Lambda developer guide, the Managed Instances
   * runtime pages); for the OS-only runtime the service's default applies. aws-cdk-lib's doc says 10,
   * which the runtime pages contradict.
   */
  readonly maxConcurrencyPerEnvironment?: number;
  /**
   * Execution environments the published version keeps running (0 to 15,000). This, not a warmer,
   * is the cold-start lever on Managed Instances: environments are not started by requests, and the
   * pool scales on CPU and concurrency, so a burst above what the running environments absorb
   * (traffic doubling within five minutes) is throttled while the pool scales. Three spread the
   * function over three Availability Zones.
   * @default 3
   */
  readonly minExecutionEnvironments?: number;
  /**
   * The most execution environments the published version runs (1 to 15,000, at least the minimum).
   * Bounded by default so that one function cannot take the whole pool (the capacity check sums
   * every attached function's maximum against the pool's `maxVCpu`).
   * @default - 10, or `minExecutionEnvironments` when that is higher
   */
  readonly maxExecutionEnvironments?: number;
  /**
   * Execution environments kept for `$LATEST.PUBLISHED`, the version unqualified invocations reach.
   * This construct publishes a numbered version behind `aliasName` on every change: invoke the alias.
   * Zero keeps `$LATEST.PUBLISHED` from running a second set of environments next to the alias's
   * version; it may run at most max(this, 1) environments, which the capacity check counts.
   * @default 0
   */
  readonly latestPublishedMinExecutionEnvironments?: number;
  /**
   * The name of the alias that points at the version published for the current code and configuration.
   * @default 'live'
   */
  readonly aliasName?: string;
  /**
   * Delete old versions of this function with the stack's `VersionPruner` (a capacity provider holds
   * at most 100 function versions, and every deploy publishes one).
   * @default true
   */
  readonly pruneVersions?: boolean;
  /**
   * The version pruner that deletes this function's old versions. To configure the stack's pruner
   * (alarm topic, key, network, schedule), create it with `VersionPruner.of(stack, props)` before
   * the first ManagedInstanceLambda of the stack.
   * @default - the stack's pruner; when the stack has none yet, it is created with this function's `alarmTopic` and `encryptionKey`
   */
  readonly versionPruner?: VersionPruner;
  /**
   * Numbered versions kept by the pruner (besides every version an alias points to).
   * @default - the pruner's (5)
   */
  readonly versionsToKeep?: number;
  /**
   * Invoke the alias on a schedule with a marker payload (`WARMER_EVENT_SOURCE`). Rarely useful on
   * Managed Instances; read `WarmerOptions` first.
   * @default - no warmer
   */
  readonly warmer?: WarmerOptions;
  /**
   * The customer-managed key of what this construct creates: the function's log group and
   * environment variables, the warmer's schedule and dead-letter queue.
   * @default - AWS owned or managed keys
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Error rate of the alias, in percent of its invocations over five minutes, that alarms.
   * @default 5
   */
  readonly errorRateAlarmPercent?: number;
  /**
   * Where the alarms notify.
   * @default - alarms without actions
   */
  readonly alarmTopic?: sns.ITopic;
}

/**
 * A Lambda function on Lambda Managed Instances, run as an operable unit: attached to a capacity
 * provider with validated memory per vCPU and concurrency, a version published on every code or
 * configuration change with its minimum and maximum execution environments, an alias pointing at
 * it, old versions pruned (a provider holds at most 100), alarms on errors and throttles, and an
 * optional warmer.
 *
 * Runtimes: Node.js 22+, Python 3.13+, Java 21+, .NET 8+ or the OS-only provided.al2023; the
 * architecture must match the pool's (arm64 by default). The function takes no VPC props: it runs in
 * the pool's subnets, behind the pool's security groups.
 *
 * @example
 * import * as lambda from 'aws-cdk-lib/aws-lambda';
 * import { ManagedCapacityPool, ManagedInstanceLambda } from 'cdk-production-patterns';
 *
 * declare const pool: ManagedCapacityPool;
 * const router = new ManagedInstanceLambda(this, 'Router', {
 *   pool,
 *   runtime: lambda.Runtime.NODEJS_24_X,
 *   handler: 'index.handler',
 *   code: lambda.Code.fromInline('exports.handler = async () => ({ ok: true });'),
 *   memoryGiBPerVCpu: 2,
 *   maxConcurrencyPerEnvironment: 4,
 *   minExecutionEnvironments: 3,
 *   maxExecutionEnvironments: 20,
 *   aliasName: 'live',
 * });
 */
export class ManagedInstanceLambda extends Construct implements iam.IGrantable {
  /**
   * The `source` of the warmer's payload: a handler that sees it returns at once. The payload is
   * `{ "source": "cdk-production-patterns.warmer", "warmer": true, "alias": "<alias>", "scheduledAt": "<time>" }`.
   */
  public static readonly WARMER_EVENT_SOURCE = WARMER_EVENT_SOURCE;

  /** The function (its `$LATEST` configuration). Invoke `alias`, not the function. */
  public readonly lambdaFunction: lambda.Function;
  /** The version published for the current code and configuration. */
  public readonly version: lambda.Version;
  /** The alias pointing at `version`: what callers and event sources invoke. */
  public readonly alias: lambda.Alias;
  /** The capacity provider the function runs on. */
  public readonly capacityProvider: lambda.ICapacityProvider;
  /** vCPUs of one execution environment. */
  public readonly vCpuPerEnvironment: number;
  /**
   * The concurrency per execution environment written into the template.
   * @default - undefined when the service's default applies (OS-only runtime without the prop)
   */
  public readonly maxConcurrencyPerEnvironment?: number;
  /** The function's log group (the one given as `logGroup`, or a new one: one year, retained, with `encryptionKey`). */
  public readonly logGroup: logs.ILogGroupRef;
  /** Alarm: the alias's error rate at or above the threshold over five minutes. */
  public readonly errorRateAlarm: cloudwatch.IAlarm;
  /** Alarm: the alias was throttled (the pool at its ceiling, or a burst faster than it scales). */
  public readonly throttleAlarm: cloudwatch.IAlarm;
  /**
   * The warmer's schedule.
   * @default - undefined without `warmer`
   */
  public readonly warmerSchedule?: scheduler.ISchedule;
  /**
   * The warmer's dead-letter queue.
   * @default - undefined without `warmer`
   */
  public readonly warmerDeadLetterQueue?: sqs.IQueue;
  public readonly grantPrincipal: iam.IPrincipal;

  constructor(scope: Construct, id: string, props: ManagedInstanceLambdaProps) {
    super(scope, id);
    if ((props.pool === undefined) === (props.capacityProvider === undefined)) {
      throwPropError(this, props.pool ? 'capacityProvider' : 'pool', 'give exactly one of pool and capacityProvider');
    }
    for (const prop of ['vpc', 'vpcSubnets', 'securityGroups', 'allowPublicSubnet'] as const) {
      if (props[prop] !== undefined) {
        throwPropError(this, prop, 'is not taken: a Managed Instances function runs in its capacity provider\'s subnets and security groups '
          + '(ManagedCapacityPool vpc, vpcSubnets, securityGroups)');
      }
    }
    const poolArchitecture = props.pool?.architecture ?? props.architecture ?? lambda.Architecture.ARM_64;
    const architecture = props.architecture ?? poolArchitecture;
    if (architecture.name !== poolArchitecture.name) {
      throwPropError(this, 'architecture', `is ${architecture.name} but the pool runs ${poolArchitecture.name} instances: remove it or match the pool`);
    }
    const support = runtimeSupport(props.runtime.name);
    if (!support.supported) {
      throwPropError(this, 'runtime', `${props.runtime.name} does not run on Lambda Managed Instances: use ${support.requirement}`);
    }

    const ratio = props.memoryGiBPerVCpu ?? 2;
    validateRange(this, 'memoryGiBPerVCpu', ratio, 2, 8);
    const memorySize = props.memorySize ?? 2048;
    validateRange(this, 'memorySize', memorySize, 2048, 32768, { integer: true });
    this.vCpuPerEnvironment = vCpuPerEnvironment(memorySize, ratio);
    if (!Token.isUnresolved(memorySize) && this.vCpuPerEnvironment < 1) {
      throwPropError(this, 'memorySize', `${memorySize} MiB at ${ratio} GiB per vCPU is less than one vCPU: `
        + `give at least ${Math.ceil(ratio * 1024)} MiB or lower memoryGiBPerVCpu`);
    }
    if (!Number.isInteger(this.vCpuPerEnvironment)) {
      Annotations.of(this).addWarningV2(ManagedInstanceWarnings.FRACTIONAL_VCPU, `memorySize ${memorySize} MiB at ${ratio} GiB per vCPU `
        + `gives ${this.vCpuPerEnvironment.toFixed(2)} vCPUs per execution environment: choose a multiple of ${ratio * 1024} MiB`);
    }
    this.maxConcurrencyPerEnvironment = props.maxConcurrencyPerEnvironment ?? defaultMaxConcurrency(props.runtime.name, this.vCpuPerEnvironment);
    validateRange(this, 'maxConcurrencyPerEnvironment', this.maxConcurrencyPerEnvironment, 1, 1600, { integer: true });
    if (this.maxConcurrencyPerEnvironment === undefined) {
      Annotations.of(this).addWarningV2(ManagedInstanceWarnings.CONCURRENCY_DEFAULT, `${props.runtime.name} has no documented default `
        + 'concurrency per execution environment: the service\'s default applies. Set maxConcurrencyPerEnvironment.');
    }
    const minEnvs = props.minExecutionEnvironments ?? 3;
    const maxEnvs = props.maxExecutionEnvironments ?? Math.max(10, minEnvs);
    validateRange(this, 'minExecutionEnvironments', minEnvs, 0, 15000, { integer: true });
    validateRange(this, 'maxExecutionEnvironments', maxEnvs, 1, 15000, { integer: true });
    if (!Token.isUnresolved(minEnvs) && !Token.isUnresolved(maxEnvs) && minEnvs > maxEnvs) {
      throwPropError(this, 'maxExecutionEnvironments', `must be at least minExecutionEnvironments (${minEnvs}), got ${maxEnvs}`);
    }
    const latestMin = props.latestPublishedMinExecutionEnvironments ?? 0;
    validateRange(this, 'latestPublishedMinExecutionEnvironments', latestMin, 0, 15000, { integer: true });
    const errorRate = props.errorRateAlarmPercent ?? 5;
    validateRange(this, 'errorRateAlarmPercent', errorRate, 0.1, 100);
    const aliasName = props.aliasName ?? 'live';
    if (!Token.isUnresolved(aliasName) && (!/^(?!^[0-9]+$)([a-zA-Z0-9-_]+)$/.test(aliasName) || aliasName.length > 128)) {
      throwPropError(this, 'aliasName', `must be 1..128 letters, digits, - or _, not only digits, got '${aliasName}'`);
    }

    const key = props.encryptionKey;
    if (key) allowLogsToUseKey(this, key);
    this.logGroup = props.logGroup ?? new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
      encryptionKey: key,
    });

    const fn = new lambda.Function(this, 'Function', {
      tracing: lambda.Tracing.ACTIVE,
      loggingFormat: lambda.LoggingFormat.JSON,
      environmentEncryption: key,
      ...props,
      architecture,
      memorySize,
      logGroup: this.logGroup,
      currentVersionOptions: {
        ...props.currentVersionOptions,
        // Old versions are deleted by the pruner, not by CloudFormation (which would delete the
        // version an alias still points at during a rollback).
        removalPolicy: RemovalPolicy.RETAIN,
        minExecutionEnvironments: minEnvs,
        maxExecutionEnvironments: maxEnvs,
      },
    });
    this.lambdaFunction = fn;
    if (!props.role) {
      acknowledgeBasicExecutionRole(fn);
      if ((props.tracing ?? lambda.Tracing.ACTIVE) === lambda.Tracing.ACTIVE) {
        Validations.of(fn).acknowledge({
          id: 'AwsSolutions-IAM5[Resource::*]',
          reason: 'Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions.',
        });
      }
    }
    this.grantPrincipal = fn.grantPrincipal;
    this.capacityProvider = props.pool?.capacityProvider ?? props.capacityProvider!;

    const cfn = fn.node.defaultChild as lambda.CfnFunction;
    cfn.capacityProviderConfig = {
      lambdaManagedInstancesCapacityProviderConfig: {
        capacityProviderArn: this.capacityProvider.capacityProviderArn,
        executionEnvironmentMemoryGiBPerVCpu: ratio,
        perExecutionEnvironmentMaxConcurrency: this.maxConcurrencyPerEnvironment,
      },
    };
    cfn.functionScalingConfig = { minExecutionEnvironments: latestMin, maxExecutionEnvironments: Math.max(latestMin, 1) };
    Annotations.of(fn).addInfoV2('aws-lambda:Function.CapacityProviderConfiguration',
      'Capacity provider configuration cannot be removed from a function, only modified.');

    this.version = fn.currentVersion;
    this.alias = new lambda.Alias(this, 'Alias', { aliasName, version: this.version });

    // The published version behind the alias plus $LATEST.PUBLISHED (at most max(its minimum, 1) environments).
    const latestMax = Math.max(latestMin, 1);
    props.pool?.addFootprint({
      owner: this.node.path,
      vCpuPerEnvironment: this.vCpuPerEnvironment,
      minExecutionEnvironments: minEnvs + latestMin,
      maxExecutionEnvironments: maxEnvs + latestMax,
    });

    if (props.pruneVersions ?? true) {
      // The stack's pruner; the first function that needs one creates it with its own alarm topic and key.
      const pruner = props.versionPruner ?? VersionPruner.find(this)
        ?? VersionPruner.of(this, { alarmTopic: props.alarmTopic, encryptionKey: props.encryptionKey });
      pruner.addFunction(fn, {
        versionsToKeep: props.versionsToKeep,
        capacityProvider: this.capacityProvider,
        version: this.version,
      });
    } else if (props.versionsToKeep !== undefined) {
      throwPropError(this, 'versionsToKeep', 'is given but pruneVersions is false: remove one of them');
    } else {
      Annotations.of(this).addWarningV2(ManagedInstanceWarnings.VERSIONS_NOT_PRUNED, 'pruneVersions is false: every deploy publishes a version '
        + 'that CloudFormation retains, and a capacity provider holds at most 100 function versions (publishing then fails). '
        + 'Prune them yourself (VersionPruner.of(stack).addFunction(...) elsewhere, or another tool).');
    }

    if (props.warmer) {
      Annotations.of(this).addWarningV2(ManagedInstanceWarnings.WARMER, 'warmer: on Lambda Managed Instances requests do not start '
        + 'execution environments; minExecutionEnvironments keeps them running. The warmer only keeps code paths warm inside them.');
      const warmer = createWarmer(this, this.alias, props.warmer, key);
      this.warmerSchedule = warmer.schedule;
      this.warmerDeadLetterQueue = warmer.deadLetterQueue;
    }

    const alarm = alarmMaker(this, props.alarmTopic);
    const errorRateExpr = new cloudwatch.MathExpression({
      expression: 'IF(invocations > 0, 100 * errors / invocations, 0)',
      usingMetrics: { errors: this.metricErrors(), invocations: this.metricInvocations() },
      period: Duration.minutes(5),
      label: 'Error rate (%)',
    });
    this.errorRateAlarm = alarm('ErrorRateAlarm', errorRateExpr, `${errorRate}% or more of the invocations of ${this.node.path} `
      + `(alias ${aliasName}) failed over five minutes: read the function's log group.`, { threshold: errorRate });
    this.throttleAlarm = alarm('ThrottleAlarm', this.metricThrottles(), `Invocations of ${this.node.path} (alias ${aliasName}) were throttled: `
      + 'the execution environments were saturated (maxConcurrencyPerEnvironment x maxExecutionEnvironments) or the pool is at its maxVCpu '
      + 'or scaling after a burst. Raise maxExecutionEnvironments, minExecutionEnvironments or the pool\'s maxVCpu.');
  }

  /**
   * Permits the grantee to invoke the alias (the published version), not the unpublished function.
   *
   * @param grantee who may invoke
   */
  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return this.alias.grantInvoke(grantee);
  }

  /**
   * Invocations of the alias.
   *
   * @param props metric options
   * @default - sum over 5 minutes
   */
  public metricInvocations(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.alias.metricInvocations({ period: Duration.minutes(5), ...props });
  }

  /**
   * Failed invocations of the alias.
   *
   * @param props metric options
   * @default - sum over 5 minutes
   */
  public metricErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.alias.metricErrors({ period: Duration.minutes(5), ...props });
  }

  /**
   * Throttled invocations of the alias.
   *
   * @param props metric options
   * @default - sum over 5 minutes
   */
  public metricThrottles(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.alias.metricThrottles({ period: Duration.minutes(5), ...props });
  }

  /**
   * Duration of the alias's invocations.
   *
   * @param props metric options
   * @default - p99 over 5 minutes
   */
  public metricDuration(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.alias.metricDuration({ period: Duration.minutes(5), statistic: 'p99', ...props });
  }
}
