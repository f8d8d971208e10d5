import { Annotations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { throwPropError } from '../core/errors';
import type { SourceConfig } from './runtime/contracts';
import { IpRangeSyncWarnings } from './warnings';

/** The SNS topic AWS publishes to whenever ip-ranges.json changes (`IpRangeSource.AMAZON_IP_SPACE_CHANGED_TOPIC_ARN` in every language). */
export const AMAZON_IP_SPACE_CHANGED_TOPIC_ARN = 'arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged';

/** Options common to every source. */
export interface IpRangeSourceOptions {
  /**
   * Include IPv4 ranges.
   * @default true
   */
  readonly ipv4?: boolean;
  /**
   * Include IPv6 ranges.
   * @default true
   */
  readonly ipv6?: boolean;
  /**
   * Fetch the document from this URL instead (a mirror, a proxy, a test server).
   * @default - the publisher's URL
   */
  readonly url?: string;
}

/** Which part of AWS's ip-ranges.json to admit. */
export interface AwsIpRangesSourceOptions extends IpRangeSourceOptions {
  /** Services as published, case-sensitive: `EC2`, `S3`, `CLOUDFRONT`, `ROUTE53_HEALTHCHECKS`, `AMAZON`... */
  readonly services: string[];
  /**
   * Regions as published (`us-east-1`, `GLOBAL`...).
   * @default - every region
   */
  readonly regions?: string[];
  /**
   * Network border groups as published (`us-east-1`, `us-east-1-bos-1`...).
   * @default - every network border group
   */
  readonly networkBorderGroups?: string[];
}

/** Which part of GitHub's meta API to admit. */
export interface GithubMetaSourceOptions extends IpRangeSourceOptions {
  /** Keys of api.github.com/meta: `hooks`, `web`, `api`, `git`, `actions`, `dependabot`, `pages`... */
  readonly services: string[];
}

/** A JSON document at any URL that lists CIDRs. */
export interface UrlSourceOptions {
  /**
   * The key of the CIDR array when the document is a JSON object (e.g. `prefixes`).
   * @default - the document is a JSON array of CIDR strings
   */
  readonly jsonKey?: string;
  /**
   * Include IPv4 ranges.
   * @default true
   */
  readonly ipv4?: boolean;
  /**
   * Include IPv6 ranges.
   * @default true
   */
  readonly ipv6?: boolean;
}

/** AWS-managed prefix lists that already track what a user may ask of ip-ranges.json. */
const MANAGED_PREFIX_LISTS: Record<string, string> = {
  CLOUDFRONT: 'com.amazonaws.global.cloudfront.origin-facing (and com.amazonaws.global.ipv6.cloudfront.origin-facing)',
  CLOUDFRONT_ORIGIN_FACING: 'com.amazonaws.global.cloudfront.origin-facing (and com.amazonaws.global.ipv6.cloudfront.origin-facing)',
  ROUTE53_HEALTHCHECKS: 'com.amazonaws.<region>.route53-healthchecks (and com.amazonaws.<region>.ipv6.route53-healthchecks)',
  EC2_INSTANCE_CONNECT: 'com.amazonaws.<region>.ec2-instance-connect (and com.amazonaws.<region>.ipv6.ec2-instance-connect)',
  S3: 'com.amazonaws.<region>.s3 (with a gateway VPC endpoint)',
  DYNAMODB: 'com.amazonaws.<region>.dynamodb (with a gateway VPC endpoint)',
};

/** What a bound source tells the construct. @internal */
export interface IpRangeSourceConfig {
  /** The source, as the sync handler reads it. @internal */
  readonly _handlerConfig: SourceConfig;
  /** The document is AWS ip-ranges.json: subscribe to AmazonIpSpaceChanged. */
  readonly notifiedByAmazonIpSpaceChanged: boolean;
  /** A readable label (used in rule descriptions and logs). */
  readonly label: string;
}

/**
 * Where IP ranges come from.
 *
 * Made only by the static factories (`awsIpRanges`, `githubMeta`, `url`): the class is sealed (its
 * binding is internal), so it cannot be instantiated directly or subclassed in any language, and the
 * construct rejects an object made another way with an error naming the factories.
 *
 * @example
 * import { IpRangeSource } from 'cdk-production-patterns';
 *
 * IpRangeSource.awsIpRanges({ services: ['EC2'], regions: ['us-east-1'] });
 * IpRangeSource.githubMeta({ services: ['hooks'] });
 */
export abstract class IpRangeSource {
  /** The SNS topic AWS publishes to whenever ip-ranges.json changes (always in us-east-1). */
  public static readonly AMAZON_IP_SPACE_CHANGED_TOPIC_ARN: string = AMAZON_IP_SPACE_CHANGED_TOPIC_ARN;

  /**
   * AWS `ip-ranges.json`, whose changes arrive through the AmazonIpSpaceChanged SNS topic.
   * @param options the services, regions and network border groups to admit
   */
  public static awsIpRanges(options: AwsIpRangesSourceOptions): IpRangeSource {
    return new AwsIpRangesSource(options);
  }

  /**
   * GitHub's published ranges (api.github.com/meta), polled on the construct's schedule.
   * @param options the keys of the meta document to admit
   */
  public static githubMeta(options: GithubMetaSourceOptions): IpRangeSource {
    return new GithubMetaSource(options);
  }

  /**
   * Any https URL serving a JSON list of CIDRs, polled on the construct's schedule.
   * @param url the https URL of the document
   * @param options where the CIDRs are in the document, and which address families to admit
   */
  public static url(url: string, options: UrlSourceOptions = {}): IpRangeSource {
    return new UrlSource(url, options);
  }

  /** Only the static factories make sources (the class is sealed). */
  protected constructor() {}

  /** Validates the source and returns its configuration. @internal */
  public abstract _bind(scope: Construct): IpRangeSourceConfig;
}

function checkCommon(scope: Construct, prop: string, options: IpRangeSourceOptions | UrlSourceOptions, url: string): void {
  if (options.ipv4 === false && options.ipv6 === false) throwPropError(scope, `${prop}.ipv4/ipv6`, 'at least one address family must be enabled');
  if (!/^https:\/\/[^\s]+$/.test(url)) throwPropError(scope, `${prop}.url`, `must be an https URL, got ${JSON.stringify(url)}`);
}

function checkServices(scope: Construct, prop: string, services: string[]): void {
  if (!Array.isArray(services) || services.length === 0 || services.some((s) => typeof s !== 'string' || s.length === 0)) {
    throwPropError(scope, `${prop}.services`, 'must list at least one service');
  }
}

class AwsIpRangesSource extends IpRangeSource {
  constructor(private readonly options: AwsIpRangesSourceOptions) { super(); }

  public _bind(scope: Construct): IpRangeSourceConfig {
    const url = this.options.url ?? 'https://ip-ranges.amazonaws.com/ip-ranges.json';
    checkCommon(scope, 'sources[awsIpRanges]', this.options, url);
    checkServices(scope, 'sources[awsIpRanges]', this.options.services);
    for (const service of this.options.services) {
      const managed = MANAGED_PREFIX_LISTS[service];
      if (managed) {
        Annotations.of(scope).addWarningV2(IpRangeSyncWarnings.MANAGED_PREFIX_LIST_AVAILABLE,
          `AWS publishes a managed prefix list for ${service}: use ${managed} (ec2.PrefixList.fromLookup / Peer.prefixList) instead of syncing ip-ranges.json.`);
      }
    }
    const config: SourceConfig = {
      kind: 'aws',
      url,
      services: this.options.services,
      regions: this.options.regions,
      networkBorderGroups: this.options.networkBorderGroups,
      ipv4: this.options.ipv4 ?? true,
      ipv6: this.options.ipv6 ?? true,
    };
    return { _handlerConfig: config, notifiedByAmazonIpSpaceChanged: true, label: `aws:${this.options.services.join('+')}` };
  }
}

class GithubMetaSource extends IpRangeSource {
  constructor(private readonly options: GithubMetaSourceOptions) { super(); }

  public _bind(scope: Construct): IpRangeSourceConfig {
    const url = this.options.url ?? 'https://api.github.com/meta';
    checkCommon(scope, 'sources[githubMeta]', this.options, url);
    checkServices(scope, 'sources[githubMeta]', this.options.services);
    const config: SourceConfig = {
      kind: 'github', url, services: this.options.services, ipv4: this.options.ipv4 ?? true, ipv6: this.options.ipv6 ?? true,
    };
    return { _handlerConfig: config, notifiedByAmazonIpSpaceChanged: false, label: `github:${this.options.services.join('+')}` };
  }
}

class UrlSource extends IpRangeSource {
  constructor(private readonly url: string, private readonly options: UrlSourceOptions) { super(); }

  public _bind(scope: Construct): IpRangeSourceConfig {
    checkCommon(scope, 'sources[url]', this.options, this.url);
    const config: SourceConfig = {
      kind: 'url', url: this.url, jsonKey: this.options.jsonKey, ipv4: this.options.ipv4 ?? true, ipv6: this.options.ipv6 ?? true,
    };
    return { _handlerConfig: config, notifiedByAmazonIpSpaceChanged: false, label: `url:${new URL(this.url).host}` };
  }
}
