/**
 * Example: CI runner ingress kept in sync with published IP ranges.
 *
 * - A runner API ALB on 443 that admits only
 *   - EC2 us-east-1 (AWS ip-ranges.json, ~230 merged IPv4 CIDRs: 4 sharded security groups of 60 rules),
 *   - GitHub webhooks (`hooks`, a customer-managed prefix list per address family, referenced by the
 *     ALB's own security group).
 * - An internet-facing callback ALB for GitHub Actions runners, guarded by a WAF web ACL whose allow
 *   rule matches WAF IP sets synced from GitHub `actions` (thousands of CIDRs: only WAF holds them).
 * - Every alarm goes to one encrypted SNS topic.
 * - The sync handlers run in the VPC's private subnets and reach the internet through one NAT gateway;
 *   one customer key encrypts the alarms, the flow logs and the handlers' state, dead letters and logs.
 * - The template passes the AWS Control Tower proactive controls except those acknowledged, with the
 *   reasons, in ./control-tower.ts.
 */
import { App, AppProps, CfnParameter, Duration, RemovalPolicy, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { IpRangeSource, IpRangeSyncedSecurityGroup, LogicalIdGuard, PersistentBucket, SyncTarget, WafScope } from '../../src';
import { allowLogGroupsToUseKey, limitGrantsToAwsServices } from '../shared/compliance';
import { exampleContext, exampleEnv } from '../shared/example-env';

export class CiRunnerIngressStack extends Stack {
  public readonly ec2Ingress: IpRangeSyncedSecurityGroup;
  public readonly hooksIngress: IpRangeSyncedSecurityGroup;
  public readonly actionsIngress: IpRangeSyncedSecurityGroup;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const certificateArn = new CfnParameter(this, 'CertificateArn', {
      type: 'String',
      description: 'ACM certificate for the listeners',
      // an ACM certificate (AWS Control Tower CT.ELASTICLOADBALANCING.PR.2 checks the value at deployment)
      allowedPattern: '^arn:aws[a-z0-9-]*:acm:[a-z0-9-]+:\\d{12}:certificate/[\\w-]{1,64}$',
      constraintDescription: 'must be the ARN of an AWS Certificate Manager certificate',
    });
    const certificate = acm.Certificate.fromCertificateArn(this, 'Certificate', certificateArn.valueAsString);

    // One key for what the example stores: the alarm topic, the flow logs, the sync state, dead letters
    // and logs of the three IP syncs, and the bucket-marker function's logs and dead letters.
    const key = new kms.Key(this, 'AlarmKey', { enableKeyRotation: true, description: 'CI runner ingress: alarms, flow logs, IP sync state and logs' });
    key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey');
    limitGrantsToAwsServices(key);
    allowLogGroupsToUseKey(key);
    const alarmTopic = new sns.Topic(this, 'Alarms', { masterKey: key, enforceSSL: true });

    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      // The sync handlers run in the private subnets: they fetch the published ranges from the internet
      // (ip-ranges.amazonaws.com, api.github.com) and call EC2, WAFv2, DynamoDB, CloudFormation, SQS and X-Ray.
      natGateways: 1,
      subnetConfiguration: [
        // The internet-facing ALBs and the NAT gateway bring their own public addresses: nothing
        // launched into these subnets gets one (CT.EC2.PR.11).
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, mapPublicIpOnLaunch: false },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      ],
    });
    const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      encryptionKey: key,
      retention: logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    vpc.addFlowLog('FlowLog', { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs) });

    // Every handler of ours runs in the private subnets (CT.LAMBDA.PR.3), out through the NAT gateway.
    const handlers = { handlerVpc: vpc, handlerVpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } };

    const accessLogs = new PersistentBucket(this, 'AlbAccessLogs', {
      ...handlers,
      // ALB access logs need SSE-S3, so the bucket keeps it; the key encrypts its marker function's logs and dead letters
      markerEncryptionKey: key,
      lifecycleRules: [{ expiration: Duration.days(400), noncurrentVersionExpiration: Duration.days(30) }],
    });
    Validations.of(accessLogs).acknowledge({ id: 'AwsSolutions-S1', reason: 'This bucket receives the ALB access logs; logging it into itself would loop.' });

    // 1. EC2 us-east-1 -> sharded security groups.
    this.ec2Ingress = new IpRangeSyncedSecurityGroup(this, 'Ec2UsEast1', {
      vpc,
      sources: [IpRangeSource.awsIpRanges({ services: ['EC2'], regions: ['us-east-1'], ipv6: false })],
      ports: [ec2.Port.tcp(443)],
      target: SyncTarget.securityGroups({ rulesPerGroup: 60, maxGroups: 4 }),
      alarmTopic,
      encryptionKey: key,
      ...handlers,
    });

    // 2. GitHub hooks -> prefix lists, referenced by the ALB's own group (4 synced groups + 1 = the ALB's 5).
    this.hooksIngress = new IpRangeSyncedSecurityGroup(this, 'GithubHooks', {
      vpc,
      sources: [IpRangeSource.githubMeta({ services: ['hooks'] })],
      ports: [ec2.Port.tcp(443)],
      target: SyncTarget.prefixList({ maxEntries: 20 }),
      alarmTopic,
      encryptionKey: key,
      ...handlers,
    });

    // Internet-facing: EC2 public addresses and GitHub's webhook senders cannot reach an internal ALB.
    // The security groups are what admit only the synced ranges.
    const runnerApiAlb = new elbv2.ApplicationLoadBalancer(this, 'RunnerApiAlb', {
      vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroup: this.hooksIngress.securityGroups[0],
      dropInvalidHeaderFields: true,
      // CT.ELASTICLOADBALANCING.PR.5; to destroy the stack, turn it off first (see README)
      deletionProtection: true,
    });
    runnerApiAlb.logAccessLogs(accessLogs, 'runner-api');
    this.ec2Ingress.attachTo(runnerApiAlb);
    runnerApiAlb.addListener('Https', {
      port: 443,
      certificates: [certificate],
      sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
      open: false,
      defaultAction: elbv2.ListenerAction.fixedResponse(200, { contentType: 'text/plain', messageBody: 'runner api' }),
    });

    // 3. GitHub actions -> WAF IP sets on an internet-facing callback ALB.
    this.actionsIngress = new IpRangeSyncedSecurityGroup(this, 'GithubActions', {
      sources: [IpRangeSource.githubMeta({ services: ['actions'] })],
      target: SyncTarget.wafIpSet({ scope: WafScope.REGIONAL }),
      alarmTopic,
      encryptionKey: key,
      ...handlers,
    });
    const callbackGroup = new ec2.SecurityGroup(this, 'CallbackAlbGroup', { vpc, allowAllOutbound: false, description: 'Runner callback ALB: WAF admits GitHub Actions only' });
    callbackGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS; the WAF web ACL admits GitHub Actions ranges only');
    Validations.of(callbackGroup).acknowledge({ id: 'AwsSolutions-EC23', reason: 'GitHub Actions runners use thousands of CIDRs; the WAF web ACL (default Block) admits only the synced ranges.' });
    const callbackAlb = new elbv2.ApplicationLoadBalancer(this, 'CallbackAlb', {
      vpc, internetFacing: true, securityGroup: callbackGroup, dropInvalidHeaderFields: true, deletionProtection: true,
    });
    callbackAlb.logAccessLogs(accessLogs, 'callback');
    callbackAlb.addListener('Https', {
      port: 443,
      certificates: [certificate],
      sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
      open: false,
      defaultAction: elbv2.ListenerAction.fixedResponse(200, { contentType: 'text/plain', messageBody: 'runner callback' }),
    });
    const webAcl = new wafv2.CfnWebACL(this, 'CallbackAcl', {
      scope: 'REGIONAL',
      defaultAction: { block: {} },
      visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: 'RunnerCallbackAcl', sampledRequestsEnabled: true },
      rules: [{
        name: 'AllowGithubActions',
        priority: 0,
        action: { allow: {} },
        visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: 'AllowGithubActions', sampledRequestsEnabled: true },
        statement: { orStatement: { statements: this.actionsIngress.ipSets.map((s) => ({ ipSetReferenceStatement: { arn: s.attrArn } })) } },
      }],
    });
    new wafv2.CfnWebACLAssociation(this, 'CallbackAclAssociation', { resourceArn: callbackAlb.loadBalancerArn, webAclArn: webAcl.attrArn });

  }
}

export function createApp(props?: AppProps): App {
  const app = new App({ ...props, context: { ...exampleContext(), ...props?.context } });
  new CiRunnerIngressStack(app, 'CiRunnerIngress', { env: exampleEnv() });
  LogicalIdGuard.of(app, { lockFile: `${__dirname}/logical-ids.lock.json` }); // fails synth when a stateful resource would be replaced
  return app;
}

if (require.main === module) {
  createApp().synth();
}
