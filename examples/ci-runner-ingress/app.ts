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
 */
import { App, AppProps, CfnParameter, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { IpRangeSource, IpRangeSyncedSecurityGroup, PersistentBucket, SyncTarget, WafScope } from '../../src';
import { exampleContext, exampleEnv } from '../shared/example-env';

export class CiRunnerIngressStack extends Stack {
  public readonly ec2Ingress: IpRangeSyncedSecurityGroup;
  public readonly hooksIngress: IpRangeSyncedSecurityGroup;
  public readonly actionsIngress: IpRangeSyncedSecurityGroup;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const certificateArn = new CfnParameter(this, 'CertificateArn', { type: 'String', description: 'ACM certificate for the listeners' });
    const certificate = acm.Certificate.fromCertificateArn(this, 'Certificate', certificateArn.valueAsString);

    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      ],
    });
    vpc.addFlowLog('FlowLog');

    const key = new kms.Key(this, 'AlarmKey', { enableKeyRotation: true, description: 'Alarm topic encryption' });
    key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey');
    const alarmTopic = new sns.Topic(this, 'Alarms', { masterKey: key, enforceSSL: true });

    const accessLogs = new PersistentBucket(this, 'AlbAccessLogs');
    Validations.of(accessLogs).acknowledge({ id: 'AwsSolutions-S1', reason: 'This bucket receives the ALB access logs; logging it into itself would loop.' });

    // 1. EC2 us-east-1 -> sharded security groups.
    this.ec2Ingress = new IpRangeSyncedSecurityGroup(this, 'Ec2UsEast1', {
      vpc,
      sources: [IpRangeSource.awsIpRanges({ services: ['EC2'], regions: ['us-east-1'], ipv6: false })],
      ports: [ec2.Port.tcp(443)],
      target: SyncTarget.securityGroups({ rulesPerGroup: 60, maxGroups: 4 }),
      alarmTopic,
    });

    // 2. GitHub hooks -> prefix lists, referenced by the ALB's own group (4 synced groups + 1 = the ALB's 5).
    this.hooksIngress = new IpRangeSyncedSecurityGroup(this, 'GithubHooks', {
      vpc,
      sources: [IpRangeSource.githubMeta({ services: ['hooks'] })],
      ports: [ec2.Port.tcp(443)],
      target: SyncTarget.prefixList({ maxEntries: 20 }),
      alarmTopic,
    });

    // Internet-facing: EC2 public addresses and GitHub's webhook senders cannot reach an internal ALB.
    // The security groups are what admit only the synced ranges.
    const runnerApiAlb = new elbv2.ApplicationLoadBalancer(this, 'RunnerApiAlb', {
      vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroup: this.hooksIngress.securityGroups[0],
      dropInvalidHeaderFields: true,
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
    });
    const callbackGroup = new ec2.SecurityGroup(this, 'CallbackAlbGroup', { vpc, allowAllOutbound: false, description: 'Runner callback ALB: WAF admits GitHub Actions only' });
    callbackGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS; the WAF web ACL admits GitHub Actions ranges only');
    Validations.of(callbackGroup).acknowledge({ id: 'AwsSolutions-EC23', reason: 'GitHub Actions runners use thousands of CIDRs; the WAF web ACL (default Block) admits only the synced ranges.' });
    const callbackAlb = new elbv2.ApplicationLoadBalancer(this, 'CallbackAlb', {
      vpc, internetFacing: true, securityGroup: callbackGroup, dropInvalidHeaderFields: true,
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
  return app;
}

if (require.main === module) {
  createApp().synth();
}
