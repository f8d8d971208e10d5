import { Annotations, Names, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { throwPropError, validateRange } from '../core/errors';
import type { AddressFamily } from './runtime/cidr';
import {
  PrefixListTargetConfig, SecurityGroupTargetConfig, SourceConfig, TARGET_KINDS, TargetConfig, TargetKind, WAF_IP_SET_MAX_ADDRESSES,
  WafIpSetTargetConfig, WafScopeValue,
} from './runtime/contracts';
import { IpRangeSyncWarnings } from './warnings';

/** Options of the sharded security-group target. */
export interface SecurityGroupsTargetOptions {
  /**
   * Inbound rules per security group and per address family (the VPC quota "Inbound or outbound
   * rules per security group", L-0EA8095F). A new group is filled once a group holds this many.
   * @default 60 - the default quota
   */
  readonly rulesPerGroup?: number;
  /**
   * How many security groups to create (all attached together by `attachTo`). The merged ranges
   * must fit `maxGroups x rulesPerGroup` per address family and port, or the sync refuses (and
   * alarms) without changing anything. A network interface holds 5 groups by default (up to 16),
   * and `rulesPerGroup x groups per interface` may not exceed 1,000.
   * @default 4 - leaves one of the default 5 groups per interface for your own group
   */
  readonly maxGroups?: number;
}

/** Options of the customer-managed prefix-list target. */
export interface PrefixListTargetOptions {
  /**
   * Maximum entries of each prefix list (one per address family). A security-group rule that
   * references the list counts this many rules against the group's quota.
   */
  readonly maxEntries: number;
  /**
   * Create a security group with one ingress rule per port referencing each prefix list.
   * @default true
   */
  readonly createSecurityGroup?: boolean;
  /**
   * The rules quota of that security group (per address family), used to check at synth time that
   * `maxEntries x ports` fits.
   * @default 60 - the default quota
   */
  readonly securityGroupRuleQuota?: number;
}

/** The scope of a WAFv2 IP set. */
export class WafScope {
  /** For regional resources: ALB, API Gateway REST API, AppSync, Cognito, App Runner, Verified Access. */
  public static readonly REGIONAL = new WafScope('REGIONAL');
  /** For CloudFront distributions (the stack must be in us-east-1). */
  public static readonly CLOUDFRONT = new WafScope('CLOUDFRONT');
  private constructor(public readonly value: string) {}
}

/** Options of the WAFv2 IP-set target. */
export interface WafIpSetTargetOptions {
  /**
   * Regional (ALB, API Gateway...) or CloudFront.
   * @default WafScope.REGIONAL
   */
  readonly scope?: WafScope;
}

/** What the construct gives a target to bind. @internal */
export interface SyncTargetBindOptions {
  /** The construct's id (part of the prefix-list names). */
  readonly id: string;
  /** The VPC of the security groups, if the user gave one. */
  readonly vpc?: ec2.IVpc;
  /** The ports to admit. */
  readonly ports: ec2.Port[];
  /** The address families the sources deliver (IPv4 first). */
  readonly families: AddressFamily[];
  /** The bound sources: their labels (for descriptions) and configuration. */
  readonly sources: ReadonlyArray<{ readonly label: string; readonly config: SourceConfig }>;
}

/** What a bound target created and what its sync needs. @internal */
export interface SyncTargetBinding {
  /** The target kind (the handler's `TargetConfig.kind`). */
  readonly kind: TargetKind;
  /** Security groups created: the sharded groups, or the group referencing the prefix lists. */
  readonly securityGroups: ec2.ISecurityGroup[];
  /** Customer-managed prefix lists created, one per address family. */
  readonly prefixLists: ec2.CfnPrefixList[];
  /** WAFv2 IP sets created, one per address family. */
  readonly ipSets: wafv2.CfnIPSet[];
  /** The target configuration the handler reads (env SYNC_TARGET). */
  readonly handlerConfig: TargetConfig;
  /** The mutating (and reading) actions, scoped to the created resources. */
  readonly statements: iam.PolicyStatement[];
  /** Read actions that support no resource-level permissions (granted on `*`). */
  readonly describeActions: string[];
}

/**
 * Where the synced ranges go.
 *
 * Made only by the static factories (`securityGroups`, `prefixList`, `wafIpSet`): the class is sealed
 * (its binding is internal), so it cannot be instantiated directly or subclassed in any language, and
 * the construct rejects an object made another way with an error naming the factories.
 *
 * @example
 * import { SyncTarget, WafScope } from 'cdk-production-patterns';
 *
 * SyncTarget.securityGroups({ rulesPerGroup: 60, maxGroups: 4 });
 * SyncTarget.prefixList({ maxEntries: 30 });
 * SyncTarget.wafIpSet({ scope: WafScope.REGIONAL });
 */
export abstract class SyncTarget {
  /**
   * Ingress rules in security groups, sharded over as many groups as needed, up to `maxGroups`.
   * @param options the rules per group and the number of groups
   */
  public static securityGroups(options: SecurityGroupsTargetOptions = {}): SyncTarget {
    return new SecurityGroupsTarget(options);
  }

  /**
   * Customer-managed prefix lists (one per address family), optionally referenced by a security group.
   * @param options the size of each list, and the security group referencing them
   */
  public static prefixList(options: PrefixListTargetOptions): SyncTarget {
    return new PrefixListTarget(options);
  }

  /**
   * WAFv2 IP sets (one per address family) for ALB, API Gateway or CloudFront, the only target that fits thousands of ranges.
   * @param options the scope of the IP sets (regional or CloudFront)
   */
  public static wafIpSet(options: WafIpSetTargetOptions = {}): SyncTarget {
    return new WafIpSetTarget(options);
  }

  /** Only the static factories make targets (the class is sealed). */
  protected constructor() {}

  /**
   * Validates the options, creates the target's resources in `scope` (so their logical ids are the
   * scope's) and returns them with the handler's configuration and the IAM statements. @internal
   */
  public abstract _bind(scope: Construct, options: SyncTargetBindOptions): SyncTargetBinding;
}

function requireVpcAndPorts(scope: Construct, kind: TargetKind, options: SyncTargetBindOptions): ec2.IVpc {
  if (!options.vpc) throwPropError(scope, 'vpc', `is required by the ${kind} target (it creates security groups)`);
  if (options.ports.length === 0) throwPropError(scope, 'ports', `must list at least one port for the ${kind} target`);
  return options.vpc;
}

const labels = (options: SyncTargetBindOptions) => options.sources.map((s) => s.label).join(', ');

/** `Port.toRuleJson()` as the handler reads it (-1 for "all"). */
function handlerPorts(ports: ec2.Port[]): SecurityGroupTargetConfig['ports'] {
  return ports
    .map((p) => p.toRuleJson() as { ipProtocol: string; fromPort?: number; toPort?: number })
    .map((p) => ({ protocol: p.ipProtocol, fromPort: p.fromPort ?? -1, toPort: p.toPort ?? -1 }));
}

class SecurityGroupsTarget extends SyncTarget {
  constructor(private readonly options: SecurityGroupsTargetOptions) { super(); }
  public _bind(scope: Construct, options: SyncTargetBindOptions): SyncTargetBinding {
    const rulesPerGroup = this.options.rulesPerGroup ?? 60;
    const maxGroups = this.options.maxGroups ?? 4;
    validateRange(scope, 'target.rulesPerGroup', rulesPerGroup, 1, 1000, { integer: true });
    validateRange(scope, 'target.maxGroups', maxGroups, 1, 16, { integer: true });
    if (rulesPerGroup * maxGroups > 1000) {
      throwPropError(scope, 'target.rulesPerGroup x target.maxGroups',
        `must not exceed 1000 (rules per group x groups per network interface), got ${rulesPerGroup} x ${maxGroups} = ${rulesPerGroup * maxGroups}`);
    }
    const vpc = requireVpcAndPorts(scope, TARGET_KINDS.securityGroups, options);
    const securityGroups: ec2.SecurityGroup[] = [];
    for (let i = 0; i < maxGroups; i++) {
      securityGroups.push(new ec2.SecurityGroup(scope, `Group${i + 1}`, {
        vpc,
        description: `Ingress synced from ${labels(options)} (${i + 1}/${maxGroups}); managed by cdk-production-patterns`,
        allowAllOutbound: false,
      }));
    }
    if (options.sources.some((s) => s.config.kind === 'github' && (s.config.services ?? []).includes('actions'))) {
      Annotations.of(scope).addWarningV2(IpRangeSyncWarnings.GITHUB_ACTIONS_IN_SECURITY_GROUPS,
        'GitHub "actions" publishes thousands of CIDRs: far more than security groups can hold. Use SyncTarget.wafIpSet() for it.');
    }
    const stack = Stack.of(scope);
    const handlerConfig: SecurityGroupTargetConfig = {
      kind: TARGET_KINDS.securityGroups,
      groupIds: securityGroups.map((g) => g.securityGroupId),
      ports: handlerPorts(options.ports),
      rulesPerGroup,
    };
    return {
      kind: TARGET_KINDS.securityGroups,
      securityGroups,
      prefixLists: [],
      ipSets: [],
      handlerConfig,
      statements: [new iam.PolicyStatement({
        actions: ['ec2:AuthorizeSecurityGroupIngress', 'ec2:RevokeSecurityGroupIngress'],
        resources: securityGroups.map((g) => stack.formatArn({ service: 'ec2', resource: 'security-group', resourceName: g.securityGroupId })),
      })],
      describeActions: ['ec2:DescribeSecurityGroupRules'],
    };
  }
}

class PrefixListTarget extends SyncTarget {
  constructor(private readonly options: PrefixListTargetOptions) { super(); }
  public _bind(scope: Construct, options: SyncTargetBindOptions): SyncTargetBinding {
    const maxEntries = this.options.maxEntries;
    validateRange(scope, 'target.maxEntries', maxEntries, 1, 1000, { integer: true });
    validateRange(scope, 'target.securityGroupRuleQuota', this.options.securityGroupRuleQuota, 1, 1000, { integer: true });
    const createSecurityGroup = this.options.createSecurityGroup ?? true;
    const securityGroupRuleQuota = this.options.securityGroupRuleQuota ?? 60;
    const vpc = createSecurityGroup ? requireVpcAndPorts(scope, TARGET_KINDS.prefixList, options) : undefined;
    const ports = options.ports;
    if (createSecurityGroup && !Token.isUnresolved(maxEntries)) {
      const weight = maxEntries * ports.length;
      if (weight > securityGroupRuleQuota) {
        throwPropError(scope, 'target.maxEntries',
          `a rule referencing a prefix list counts its max entries against the group's quota: ${maxEntries} entries x ${ports.length} port(s) = ${weight} rules, but the group allows ${securityGroupRuleQuota} (securityGroupRuleQuota); lower maxEntries, raise the quota, or use SyncTarget.wafIpSet`);
      }
    }
    const stack = Stack.of(scope);
    const prefixLists = options.families.map((family) => new ec2.CfnPrefixList(scope, family === 'ipv4' ? 'PrefixListIpv4' : 'PrefixListIpv6', {
      prefixListName: `${stack.stackName}-${options.id}-${family}`.slice(0, 255),
      addressFamily: family === 'ipv4' ? 'IPv4' : 'IPv6',
      maxEntries,
    }));
    const handlerConfig: PrefixListTargetConfig = {
      kind: TARGET_KINDS.prefixList,
      lists: prefixLists.map((pl, i) => ({ family: options.families[i], id: pl.attrPrefixListId, maxEntries })),
    };
    const securityGroups: ec2.ISecurityGroup[] = [];
    if (vpc) {
      const group = new ec2.SecurityGroup(scope, 'PrefixListGroup', {
        vpc,
        description: `Ingress from the prefix lists synced from ${labels(options)}`,
        allowAllOutbound: false,
      });
      for (const pl of prefixLists) {
        for (const port of ports) group.addIngressRule(ec2.Peer.prefixList(pl.attrPrefixListId), port, 'synced prefix list');
      }
      securityGroups.push(group);
    }
    return {
      kind: TARGET_KINDS.prefixList,
      securityGroups,
      prefixLists,
      ipSets: [],
      handlerConfig,
      statements: [new iam.PolicyStatement({
        actions: ['ec2:ModifyManagedPrefixList', 'ec2:GetManagedPrefixListEntries'],
        resources: prefixLists.map((pl) => pl.attrArn),
      })],
      describeActions: ['ec2:DescribeManagedPrefixLists'],
    };
  }
}

class WafIpSetTarget extends SyncTarget {
  constructor(private readonly options: WafIpSetTargetOptions) { super(); }
  public _bind(scope: Construct, options: SyncTargetBindOptions): SyncTargetBinding {
    const scopeValue = (this.options.scope ?? WafScope.REGIONAL).value as WafScopeValue;
    const stack = Stack.of(scope);
    if (scopeValue === 'CLOUDFRONT' && !Token.isUnresolved(stack.region) && stack.region !== 'us-east-1') {
      throwPropError(scope, 'target.scope', `CLOUDFRONT IP sets must be created in us-east-1, this stack is in ${stack.region}`);
    }
    const ipSets = options.families.map((family) => new wafv2.CfnIPSet(scope, family === 'ipv4' ? 'IpSetIpv4' : 'IpSetIpv6', {
      scope: scopeValue,
      ipAddressVersion: family === 'ipv4' ? 'IPV4' : 'IPV6',
      // GetIPSet/UpdateIPSet need the name: give a unique, stable one.
      name: `${Names.uniqueResourceName(scope, { maxLength: 100, separator: '-' })}-${family}`,
      addresses: [],
      description: `Synced from ${labels(options)} by cdk-production-patterns`,
    }));
    const handlerConfig: WafIpSetTargetConfig = {
      kind: TARGET_KINDS.wafIpSet,
      scope: scopeValue,
      sets: ipSets.map((s, i) => ({ family: options.families[i], id: s.attrId, name: s.name!, maxAddresses: WAF_IP_SET_MAX_ADDRESSES })),
    };
    return {
      kind: TARGET_KINDS.wafIpSet,
      securityGroups: [],
      prefixLists: [],
      ipSets,
      handlerConfig,
      statements: [new iam.PolicyStatement({
        actions: ['wafv2:GetIPSet', 'wafv2:UpdateIPSet'],
        resources: ipSets.map((s) => s.attrArn),
      })],
      describeActions: [],
    };
  }
}
