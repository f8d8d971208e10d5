import { Annotations, Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct, IConstruct } from 'constructs';
import { checkCapacity, instanceShape } from './capacity-plan';
import { ManagedInstanceWarnings } from './warnings';
import { alarmMaker } from '../core/alarms';
import { throwPropError, validateRange } from '../core/errors';
import { allowLogsToUseKey } from '../core/functions';

/** The CloudWatch namespace of the capacity-provider metrics Lambda publishes. */
const LAMBDA_NAMESPACE = 'AWS/Lambda';

/** What one function attached to a pool may take: the synth-time capacity check sums these. */
export interface ExecutionEnvironmentFootprint {
  /** Who takes it (the function's construct path), for the messages. */
  readonly owner: string;
  /** vCPUs of one execution environment: memory (GiB) divided by the memory per vCPU. */
  readonly vCpuPerEnvironment: number;
  /** Execution environments the published version keeps running. */
  readonly minExecutionEnvironments: number;
  /** The most execution environments the published version may run. */
  readonly maxExecutionEnvironments: number;
}

/**
 * A capacity provider that Lambda Managed Instances functions run on, with what the library needs
 * to know about it: its architecture and vCPU ceiling, and the functions attached to it.
 */
export interface IManagedCapacityPool extends IConstruct {
  /** The capacity provider. */
  readonly capacityProvider: lambda.ICapacityProvider;
  /** The instruction set of the pool's instances: functions attached must match it. */
  readonly architecture: lambda.Architecture;
  /**
   * The most vCPUs the pool runs (its `maxVCpuCount`).
   * @default - unknown for an imported pool imported without it: the capacity check is skipped
   */
  readonly maxVCpu?: number;
  /** The instance types the pool may launch (empty when unknown, for an imported pool). */
  readonly instanceTypes: ec2.InstanceType[];
  /**
   * Counts a function attached to the pool in the synth-time capacity check. `ManagedInstanceLambda`
   * calls it; call it for a function you attach yourself (aws-cdk-lib's `CapacityProvider.addFunction`).
   *
   * @param footprint what one execution environment of the function takes, and how many it may run
   */
  addFootprint(footprint: ExecutionEnvironmentFootprint): void;
}

/** Options of an imported pool. */
export interface ManagedCapacityPoolImportOptions {
  /**
   * The instruction set of the provider's instances.
   * @default lambda.Architecture.ARM_64
   */
  readonly architecture?: lambda.Architecture;
  /**
   * The provider's `maxVCpuCount`, for the capacity check of the functions this app attaches.
   * @default - unknown: no capacity check
   */
  readonly maxVCpu?: number;
}

/** Props of a ManagedCapacityPool. */
export interface ManagedCapacityPoolProps {
  /** The VPC the instances run in. */
  readonly vpc: ec2.IVpc;
  /**
   * Which subnets of the VPC to choose from.
   * @default - the VPC's private subnets with egress (the instances need a route to Lambda's APIs)
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Availability Zones never used (for example one where the instance types are not offered).
   * @default - none
   */
  readonly excludeAvailabilityZones?: string[];
  /**
   * The most subnets the pool uses, one per Availability Zone, in the VPC's zone order. Each subnet
   * adds placement footprint (instances spread across them); three zones give the resilience the
   * three default execution environments are spread for. 1 to 16 (the API's limit).
   * @default 3
   */
  readonly maxSubnets?: number;
  /**
   * The most vCPUs the pool runs, across its instances (12 to 15,000; aws-cdk-lib's range). When
   * the pool is at its ceiling, Lambda fails new function versions at deploy time: the synth-time
   * capacity check keeps the attached functions' maximum below it.
   * @default 64
   */
  readonly maxVCpu?: number;
  /**
   * The instruction set of the instances.
   * @default lambda.Architecture.ARM_64 (Graviton)
   */
  readonly architecture?: lambda.Architecture;
  /**
   * The instance types the pool may launch (an allow-list). Their architecture must match
   * `architecture`; Lambda Managed Instances runs on the C, M and R families, size large or bigger.
   * @default - Graviton general purpose: m7g.large, m7g.xlarge, m6g.large, m6g.xlarge
   */
  readonly instanceTypes?: ec2.InstanceType[];
  /**
   * The security groups of the instances (1 to 5). Given groups are used as they are.
   * @default - one new group with no inbound rule and outbound traffic on `egressPorts` only
   */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /**
   * The outbound ports of the new security group (to any IPv4 address). The instances reach
   * Lambda's APIs, and the functions their AWS services, over HTTPS. Add a port with
   * `pool.connections.allowTo(...)` for a database in the VPC instead of opening it here.
   * @default [ec2.Port.tcp(443)]
   */
  readonly egressPorts?: ec2.Port[];
  /**
   * The role Lambda uses to manage the instances.
   * @default - a new role with the AWS managed policy AWSLambdaManagedEC2ResourceOperator (aws-cdk-lib's default)
   */
  readonly operatorRole?: iam.IRole;
  /**
   * The customer-managed key that encrypts the instances' volumes and the pool's log group.
   * @default - an AWS managed key for the volumes; the log group unencrypted by a customer key
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * How long the pool's log group keeps its logs.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Which tags the instances get (for cost allocation by tag).
   * @default lambda.PropagateTags.none()
   */
  readonly propagateTags?: lambda.PropagateTags;
  /**
   * How the pool scales its instances.
   * @default lambda.ScalingOptions.auto()
   */
  readonly scalingOptions?: lambda.ScalingOptions;
  /**
   * The name of the capacity provider.
   * @default - generated by CloudFormation
   */
  readonly capacityProviderName?: string;
  /**
   * Average CPU utilization of the pool's instances, in percent, that alarms after 15 minutes.
   * @default 80
   */
  readonly cpuAlarmThreshold?: number;
  /**
   * Where the pool's alarms notify.
   * @default - alarms without actions
   */
  readonly alarmTopic?: sns.ITopic;
}

/** The default instance allow-list: Graviton general purpose, the sizes the platform article uses. */
const DEFAULT_INSTANCE_TYPES = ['m7g.large', 'm7g.xlarge', 'm6g.large', 'm6g.xlarge'];

/**
 * A Lambda Managed Instances capacity provider with production defaults: arm64 Graviton instances
 * from an allow-list, subnets chosen from the VPC's private subnets (zone exclusions and a cap), a
 * dedicated security group with no inbound rule and HTTPS egress only, a log group with retention,
 * a vCPU ceiling the attached functions are checked against at synth, and a CPU alarm.
 *
 * Built on aws-cdk-lib's `lambda.CapacityProvider`. A capacity provider is the security boundary of
 * the functions on it (they share instances, isolated by containers only): give untrusted
 * workloads their own pool.
 *
 * @example
 * import { ManagedCapacityPool } from 'cdk-production-patterns';
 *
 * const pool = new ManagedCapacityPool(this, 'Pool', {
 *   vpc,
 *   maxVCpu: 64,
 *   excludeAvailabilityZones: ['us-east-1e'],
 *   maxSubnets: 3,
 * });
 */
export class ManagedCapacityPool extends Construct implements IManagedCapacityPool, ec2.IConnectable {
  /**
   * Imports an existing capacity provider by ARN, to attach functions to it.
   *
   * @param scope the scope of the imported pool
   * @param id its construct id
   * @param capacityProviderArn `arn:<partition>:lambda:<region>:<account>:capacity-provider:<name>`
   * @param options what this app cannot read from the ARN
   */
  public static fromCapacityProviderArn(
    scope: Construct, id: string, capacityProviderArn: string, options: ManagedCapacityPoolImportOptions = {},
  ): IManagedCapacityPool {
    return new ImportedPool(scope, id, capacityProviderArn, options);
  }

  public readonly capacityProvider: lambda.ICapacityProvider;
  public readonly architecture: lambda.Architecture;
  /**
   * The most vCPUs the pool runs.
   * @default - always set for a pool created here (64 unless `maxVCpu` is given); optional for the interface's imported pools
   */
  public readonly maxVCpu?: number;
  public readonly instanceTypes: ec2.InstanceType[];
  /** The security groups of the instances. */
  public readonly connections: ec2.Connections;
  /** The subnets the pool uses. */
  public readonly subnets: ec2.ISubnet[];
  /** The pool's log group. */
  public readonly logGroup: logs.ILogGroup;
  /** Alarm: average CPU utilization of the instances at or above the threshold for 15 minutes. */
  public readonly cpuAlarm: cloudwatch.IAlarm;
  private readonly footprints: ExecutionEnvironmentFootprint[] = [];

  constructor(scope: Construct, id: string, props: ManagedCapacityPoolProps) {
    super(scope, id);
    const maxVCpu = props.maxVCpu ?? 64;
    this.maxVCpu = maxVCpu;
    validateRange(this, 'maxVCpu', maxVCpu, 12, 15000, { integer: true });
    const maxSubnets = props.maxSubnets ?? 3;
    validateRange(this, 'maxSubnets', maxSubnets, 1, 16, { integer: true });
    const cpuThreshold = props.cpuAlarmThreshold ?? 80;
    validateRange(this, 'cpuAlarmThreshold', cpuThreshold, 1, 100);
    this.architecture = props.architecture ?? lambda.Architecture.ARM_64;
    if (this.architecture.name !== lambda.Architecture.ARM_64.name && this.architecture.name !== lambda.Architecture.X86_64.name) {
      throwPropError(this, 'architecture', `must be arm64 or x86_64, got ${this.architecture.name}`);
    }
    this.instanceTypes = props.instanceTypes ?? DEFAULT_INSTANCE_TYPES.map((t) => new ec2.InstanceType(t));
    this.checkInstanceTypes(props.instanceTypes !== undefined);

    this.subnets = this.chooseSubnets(props.vpc, props.vpcSubnets, props.excludeAvailabilityZones ?? [], maxSubnets);

    if (props.securityGroups && (props.securityGroups.length < 1 || props.securityGroups.length > 5)) {
      throwPropError(this, 'securityGroups', `must hold 1..5 security groups (the API's limit), got ${props.securityGroups.length}`);
    }
    const securityGroups = props.securityGroups ?? [this.newSecurityGroup(props.vpc, props.egressPorts ?? [ec2.Port.tcp(443)])];
    this.connections = new ec2.Connections({ securityGroups });

    if (props.encryptionKey) allowLogsToUseKey(this, props.encryptionKey);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
      encryptionKey: props.encryptionKey,
    });

    const provider = new lambda.CapacityProvider(this, 'Resource', {
      capacityProviderName: props.capacityProviderName,
      subnets: this.subnets,
      securityGroups,
      operatorRole: props.operatorRole,
      architectures: [this.architecture],
      instanceTypeFilter: lambda.InstanceTypeFilter.allow(this.instanceTypes),
      maxVCpuCount: maxVCpu,
      scalingOptions: props.scalingOptions ?? lambda.ScalingOptions.auto(),
      kmsKey: props.encryptionKey,
      propagateTags: props.propagateTags ?? lambda.PropagateTags.none(),
      logGroup: this.logGroup,
    });
    this.capacityProvider = provider;
    if (!props.operatorRole) {
      Validations.of(this).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AWSLambdaManagedEC2ResourceOperator]',
        reason: 'The operator role of a Lambda Managed Instances capacity provider: Lambda assumes it to launch and manage the pool\'s EC2 '
          + 'instances. AWSLambdaManagedEC2ResourceOperator is the policy AWS documents for it and keeps current as the service changes.',
      });
    }

    const alarm = alarmMaker(this, props.alarmTopic);
    this.cpuAlarm = alarm('CpuAlarm', this.metricCpuUtilization(), `The instances of capacity provider ${this.node.path} run at or above `
      + `${cpuThreshold}% CPU on average for 15 minutes: functions may be throttled while the pool scales, or the pool is at maxVCpu `
      + `(${maxVCpu}). Check vCPUAvailable and raise maxVCpu or add instance types.`, { threshold: cpuThreshold, evaluationPeriods: 3 });

    this.node.addValidation({ validate: () => this.validateCapacity() });
  }

  public addFootprint(footprint: ExecutionEnvironmentFootprint): void {
    this.footprints.push(footprint);
  }

  /**
   * Average CPU utilization of the pool's instances, in percent (AWS/Lambda, dimension CapacityProviderName).
   *
   * @param props metric options
   * @default - average over 5 minutes
   */
  public metricCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('CPUUtilization', { statistic: 'Average', ...props });
  }

  /**
   * vCPUs available on the pool's instances for new execution environments.
   *
   * @param props metric options
   * @default - minimum over 5 minutes
   */
  public metricVCpuAvailable(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('vCPUAvailable', { statistic: 'Minimum', ...props });
  }

  /**
   * vCPUs allocated to execution environments on the pool's instances.
   *
   * @param props metric options
   * @default - maximum over 5 minutes
   */
  public metricVCpuAllocated(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('vCPUAllocated', { statistic: 'Maximum', ...props });
  }

  /**
   * A capacity-provider metric Lambda publishes (AWS/Lambda, dimension CapacityProviderName):
   * CPUUtilization, MemoryUtilization, vCPUAvailable, MemoryAvailable, vCPUAllocated, MemoryAllocated.
   *
   * @param metricName the metric's name
   * @param props metric options
   */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: LAMBDA_NAMESPACE,
      metricName,
      dimensionsMap: { CapacityProviderName: this.capacityProvider.capacityProviderName },
      period: Duration.minutes(5),
      ...props,
    });
  }

  private checkInstanceTypes(given: boolean): void {
    if (this.instanceTypes.length === 0 || this.instanceTypes.length > 400) {
      throwPropError(this, 'instanceTypes', `must hold 1..400 instance types, got ${this.instanceTypes.length}`);
    }
    const arm = this.architecture.name === lambda.Architecture.ARM_64.name;
    for (const t of this.instanceTypes) {
      const name = t.toString();
      const shape = instanceShape(name);
      if (!shape) continue;
      if (shape.graviton !== arm) {
        throwPropError(this, 'instanceTypes', `${name} is ${shape.graviton ? 'a Graviton (arm64)' : 'an x86_64'} type but the pool's `
          + `architecture is ${this.architecture.name}: list ${arm ? 'Graviton types (m7g, c7g, r7g...)' : 'x86_64 types'} or change architecture`);
      }
      if (given && !['c', 'm', 'r'].includes(shape.family)) {
        Annotations.of(this).addWarningV2(ManagedInstanceWarnings.POOL_INSTANCE_FAMILY, `instanceTypes: ${name} is outside the C, M and R families `
          + 'Lambda Managed Instances runs on (see the instance list on the Lambda pricing page for your Region).');
      }
    }
  }

  private chooseSubnets(vpc: ec2.IVpc, selection: ec2.SubnetSelection | undefined, exclude: string[], maxSubnets: number): ec2.ISubnet[] {
    const all = vpc.selectSubnets(selection ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnets;
    if (all.length === 0) {
      throwPropError(this, 'vpcSubnets', 'selects no subnet of the VPC: the pool needs private subnets with a route to Lambda\'s APIs');
    }
    const unresolved = all.some((s) => Token.isUnresolved(s.availabilityZone));
    if (unresolved && exclude.length > 0) {
      Annotations.of(this).addWarningV2(ManagedInstanceWarnings.POOL_UNRESOLVED_ZONES, 'excludeAvailabilityZones: the subnets\' Availability Zones are '
        + 'unknown at synth (an environment-agnostic stack); the exclusions cannot be applied. Give the stack an env with account and region.');
    }
    const unknownZones = unresolved ? [] : exclude.filter((z) => !all.some((s) => s.availabilityZone === z));
    if (unknownZones.length > 0) {
      throwPropError(this, 'excludeAvailabilityZones', `names ${unknownZones.join(', ')}, which no selected subnet is in `
        + `(the subnets are in ${[...new Set(all.map((s) => s.availabilityZone))].join(', ')})`);
    }
    const kept = all.filter((s) => unresolved || !exclude.includes(s.availabilityZone));
    if (kept.length === 0) {
      throwPropError(this, 'excludeAvailabilityZones', `excludes every zone of the selected subnets (${exclude.join(', ')}): keep at least one`);
    }
    // One subnet per zone first (spread), then further subnets of the same zones, up to the cap.
    const byZone = new Map<string, ec2.ISubnet[]>();
    kept.forEach((s, i) => {
      const zone = unresolved ? `#${i}` : s.availabilityZone;
      byZone.set(zone, [...(byZone.get(zone) ?? []), s]);
    });
    const chosen: ec2.ISubnet[] = [];
    for (let round = 0; chosen.length < maxSubnets; round++) {
      const next = [...byZone.values()].map((list) => list[round]).filter((s): s is ec2.ISubnet => s !== undefined);
      if (next.length === 0) break;
      chosen.push(...next.slice(0, maxSubnets - chosen.length));
    }
    const zones = new Set(chosen.map((s) => s.availabilityZone));
    if (!unresolved && zones.size < 2) {
      Annotations.of(this).addWarningV2(ManagedInstanceWarnings.POOL_SINGLE_ZONE, `the pool uses one Availability Zone (${[...zones].join(', ')}): `
        + 'an outage of that zone stops every function on it. Select subnets in two or more zones.');
    }
    return chosen;
  }

  private newSecurityGroup(vpc: ec2.IVpc, egressPorts: ec2.Port[]): ec2.SecurityGroup {
    const group = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: `Lambda Managed Instances of ${this.node.path}: no inbound; outbound ${egressPorts.map((p) => p.toString()).join(', ')}`,
      allowAllOutbound: false,
    });
    for (const port of egressPorts) {
      group.addEgressRule(ec2.Peer.anyIpv4(), port, `outbound ${port.toString()} (AWS APIs and the functions' dependencies)`);
    }
    return group;
  }

  private validateCapacity(): string[] {
    if (this.footprints.length === 0) return [];
    const findings = checkCapacity(this.maxVCpu ?? 64, this.footprints);
    for (const w of findings.warnings) Annotations.of(this).addWarningV2(ManagedInstanceWarnings.POOL_CAPACITY, w);
    const errors = [...findings.errors];
    const largest = this.largestInstance();
    for (const f of this.footprints) {
      if (largest && f.vCpuPerEnvironment > largest.vCpu) {
        errors.push(`${f.owner}: an execution environment of ${f.vCpuPerEnvironment} vCPU does not fit the largest allowed instance type `
          + `(${largest.name}, ${largest.vCpu} vCPU): lower memorySize, raise memoryGiBPerVCpu or allow a larger instance type`);
      }
    }
    return errors;
  }

  private largestInstance(): { name: string; vCpu: number } | undefined {
    let best: { name: string; vCpu: number } | undefined;
    for (const t of this.instanceTypes) {
      const shape = instanceShape(t.toString());
      if (!shape) return undefined; // an unknown shape could be larger: no check
      if (!best || shape.vCpu > best.vCpu) best = { name: t.toString(), vCpu: shape.vCpu };
    }
    return best;
  }
}

class ImportedPool extends Construct implements IManagedCapacityPool {
  public readonly capacityProvider: lambda.ICapacityProvider;
  public readonly architecture: lambda.Architecture;
  public readonly maxVCpu?: number;
  public readonly instanceTypes: ec2.InstanceType[] = [];
  private readonly footprints: ExecutionEnvironmentFootprint[] = [];

  constructor(scope: Construct, id: string, arn: string, options: ManagedCapacityPoolImportOptions) {
    super(scope, id);
    if (!Token.isUnresolved(arn) && !/^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:capacity-provider:[a-zA-Z0-9-_]+$/.test(arn)) {
      throwPropError(this, 'capacityProviderArn', `must be arn:<partition>:lambda:<region>:<account>:capacity-provider:<name>, got ${arn}`);
    }
    validateRange(this, 'maxVCpu', options.maxVCpu, 2, 15000, { integer: true });
    this.capacityProvider = lambda.CapacityProvider.fromCapacityProviderArn(this, 'Resource', arn);
    this.architecture = options.architecture ?? lambda.Architecture.ARM_64;
    this.maxVCpu = options.maxVCpu;
    this.node.addValidation({
      validate: () => {
        if (this.maxVCpu === undefined || this.footprints.length === 0) return [];
        const findings = checkCapacity(this.maxVCpu, this.footprints);
        for (const w of findings.warnings) Annotations.of(this).addWarningV2(ManagedInstanceWarnings.POOL_CAPACITY, w);
        return findings.errors;
      },
    });
  }

  public addFootprint(footprint: ExecutionEnvironmentFootprint): void {
    this.footprints.push(footprint);
  }
}
