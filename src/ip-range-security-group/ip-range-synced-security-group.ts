import { CustomResource, Duration, Lazy, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { AMAZON_IP_SPACE_CHANGED_TOPIC_ARN, IpRangeSource } from './ip-range-source';
import { alarmMaker } from '../core/alarms';
import { checkFactoryMade, throwPropError, validateRange } from '../core/errors';
import { bundledFunction } from '../core/functions';
import { HandlerNetworkProps } from '../core/handler-network-props';
import { handlerNetwork } from '../core/network';
import { ENV, METRIC, METRICS_NAMESPACE, SERVICE_NAME } from './runtime/contracts';
import { SyncFunction } from './runtime/sync-function';
import { SyncTarget } from './sync-target';

/** The CloudWatch namespace of the sync handler's metrics (`IpRangeSyncedSecurityGroup.METRICS_NAMESPACE` in every language). */
export const IP_RANGE_SYNC_METRICS_NAMESPACE: string = METRICS_NAMESPACE;

/**
 * Properties of an IpRangeSyncedSecurityGroup.
 *
 * `handlerVpc`, `handlerVpcSubnets` and `handlerSecurityGroups` place the sync function in your VPC
 * (CT.LAMBDA.PR.3); `vpc` stays the VPC of the security groups it fills. In a VPC the function needs
 * egress to the internet to fetch the documents (ip-ranges.amazonaws.com, api.github.com, your
 * `url` sources): subnets with a NAT gateway (or an egress proxy or firewall that lets these hosts
 * through), or sources pointed (`url` option) at a mirror the subnets reach. It also calls EC2 (or
 * WAFv2), DynamoDB, CloudFormation, SQS and X-Ray, which a NAT gateway or VPC endpoints reach.
 */
export interface IpRangeSyncedSecurityGroupProps extends HandlerNetworkProps {
  /** Where the ranges come from. At least one. */
  readonly sources: IpRangeSource[];
  /**
   * Where the ranges go.
   * @default SyncTarget.securityGroups()
   */
  readonly target?: SyncTarget;
  /**
   * The ports to admit from the ranges: one rule per range and port (security groups), one rule per
   * prefix list and port (prefix-list group). Ignored by the WAF target.
   * @default - none; required by the security-group and prefix-list targets
   */
  readonly ports?: ec2.Port[];
  /**
   * The VPC of the security groups.
   * @default - none; required when the target creates security groups
   */
  readonly vpc?: ec2.IVpc;
  /**
   * How often to sync from GitHub and URL sources, and to re-check (and repair drift) for AWS sources
   * between AmazonIpSpaceChanged notifications.
   * @default Schedule.rate(Duration.hours(1))
   */
  readonly schedule?: events.Schedule;
  /**
   * Refuse a sync that would remove more than this percentage of the current rules or entries (the
   * refusal changes nothing and alarms).
   * @default 50
   */
  readonly maxRemovePercent?: number;
  /**
   * Log the planned changes and record them, but change nothing.
   * @default false
   */
  readonly dryRun?: boolean;
  /**
   * Sync once during deployment, so that the rules exist when the stack completes (and revoke the
   * owned rules when the stack is deleted).
   * @default true
   */
  readonly initialSync?: boolean;
  /**
   * Alarm when no sync has succeeded for this long.
   * @default Duration.hours(6)
   */
  readonly stalenessWindow?: Duration;
  /**
   * How long the audit record of each sync is kept (DynamoDB TTL).
   * @default Duration.days(90)
   */
  readonly auditRetention?: Duration;
  /**
   * The table for the sync state and audit trail.
   *
   * Partition key `pk` and sort key `sk` (both strings), TTL attribute `expiresAt`.
   * @default - a new table (on-demand, point-in-time recovery, retained)
   */
  readonly stateTable?: dynamodb.ITable;
  /**
   * Customer-managed key for what the construct creates to hold data: the state table, the
   * handler's dead-letter queue and its log group.
   * @default - AWS managed keys (SSE-SQS for the queue, CloudWatch Logs' own encryption for the log group)
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Run one sync at a time (reserved concurrency 1), so that a notification, the schedule and a
   * deployment never plan against the same rules at once. Accounts whose concurrency quota is the
   * minimum (10) cannot reserve any: set false there.
   * @default true
   */
  readonly serializeSyncs?: boolean;
  /**
   * Topic that every alarm notifies (CT.CLOUDWATCH.PR.1 asks every alarm for an action).
   * @default - alarms are created without actions
   */
  readonly alarmTopic?: sns.ITopic;
}

/**
 * Ingress kept in sync with published IP ranges (AWS ip-ranges.json, GitHub meta, any CIDR list),
 * into sharded security groups, a customer-managed prefix list, or a WAFv2 IP set.
 *
 * The sync merges the ranges into their minimal CIDR cover, checks the target's capacity before
 * touching anything, diffs against the rules it owns (marked in their description), adds before it
 * removes, refuses large removals and empty sets, and records every sync. Triggers: the
 * AmazonIpSpaceChanged SNS topic (AWS sources), a schedule (all sources), and deployment.
 *
 * @example
 * import * as ec2 from 'aws-cdk-lib/aws-ec2';
 * import { IpRangeSource, IpRangeSyncedSecurityGroup, SyncTarget } from 'cdk-production-patterns';
 *
 * const ingress = new IpRangeSyncedSecurityGroup(this, 'RunnerIngress', {
 *   vpc,
 *   sources: [IpRangeSource.awsIpRanges({ services: ['EC2'], regions: ['us-east-1'] })],
 *   ports: [ec2.Port.tcp(443)],
 *   target: SyncTarget.securityGroups({ rulesPerGroup: 60, maxGroups: 4 }),
 * });
 * ingress.attachTo(loadBalancer);
 */
export class IpRangeSyncedSecurityGroup extends Construct implements ec2.IConnectable {
  /** The CloudWatch namespace of the sync handler's metrics (dimensions `service` and `SyncId`). */
  public static readonly METRICS_NAMESPACE: string = IP_RANGE_SYNC_METRICS_NAMESPACE;

  /** The security groups holding the synced rules (security-group target), or referencing the prefix lists. */
  public readonly securityGroups: ec2.ISecurityGroup[];
  /** The customer-managed prefix lists (prefix-list target), one per address family. */
  public readonly prefixLists: ec2.IPrefixList[];
  /** The WAFv2 IP sets (WAF target), one per address family. */
  public readonly ipSets: wafv2.CfnIPSet[];
  /** The sync function. */
  public readonly syncFunction: lambda.IFunction;
  /** The sync state and audit table. */
  public readonly stateTable: dynamodb.ITable;
  /** Receives events the sync could not process (async invocations from SNS, EventBridge, CloudFormation). */
  public readonly deadLetterQueue: sqs.IQueue;
  /** The schedule rule. */
  public readonly scheduleRule: events.IRule;
  /** The alarms: sync failures, handler errors, guard refusals, capacity exceeded, staleness, dead letters. */
  public readonly alarms: cloudwatch.IAlarm[];
  /** A sync failed (bad document, md5 mismatch, API error). */
  public readonly syncFailedAlarm: cloudwatch.IAlarm;
  /** The sync function errored (including configuration errors at cold start). */
  public readonly handlerErrorsAlarm: cloudwatch.IAlarm;
  /** A sync was refused for removing more than `maxRemovePercent` of the rules. */
  public readonly guardRefusalAlarm: cloudwatch.IAlarm;
  /** The merged ranges no longer fit the target; nothing was changed. */
  public readonly capacityExceededAlarm: cloudwatch.IAlarm;
  /** No sync has succeeded within `stalenessWindow`. */
  public readonly staleAlarm: cloudwatch.IAlarm;
  /** Sync events landed in the dead-letter queue. */
  public readonly deadLettersAlarm: cloudwatch.IAlarm;
  /** Connections of the security groups (empty for the WAF target). */
  public readonly connections: ec2.Connections;
  /** The id that marks the rules this construct owns. */
  public readonly syncId: string;

  private readonly metricDimensions: Record<string, string>;

  /**
   * Creates the synced ingress.
   * @param scope the parent construct
   * @param id the construct id
   * @param props the sources, the target and the options
   */
  constructor(scope: Construct, id: string, props: IpRangeSyncedSecurityGroupProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.syncId = this.node.addr;
    this.metricDimensions = { service: SERVICE_NAME, SyncId: this.syncId };

    if (!props.sources || props.sources.length === 0) throwPropError(this, 'sources', 'must contain at least one IpRangeSource');
    props.sources.forEach((s, i) => checkFactoryMade(this, `sources[${i}]`, s, 'IpRangeSource', ['awsIpRanges', 'githubMeta', 'url']));
    if (props.target) checkFactoryMade(this, 'target', props.target, 'SyncTarget', ['securityGroups', 'prefixList', 'wafIpSet']);
    const sources = props.sources.map((s) => s._bind(this));
    const network = handlerNetwork(this, props);
    validateRange(this, 'maxRemovePercent', props.maxRemovePercent, 0, 100);
    const stalenessWindow = props.stalenessWindow ?? Duration.hours(6);
    validateRange(this, 'stalenessWindow (hours)', stalenessWindow.toHours({ integral: false }), 1, 24 * 7);
    const auditDays = (props.auditRetention ?? Duration.days(90)).toDays();
    validateRange(this, 'auditRetention (days)', auditDays, 1, 3650, { integer: true });

    const ipv4 = sources.some((s) => s._handlerConfig.ipv4);
    const ipv6 = sources.some((s) => s._handlerConfig.ipv6);
    const families = [...(ipv4 ? ['ipv4' as const] : []), ...(ipv6 ? ['ipv6' as const] : [])];

    // ---- target resources: the target creates them in this construct (their logical ids are ours)
    const target = (props.target ?? SyncTarget.securityGroups())._bind(this, {
      id,
      vpc: props.vpc,
      ports: props.ports ?? [],
      families,
      sources: sources.map((s) => ({ label: s.label, config: s._handlerConfig })),
    });
    this.securityGroups = [...target.securityGroups];
    this.prefixLists = target.prefixLists.map((pl) => ec2.PrefixList.fromPrefixListId(this, `${pl.node.id}Ref`, pl.attrPrefixListId));
    this.ipSets = target.ipSets;
    this.connections = new ec2.Connections({ securityGroups: this.securityGroups });

    // ---- state, dead letters, function
    this.stateTable = props.stateTable ?? new dynamodb.Table(this, 'State', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expiresAt',
      encryption: props.encryptionKey ? dynamodb.TableEncryption.CUSTOMER_MANAGED : dynamodb.TableEncryption.AWS_MANAGED,
      encryptionKey: props.encryptionKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // The subscription to the AWS topic delivers to the DLQ only in us-east-1 (the topic's region).
    const sameRegion = !Token.isUnresolved(stack.region) && stack.region === 'us-east-1';
    const notified = sources.some((s) => s.notifiedByAmazonIpSpaceChanged);
    const configJson = {
      sources: sources.map((s) => s._handlerConfig),
      target: target.handlerConfig,
    };
    const sync = bundledFunction(this, 'Sync', SyncFunction, {
      description: `cdk-production-patterns: syncs ${sources.map((s) => s.label).join(', ')} into ${target.kind}`,
      memorySize: 512,
      timeout: Duration.minutes(5),
      retryAttempts: 2,
      reservedConcurrentExecutions: (props.serializeSyncs ?? true) ? 1 : undefined,
      environment: {
        [ENV.syncId]: this.syncId,
        [ENV.sources]: stack.toJsonString(configJson.sources),
        [ENV.target]: stack.toJsonString(configJson.target),
        [ENV.stateTable]: this.stateTable.tableName,
        [ENV.dryRun]: String(props.dryRun ?? false),
        [ENV.maxRemovePercent]: String(props.maxRemovePercent ?? 50),
        [ENV.auditTtlDays]: String(auditDays),
        [ENV.logLevel]: 'INFO',
      },
    }, {
      logGroupId: 'Logs',
      encryptionKey: props.encryptionKey,
      network,
      // Async invocations (SNS, EventBridge, CloudFormation) that still fail after retries land in the DLQ,
      // as do the events EventBridge (and SNS, in us-east-1) could not deliver.
      asyncFailures: {
        queueId: 'DeadLetters',
        owner: 'the sync function and its schedule',
        senders: ['events.amazonaws.com', ...(notified && sameRegion ? ['sns.amazonaws.com'] : [])],
      },
    });
    const fn = sync.fn;
    const dlq = sync.deadLetterQueue!;
    this.deadLetterQueue = dlq;
    this.syncFunction = fn;
    for (const st of target.statements) fn.addToRolePolicy(st);
    if (target.describeActions.length) {
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: target.describeActions, resources: ['*'] }));
    }
    fn.addToRolePolicy(new iam.PolicyStatement({
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
      resources: [this.stateTable.tableArn],
    }));
    const tableKey = this.stateTable.encryptionKey ?? props.encryptionKey;
    if (tableKey) {
      fn.addToRolePolicy(new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [tableKey.keyArn],
      }));
    }
    // On Delete, the rules are revoked only when the whole stack is being deleted.
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['cloudformation:DescribeStacks'], resources: [stack.stackId] }));
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ec2:DescribeSecurityGroupRules / ec2:DescribeManagedPrefixLists and the X-Ray actions support no resource-level permissions; every mutating action is scoped to the created groups, prefix lists or IP sets.',
    });

    // ---- triggers
    if (notified) {
      // The topic lives in us-east-1; CDK subscribes across regions (the subscription is created there).
      const topic = sns.Topic.fromTopicArn(this, 'AmazonIpSpaceChanged', AMAZON_IP_SPACE_CHANGED_TOPIC_ARN);
      const subscription = topic.addSubscription(new subs.LambdaSubscription(fn, sameRegion ? { deadLetterQueue: dlq } : {}));
      if (!sameRegion) {
        Validations.of(subscription).acknowledge({
          id: 'Serverless-SNSRedrivePolicy',
          reason: 'The subscription lives in us-east-1 (the AWS topic\'s region) and SNS needs its DLQ in that region; a lost notification is caught up by the scheduled sync, and failed invocations reach the function\'s failure destination.',
        });
      }
    }
    this.scheduleRule = new events.Rule(this, 'Schedule', {
      schedule: props.schedule ?? events.Schedule.rate(Duration.hours(1)),
      description: `Scheduled IP range sync (${this.node.path})`,
      targets: [new targets.LambdaFunction(fn, { deadLetterQueue: dlq, retryAttempts: 2, maxEventAge: Duration.hours(1) })],
    });

    if (props.initialSync ?? true) {
      // The properties carry the whole configuration, and what CloudFormation could reset on the target
      // resources (names, descriptions, sizes, tags): any change to them re-runs the sync in the same
      // deployment, after those resources are updated.
      const targetResources = Lazy.any({
        produce: () => [
          ...target.prefixLists.map((pl) => ({ name: pl.prefixListName, maxEntries: pl.maxEntries, tags: pl.tags.renderTags() })),
          ...this.ipSets.map((set) => ({ name: set.name, description: set.description, tags: set.tags.renderTags() })),
        ],
      });
      const cr = new CustomResource(this, 'InitialSync', {
        serviceToken: fn.functionArn,
        resourceType: 'Custom::IpRangeSync',
        properties: {
          Sources: configJson.sources,
          Target: configJson.target,
          MaxRemovePercent: props.maxRemovePercent ?? 50,
          DryRun: props.dryRun ?? false,
          TargetResources: targetResources,
        },
      });
      // The role's policy must exist before CloudFormation invokes the function.
      cr.node.addDependency(fn.role!);
      for (const child of [...this.securityGroups, ...target.prefixLists, ...this.ipSets, this.stateTable]) cr.node.addDependency(child);
    }

    // ---- alarms
    const alarm = alarmMaker(this, props.alarmTopic);
    const stalePeriod = stalenessWindow.toSeconds() <= 86400 ? stalenessWindow : Duration.days(1);
    this.syncFailedAlarm = alarm('SyncFailedAlarm', this.metricSyncFailures(), 'The IP range sync failed (bad document, md5 mismatch, API error); adds run before removes, so ingress is at least as wide as either version.');
    this.handlerErrorsAlarm = alarm('HandlerErrorsAlarm', this.syncFunction.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }), 'The IP range sync function errored (including configuration errors at cold start).');
    this.guardRefusalAlarm = alarm('GuardRefusalAlarm', this.metricGuardRefusals(), 'The IP range sync refused to remove more than maxRemovePercent of the rules; check the upstream change, then raise maxRemovePercent for one sync if it is genuine.');
    this.capacityExceededAlarm = alarm('CapacityExceededAlarm', this.metricCapacityExceeded(), 'The merged IP ranges no longer fit the target (rules per group x groups, prefix-list max entries, or IP set size); nothing was changed.');
    this.staleAlarm = alarm('StaleAlarm', this.metricSuccessfulSyncs({ period: stalePeriod }), `No IP range sync has succeeded within ${stalenessWindow.toHumanString()}.`, {
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: Math.max(1, Math.ceil(stalenessWindow.toSeconds() / stalePeriod.toSeconds())),
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    this.deadLettersAlarm = alarm('DeadLettersAlarm', dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      'Sync events landed in the dead-letter queue: the sync could not process them after retries.');
    this.alarms = [
      this.syncFailedAlarm, this.handlerErrorsAlarm, this.guardRefusalAlarm, this.capacityExceededAlarm, this.staleAlarm, this.deadLettersAlarm,
    ];

  }

  /**
   * Adds every security group of this construct to a connectable (a load balancer, an instance...).
   * @param connectable the resource the security groups are attached to
   */
  public attachTo(connectable: ec2.IConnectable): void {
    if (this.securityGroups.length === 0) throwPropError(this, 'target', 'the WAF IP set target has no security group to attach; associate the IP sets through a WAF web ACL rule');
    connectable.connections.addSecurityGroup(...this.securityGroups);
  }

  /**
   * Failed syncs (bad documents, md5 mismatches, API errors), including those during deployment.
   * @param props options of the metric (period, statistic...)
   */
  public metricSyncFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.handlerMetric(METRIC.syncFailure, { period: Duration.minutes(5), ...props });
  }

  /**
   * Syncs that completed (applied, already in sync, or a stale notification skipped).
   * @param props options of the metric (period, statistic...)
   */
  public metricSuccessfulSyncs(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.handlerMetric(METRIC.successfulSync, props);
  }

  /**
   * Syncs refused by the change-size guard.
   * @param props options of the metric (period, statistic...)
   */
  public metricGuardRefusals(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.handlerMetric(METRIC.guardRefusal, props);
  }

  /**
   * Syncs refused because the merged ranges do not fit the target.
   * @param props options of the metric (period, statistic...)
   */
  public metricCapacityExceeded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.handlerMetric(METRIC.capacityExceeded, props);
  }

  /**
   * Rules or entries added.
   * @param props options of the metric (period, statistic...)
   */
  public metricAdded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.handlerMetric(METRIC.added, props);
  }

  /**
   * Rules or entries removed.
   * @param props options of the metric (period, statistic...)
   */
  public metricRemoved(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.handlerMetric(METRIC.removed, props);
  }

  /**
   * Mutating EC2/WAF calls made.
   * @param props options of the metric (period, statistic...)
   */
  public metricMutatingCalls(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.handlerMetric(METRIC.mutatingCalls, props);
  }

  /**
   * CIDRs in the merged cover (statistic Maximum is meaningful).
   * @param props options of the metric (period, statistic...)
   */
  public metricDesiredCidrs(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.handlerMetric(METRIC.desiredCidrs, { statistic: 'Maximum', ...props });
  }

  /**
   * Sync duration in milliseconds.
   * @param props options of the metric (period, statistic...)
   */
  public metricSyncDuration(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.handlerMetric(METRIC.syncDuration, { statistic: 'p99', ...props });
  }

  /**
   * Grants read access to the sync state and audit trail.
   * @param grantee the principal
   */
  public grantReadAudit(grantee: iam.IGrantable): iam.Grant {
    return this.stateTable.grantReadData(grantee);
  }

  private handlerMetric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: IP_RANGE_SYNC_METRICS_NAMESPACE,
      metricName,
      dimensionsMap: this.metricDimensions,
      statistic: 'Sum',
      period: Duration.hours(1),
      ...props,
    });
  }
}
