import { Construct } from 'constructs';
import { throwPropError, validateRange } from '../core/errors';

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

/** What a bound target tells the construct. @internal */
export interface SyncTargetConfig {
  readonly kind: string;
  readonly rulesPerGroup?: number;
  readonly maxGroups?: number;
  readonly maxEntries?: number;
  readonly createSecurityGroup?: boolean;
  readonly securityGroupRuleQuota?: number;
  readonly scope?: string;
}

/**
 * Where the synced ranges go.
 *
 * @example
 * import { SyncTarget, WafScope } from 'cdk-production-patterns';
 *
 * SyncTarget.securityGroups({ rulesPerGroup: 60, maxGroups: 4 });
 * SyncTarget.prefixList({ maxEntries: 30 });
 * SyncTarget.wafIpSet({ scope: WafScope.REGIONAL });
 */
export abstract class SyncTarget {
  /** Ingress rules in security groups, sharded over as many groups as needed, up to `maxGroups`. */
  public static securityGroups(options: SecurityGroupsTargetOptions = {}): SyncTarget {
    return new SecurityGroupsTarget(options);
  }

  /** Customer-managed prefix lists (one per address family), optionally referenced by a security group. */
  public static prefixList(options: PrefixListTargetOptions): SyncTarget {
    return new PrefixListTarget(options);
  }

  /** WAFv2 IP sets (one per address family) for ALB, API Gateway or CloudFront: the only target that fits thousands of ranges. */
  public static wafIpSet(options: WafIpSetTargetOptions = {}): SyncTarget {
    return new WafIpSetTarget(options);
  }

  /** @internal */
  public abstract _bind(scope: Construct): SyncTargetConfig;
}

class SecurityGroupsTarget extends SyncTarget {
  constructor(private readonly options: SecurityGroupsTargetOptions) { super(); }
  public _bind(scope: Construct): SyncTargetConfig {
    const rulesPerGroup = this.options.rulesPerGroup ?? 60;
    const maxGroups = this.options.maxGroups ?? 4;
    validateRange(scope, 'target.rulesPerGroup', rulesPerGroup, 1, 1000, { integer: true });
    validateRange(scope, 'target.maxGroups', maxGroups, 1, 16, { integer: true });
    if (rulesPerGroup * maxGroups > 1000) {
      throwPropError(scope, 'target.rulesPerGroup x target.maxGroups',
        `must not exceed 1000 (rules per group x groups per network interface), got ${rulesPerGroup} x ${maxGroups} = ${rulesPerGroup * maxGroups}`);
    }
    return { kind: 'securityGroups', rulesPerGroup, maxGroups };
  }
}

class PrefixListTarget extends SyncTarget {
  constructor(private readonly options: PrefixListTargetOptions) { super(); }
  public _bind(scope: Construct): SyncTargetConfig {
    validateRange(scope, 'target.maxEntries', this.options.maxEntries, 1, 1000, { integer: true });
    validateRange(scope, 'target.securityGroupRuleQuota', this.options.securityGroupRuleQuota, 1, 1000, { integer: true });
    return {
      kind: 'prefixList',
      maxEntries: this.options.maxEntries,
      createSecurityGroup: this.options.createSecurityGroup ?? true,
      securityGroupRuleQuota: this.options.securityGroupRuleQuota ?? 60,
    };
  }
}

class WafIpSetTarget extends SyncTarget {
  constructor(private readonly options: WafIpSetTargetOptions) { super(); }
  public _bind(_scope: Construct): SyncTargetConfig {
    return { kind: 'wafIpSet', scope: (this.options.scope ?? WafScope.REGIONAL).value };
  }
}
