import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, AppProps, NestedStack, Stack, Stage } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { DeploymentPolicy, ExecutionPolicy, StackTemplate } from '../../src';
import { discoverExamples } from '../harness/examples';

// Synths of the four examples (no cdk-nag) take 2-10 s each on two busy cores.
jest.setTimeout(120_000);

/**
 * The test's own table, written from the IAM service authorization reference independently of
 * src/guardrails/deployment-policy-types.ts: resource type -> the IAM service prefix whose actions the
 * CloudFormation execution role needs for it. `iam` types go to the IAM statements, `null` needs nothing,
 * custom resources need only lambda:InvokeFunction (see CUSTOM).
 */
const EXPECTED_SERVICE: Record<string, string | null> = {
  'AWS::ApiGateway::Deployment': 'apigateway',
  'AWS::ApiGateway::Method': 'apigateway',
  'AWS::ApiGateway::RequestValidator': 'apigateway',
  'AWS::ApiGateway::Resource': 'apigateway',
  'AWS::ApiGateway::RestApi': 'apigateway',
  'AWS::ApiGateway::Stage': 'apigateway',
  'AWS::CDK::Metadata': null,
  'AWS::CloudWatch::Alarm': 'cloudwatch',
  'AWS::CloudWatch::CompositeAlarm': 'cloudwatch',
  'AWS::CloudWatch::Dashboard': 'cloudwatch',
  'AWS::DynamoDB::Table': 'dynamodb',
  'AWS::DynamoDB::GlobalTable': 'dynamodb',
  'AWS::EC2::EIP': 'ec2',
  'AWS::EC2::FlowLog': 'ec2',
  'AWS::EC2::InternetGateway': 'ec2',
  'AWS::EC2::NatGateway': 'ec2',
  'AWS::EC2::PrefixList': 'ec2',
  'AWS::EC2::Route': 'ec2',
  'AWS::EC2::RouteTable': 'ec2',
  'AWS::EC2::SecurityGroup': 'ec2',
  'AWS::EC2::SecurityGroupIngress': 'ec2',
  'AWS::EC2::Subnet': 'ec2',
  'AWS::EC2::SubnetRouteTableAssociation': 'ec2',
  'AWS::EC2::VPC': 'ec2',
  'AWS::EC2::VPCGatewayAttachment': 'ec2',
  'AWS::ElasticLoadBalancingV2::Listener': 'elasticloadbalancing',
  'AWS::ElasticLoadBalancingV2::LoadBalancer': 'elasticloadbalancing',
  'AWS::Events::Rule': 'events',
  'AWS::IAM::Policy': 'iam',
  'AWS::IAM::Role': 'iam',
  'AWS::KMS::Key': 'kms',
  'AWS::Lambda::Alias': 'lambda',
  'AWS::Lambda::CapacityProvider': 'lambda',
  'AWS::Lambda::EventInvokeConfig': 'lambda',
  'AWS::Lambda::EventSourceMapping': 'lambda',
  'AWS::Lambda::Function': 'lambda',
  'AWS::Lambda::LayerVersion': 'lambda',
  'AWS::Lambda::Url': 'lambda',
  'AWS::Lambda::Permission': 'lambda',
  'AWS::Lambda::Version': 'lambda',
  'AWS::Logs::LogGroup': 'logs',
  'AWS::Pipes::Pipe': 'pipes',
  'AWS::S3::Bucket': 's3',
  'AWS::S3::BucketPolicy': 's3',
  'AWS::Scheduler::Schedule': 'scheduler',
  'AWS::Scheduler::ScheduleGroup': 'scheduler',
  'AWS::SecretsManager::RotationSchedule': 'secretsmanager',
  'AWS::SecretsManager::Secret': 'secretsmanager',
  'AWS::SNS::Subscription': 'sns',
  'AWS::SNS::Topic': 'sns',
  'AWS::SNS::TopicPolicy': 'sns',
  'AWS::SQS::Queue': 'sqs',
  'AWS::SQS::QueuePolicy': 'sqs',
  'AWS::StepFunctions::StateMachine': 'states',
  'AWS::WAFv2::IPSet': 'wafv2',
  'AWS::WAFv2::WebACL': 'wafv2',
  'AWS::WAFv2::WebACLAssociation': 'wafv2',
  // exceptions the issue names
  'AWS::KinesisFirehose::DeliveryStream': 'firehose',
  'AWS::CertificateManager::Certificate': 'acm',
  'AWS::Cognito::UserPool': 'cognito-idp',
  'AWS::Cognito::IdentityPool': 'cognito-identity',
  'AWS::SSM::Parameter': 'ssm',
  'AWS::ApiGatewayV2::Api': 'apigateway',
  'AWS::ElasticLoadBalancingV2::TargetGroup': 'elasticloadbalancing',
  'AWS::ECS::Cluster': 'ecs',
  'AWS::EC2::LaunchTemplate': 'ec2',
  'AWS::EC2::VPCEndpoint': 'ec2',
  'AWS::Kinesis::Stream': 'kinesis',
  'AWS::Logs::SubscriptionFilter': 'logs',
  'AWS::Logs::MetricFilter': 'logs',
  'AWS::CloudFormation::Stack': 'cloudformation',
};
const CUSTOM = (type: string) => type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource';

/** Role and policy management, and nothing that grants access to data or other principals' credentials. */
const ALLOWED_IAM_ACTIONS = new Set([
  'iam:CreateRole', 'iam:DeleteRole', 'iam:GetRole', 'iam:UpdateRole', 'iam:UpdateRoleDescription', 'iam:UpdateAssumeRolePolicy',
  'iam:TagRole', 'iam:UntagRole', 'iam:ListRoleTags', 'iam:PutRolePolicy', 'iam:GetRolePolicy', 'iam:DeleteRolePolicy',
  'iam:ListRolePolicies', 'iam:AttachRolePolicy', 'iam:DetachRolePolicy', 'iam:ListAttachedRolePolicies',
  'iam:PutRolePermissionsBoundary', 'iam:DeleteRolePermissionsBoundary', 'iam:ListInstanceProfilesForRole',
  'iam:PutUserPolicy', 'iam:GetUserPolicy', 'iam:DeleteUserPolicy', 'iam:PutGroupPolicy', 'iam:GetGroupPolicy', 'iam:DeleteGroupPolicy',
  'iam:CreatePolicy', 'iam:DeletePolicy', 'iam:GetPolicy', 'iam:GetPolicyVersion', 'iam:CreatePolicyVersion', 'iam:DeletePolicyVersion',
  'iam:ListPolicyVersions', 'iam:ListEntitiesForPolicy', 'iam:TagPolicy', 'iam:UntagPolicy',
]);

interface PolicyStatement {
  Sid: string;
  Effect: string;
  Action: string[];
  Resource?: string | string[];
  NotResource?: string[];
  Condition?: Record<string, Record<string, string[]>>;
}
interface PolicyDocument { Version: string; Statement: PolicyStatement[] }

const tmpdirs: string[] = [];
function tmpdir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpdirs.push(d);
  return d;
}
afterAll(() => tmpdirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function doc(policy: ExecutionPolicy): PolicyDocument {
  return JSON.parse(policy.toJson());
}
function statement(d: PolicyDocument, sid: string): PolicyStatement | undefined {
  return d.Statement.find((s) => s.Sid === sid);
}
function serviceOf(action: string): string {
  return action.split(':')[0];
}
function template(resources: Record<string, unknown>): string {
  return JSON.stringify({ Resources: resources });
}
function stackTemplate(resources: Record<string, unknown>): StackTemplate {
  return { name: 'Test', templateJson: template(resources), region: 'eu-west-1', account: '123456789012' };
}

/** Every resource type in the cloud assembly's templates (stacks of nested assemblies and nested stacks included). */
function typesIn(dir: string): string[] {
  const types = new Set<string>();
  for (const f of fs.readdirSync(dir)) {
    const full = path.join(dir, f);
    if (fs.statSync(full).isDirectory()) {typesIn(full).forEach((t) => types.add(t));} else if (f.endsWith('.template.json')) {
      for (const r of Object.values(JSON.parse(fs.readFileSync(full, 'utf8')).Resources ?? {}) as Array<{ Type: string }>) types.add(r.Type);
    }
  }
  return [...types].sort();
}

const examples = discoverExamples();

test('the example apps are discovered', () => {
  expect(examples.map((e) => e.name)).toEqual(expect.arrayContaining(['ci-runner-ingress', 'insurance-claims', 'order-fulfillment', 'persistent-artifacts']));
});

describe.each(examples.map((e) => [e.name, e] as const))('example %s', (name, example) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const createApp = (require(example.appFile) as { createApp: (props?: AppProps) => App }).createApp;
  let outdir: string;
  let outputFile: string;
  let plugin: DeploymentPolicy;
  let policy: ExecutionPolicy;
  let d: PolicyDocument;
  beforeAll(() => {
    outdir = tmpdir(`dp-${name}-`);
    outputFile = path.join(tmpdir(`dp-${name}-out-`), 'cdk-execution-policy.json');
    const app = createApp({ outdir });
    plugin = DeploymentPolicy.of(app, { outputFile, printBootstrapCommand: false });
    app.synth();
    policy = plugin.lastPolicy!;
    d = doc(policy);
  });

  test('synth writes the policy to outputFile and into the cloud assembly, the same as the generator on cdk.out', () => {
    const written = fs.readFileSync(outputFile, 'utf8');
    expect(written).toBe(policy.toJson());
    expect(fs.readFileSync(path.join(outdir, 'cdk-execution-policy.json'), 'utf8')).toBe(written);
    expect(DeploymentPolicy.fromAssemblyDirectory(outdir).toJson()).toBe(written);
  });

  test('covers every resource type of the templates, and no service no type needs (independent table)', () => {
    const types = typesIn(outdir);
    expect(policy.resourceTypes).toEqual(types);
    const unmapped = types.filter((t) => !CUSTOM(t) && !(t in EXPECTED_SERVICE));
    if (unmapped.length) throw new Error(`add to EXPECTED_SERVICE in this test: ${unmapped.join(', ')}`);
    const expected = new Set(types.filter((t) => !CUSTOM(t)).map((t) => EXPECTED_SERVICE[t]).filter((s): s is string => !!s && s !== 'iam'));
    const regional = statement(d, 'RegionalServices')!;
    const wildcards = regional.Action.filter((a) => a.endsWith(':*')).map(serviceOf);
    expect(new Set(wildcards)).toEqual(expected);
    // specific actions: only lambda:InvokeFunction for custom resources (subsumed by lambda:* here) and the
    // ec2:Describe* a VPC function needs (subsumed when the app has EC2 resources)
    expect(regional.Action.filter((a) => !a.endsWith(':*')).filter((a) => !['lambda:InvokeFunction', 'ec2:DescribeSecurityGroups', 'ec2:DescribeSubnets', 'ec2:DescribeVpcs'].includes(a))).toEqual([]);
    expect(statement(d, 'GlobalServices')).toBeUndefined(); // no example uses a global service
    // custom resources: the provider is invoked as the execution role
    if (types.some(CUSTOM)) expect(regional.Action.some((a) => a === 'lambda:*' || a === 'lambda:InvokeFunction')).toBe(true);
    // every Sid is one the generator documents, and nothing else is allowed
    expect(d.Statement.map((s) => s.Sid).every((s) => ['CdkAssets', 'CdkBootstrapVersion', 'IamPassRole', 'IamRolesAndPolicies', 'IamServiceLinkedRoles', 'RegionalServices'].includes(s))).toBe(true);
    expect(d.Statement.flatMap((s) => s.Action).filter((a) => a === '*' || a === 'iam:*')).toEqual([]);
  });

  test('the committed examples/<app>/cdk-execution-policy.json is the generated policy (else run `npx projen examples`)', () => {
    const committed = path.join(example.dir, 'cdk-execution-policy.json');
    expect(fs.existsSync(committed)).toBe(true);
    expect(fs.readFileSync(committed, 'utf8')).toBe(policy.toJson());
  });

  test('regional services are restricted to the app\'s region with aws:RequestedRegion', () => {
    expect(statement(d, 'RegionalServices')!.Condition).toEqual({ StringEquals: { 'aws:RequestedRegion': ['us-east-1'] } });
    expect(statement(d, 'RegionalServices')!.Resource).toBe('*');
  });

  test('IAM: role/policy management only, never on the bootstrap roles or the policy itself', () => {
    const iam = statement(d, 'IamRolesAndPolicies')!;
    expect(iam.NotResource).toEqual(['arn:aws:iam::*:role/cdk-hnb659fds-*', 'arn:aws:iam::*:policy/cdk-execution-policy']);
    expect(iam.Resource).toBeUndefined();
    expect(iam.Action.filter((a) => !ALLOWED_IAM_ACTIONS.has(a))).toEqual([]);
    expect(iam.Action).toEqual(expect.arrayContaining(['iam:CreateRole', 'iam:DeleteRole', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy']));
    const pass = statement(d, 'IamPassRole')!;
    expect(pass.Action).toEqual(['iam:PassRole']);
    expect(pass.NotResource).toEqual(['arn:aws:iam::*:role/cdk-hnb659fds-*']);
    expect(pass.Condition!.StringEquals['iam:PassedToService']).toContain('lambda.amazonaws.com');
    // no other statement touches IAM
    expect(d.Statement.filter((s) => !s.Sid.startsWith('Iam')).flatMap((s) => s.Action).filter((a) => a.startsWith('iam:'))).toEqual([]);
    const slr = statement(d, 'IamServiceLinkedRoles');
    if (slr) expect(slr.Resource).toEqual(['arn:aws:iam::*:role/aws-service-role/*']);
  });

  test('stable output: a second synth writes byte-identical JSON (sorted statements and actions)', () => {
    const again = createApp({ outdir: tmpdir(`dp-${name}-again-`) });
    const file2 = path.join(tmpdir(`dp-${name}-out2-`), 'p.json');
    DeploymentPolicy.of(again, { outputFile: file2, printBootstrapCommand: false });
    again.synth();
    expect(fs.readFileSync(file2, 'utf8')).toBe(fs.readFileSync(outputFile, 'utf8'));
    const sids = d.Statement.map((s) => s.Sid);
    expect(sids).toEqual([...sids].sort());
    for (const s of d.Statement) expect(s.Action).toEqual([...s.Action].sort());
  });

  test('check mode: the generated policy passes; without a service it fails naming that service', () => {
    expect(policy.check(policy.toJson()).ok).toBe(true);
    for (const removed of policy.regionalServices) {
      const deployed = doc(policy);
      const regional = statement(deployed, 'RegionalServices')!;
      regional.Action = regional.Action.filter((a) => serviceOf(a) !== removed);
      const result = policy.check(JSON.stringify(deployed));
      expect(result.ok).toBe(false);
      expect(result.missingServices).toEqual([removed]);
      expect(result.message).toContain(`${removed}:`);
    }
  });
});

describe('check mode at synth (deployedPolicyFile)', () => {
  const build = (deployedPolicyFile?: string) => {
    const app = new App({ outdir: tmpdir('dp-check-') });
    const stack = new Stack(app, 'Queues', { env: { account: '123456789012', region: 'eu-west-1' } });
    new sqs.Queue(stack, 'Queue');
    const outputFile = path.join(tmpdir('dp-check-out-'), 'cdk-execution-policy.json');
    DeploymentPolicy.of(app, { outputFile, deployedPolicyFile, printBootstrapCommand: false });
    return { app, outputFile };
  };

  test('passes with the generated policy as `aws iam get-policy-version` output (document as JSON or URL-encoded) or bare', () => {
    const first = build();
    first.app.synth();
    const generated = JSON.parse(fs.readFileSync(first.outputFile, 'utf8'));
    const dir = tmpdir('dp-deployed-');
    const forms = {
      'bare.json': generated,
      'cli.json': { PolicyVersion: { Document: generated, VersionId: 'v3', IsDefaultVersion: true } },
      'api.json': { PolicyVersion: { Document: encodeURIComponent(JSON.stringify(generated)), VersionId: 'v3' } },
    };
    for (const [file, content] of Object.entries(forms)) {
      fs.writeFileSync(path.join(dir, file), JSON.stringify(content));
      expect(() => build(path.join(dir, file)).app.synth()).not.toThrow();
    }
  });

  test('fails synth naming the missing service and the type that needs it', () => {
    const first = build();
    first.app.synth();
    const deployed = JSON.parse(fs.readFileSync(first.outputFile, 'utf8')) as PolicyDocument;
    statement(deployed, 'RegionalServices')!.Action = statement(deployed, 'RegionalServices')!.Action.filter((a) => a !== 'sqs:*');
    const file = path.join(tmpdir('dp-deployed-'), 'deployed.json');
    fs.writeFileSync(file, JSON.stringify(deployed));
    expect(() => build(file).app.synth()).toThrow(/sqs:\* in eu-west-1 \(for AWS::SQS::Queue\)/);
  });

  test('an unreadable deployed policy is a synth error that says how to export it', () => {
    const file = path.join(tmpdir('dp-deployed-'), 'nope.json');
    fs.writeFileSync(file, '{"Policy": {}}');
    expect(() => build(file).app.synth()).toThrow(/get-policy-version/);
  });
});

describe('check()', () => {
  const policy = DeploymentPolicy.fromTemplates([stackTemplate({ Q: { Type: 'AWS::SQS::Queue' } })], { regions: ['us-west-2'] });

  test('a region condition that leaves out a region of the app fails for that region', () => {
    const deployed = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sqs:*', Resource: '*', Condition: { StringEquals: { 'aws:RequestedRegion': 'eu-west-1' } } }] };
    const result = policy.check(JSON.stringify(deployed));
    expect(result.missing).toEqual([expect.objectContaining({ action: 'sqs:*', region: 'us-west-2', neededBy: ['AWS::SQS::Queue'] })]);
  });

  test('Action "*" (AdministratorAccess) allows everything; an unconditional Deny removes it', () => {
    expect(policy.check(JSON.stringify({ Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] })).ok).toBe(true);
    const denied = { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }, { Effect: 'Deny', Action: 'sqs:*', Resource: '*' }] };
    expect(policy.check(JSON.stringify(denied)).missingServices).toEqual(['sqs']);
  });
});

describe('generator', () => {
  test('log-ingestion types: Lambda capacity provider, EventBridge Scheduler, SQS, DynamoDB', () => {
    const p = DeploymentPolicy.fromTemplates([stackTemplate({
      Cp: { Type: 'AWS::Lambda::CapacityProvider' },
      S: { Type: 'AWS::Scheduler::Schedule' },
      Q: { Type: 'AWS::SQS::Queue' },
      T: { Type: 'AWS::DynamoDB::Table' },
    })]);
    expect(p.regionalServices).toEqual(['dynamodb', 'lambda', 'scheduler', 'sqs']);
  });

  test('the exceptions the issue names map to their IAM prefixes (independent table)', () => {
    const types = Object.keys(EXPECTED_SERVICE).filter((t) => EXPECTED_SERVICE[t] && EXPECTED_SERVICE[t] !== 'iam');
    const p = DeploymentPolicy.fromTemplates([stackTemplate(Object.fromEntries(types.map((t, i) => [`R${i}`, { Type: t }])))]);
    expect(new Set(p.regionalServices)).toEqual(new Set(types.map((t) => EXPECTED_SERVICE[t])));
    // one by one, so a wrong mapping names its type
    for (const t of types) {
      expect([t, DeploymentPolicy.fromTemplates([stackTemplate({ R: { Type: t } })]).regionalServices]).toEqual([t, [EXPECTED_SERVICE[t]]]);
    }
  });

  test('global services are listed apart, without the region condition; IAM never as a service wildcard', () => {
    const p = DeploymentPolicy.fromTemplates([stackTemplate({
      D: { Type: 'AWS::CloudFront::Distribution' },
      Z: { Type: 'AWS::Route53::RecordSet' },
      F: { Type: 'AWS::Lambda::Function', Properties: { Code: { ZipFile: 'x' } } },
    })]);
    const d = doc(p);
    expect(statement(d, 'GlobalServices')).toEqual({ Sid: 'GlobalServices', Effect: 'Allow', Action: ['cloudfront:*', 'route53:*'], Resource: '*' });
    expect(statement(d, 'RegionalServices')!.Action).toEqual(['lambda:*']);
    expect(p.globalServices).toEqual(['cloudfront', 'route53']);
  });

  test('custom resources need only lambda:InvokeFunction (sns:Publish for an SNS-backed one); CDK metadata needs nothing', () => {
    const p = DeploymentPolicy.fromTemplates([stackTemplate({
      C: { Type: 'Custom::Thing', Properties: { ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider' } },
      N: { Type: 'AWS::CloudFormation::CustomResource', Properties: { ServiceToken: 'arn:aws:sns:eu-west-1:123456789012:provider' } },
      M: { Type: 'AWS::CDK::Metadata' },
    })]);
    expect(statement(doc(p), 'RegionalServices')!.Action).toEqual(['lambda:InvokeFunction', 'sns:Publish']);
    expect(doc(p).Statement.map((s) => s.Sid)).toEqual(['RegionalServices']);
  });

  test('an unknown resource type is an error naming it and the remedy; allowUnknownResourceTypes lists it; a mapping resolves it', () => {
    const t = [stackTemplate({ X: { Type: 'AWS::Imaginary::Widget' }, Q: { Type: 'AWS::SQS::Queue' } })];
    expect(() => DeploymentPolicy.fromTemplates(t)).toThrow(/unknown resource type\(s\) AWS::Imaginary::Widget.*resourceTypeMappings/);
    const allowed = DeploymentPolicy.fromTemplates(t, { allowUnknownResourceTypes: true });
    expect(allowed.unknownResourceTypes).toEqual(['AWS::Imaginary::Widget']);
    expect(allowed.regionalServices).toEqual(['sqs']);
    const mapped = DeploymentPolicy.fromTemplates(t, { resourceTypeMappings: [{ resourceType: 'AWS::Imaginary::', services: ['imaginary'] }] });
    expect(mapped.regionalServices).toEqual(['imaginary', 'sqs']);
  });

  test('an environment-agnostic stack needs `regions` (clear error); with it, those regions are allowed', () => {
    const agnostic: StackTemplate[] = [{ name: 'Test', templateJson: template({ Q: { Type: 'AWS::SQS::Queue' } }) }];
    expect(() => DeploymentPolicy.fromTemplates(agnostic)).toThrow(/Test are environment-agnostic.*`regions`/);
    const p = DeploymentPolicy.fromTemplates(agnostic, { regions: ['eu-central-1', 'eu-west-1'] });
    expect(statement(doc(p), 'RegionalServices')!.Condition!.StringEquals['aws:RequestedRegion']).toEqual(['eu-central-1', 'eu-west-1']);
    expect(() => DeploymentPolicy.fromTemplates(agnostic, { regions: ['Ireland'] })).toThrow(/invalid region 'Ireland'/);
  });

  test('AWS::IAM::Policy attached to roles only needs the role inline-policy actions', () => {
    const p = DeploymentPolicy.fromTemplates([stackTemplate({ P: { Type: 'AWS::IAM::Policy', Properties: { Roles: [{ Ref: 'R' }] } } })]);
    expect(statement(doc(p), 'IamRolesAndPolicies')!.Action).toEqual(['iam:DeleteRolePolicy', 'iam:GetRolePolicy', 'iam:PutRolePolicy']);
  });

  test('the bootstrap roles excluded are the qualifier\'s: an app stack named cdk-... keeps its own roles', () => {
    const roles = { R: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: { Statement: [{ Principal: { Service: 'lambda.amazonaws.com' } }] } } } };
    const p = DeploymentPolicy.fromTemplates([stackTemplate(roles)], { qualifier: 'acme1' });
    expect(statement(doc(p), 'IamRolesAndPolicies')!.NotResource).toContain('arn:aws:iam::*:role/cdk-acme1-*');
    expect(statement(doc(p), 'IamPassRole')!.NotResource).toEqual(['arn:aws:iam::*:role/cdk-acme1-*']);
    // a role CloudFormation names cdk-orders-RouterRole-... is not a bootstrap role of qualifier acme1
    expect(JSON.stringify(doc(p))).not.toContain('role/cdk-*');
    expect(() => DeploymentPolicy.fromTemplates([stackTemplate(roles)], { qualifier: 'Not-OK' })).toThrow(/invalid qualifier 'Not-OK'/);
  });

  test('with a permissions boundary, role-writing actions need it (iam:PermissionsBoundary) and the boundary cannot be removed', () => {
    const boundaryArn = 'arn:aws:iam::123456789012:policy/app-boundary';
    const p = DeploymentPolicy.fromTemplates([stackTemplate({
      R: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: { Statement: [{ Principal: { Service: 'lambda.amazonaws.com' } }] } } },
      P: { Type: 'AWS::IAM::Policy', Properties: { Roles: [{ Ref: 'R' }] } },
    })], { permissionsBoundaryArn: boundaryArn });
    const d = doc(p);
    const bounded = statement(d, 'IamRolesWithinBoundary')!;
    expect(bounded.Action).toEqual(expect.arrayContaining(['iam:CreateRole', 'iam:PutRolePolicy', 'iam:AttachRolePolicy', 'iam:PutRolePermissionsBoundary']));
    expect(bounded.Condition).toEqual({ StringEquals: { 'iam:PermissionsBoundary': [boundaryArn] } });
    const free = statement(d, 'IamRolesAndPolicies')!;
    expect(free.Action).not.toContain('iam:CreateRole');
    expect(free.Action).not.toContain('iam:PutRolePolicy');
    expect(JSON.stringify(d)).not.toContain('iam:DeleteRolePermissionsBoundary');
    expect(free.Action).toContain('iam:GetRole');
    // without a boundary the same app gets one unconditioned statement that can create any role
    const plain = doc(DeploymentPolicy.fromTemplates([stackTemplate({ R: { Type: 'AWS::IAM::Role' } })]));
    expect(statement(plain, 'IamRolesWithinBoundary')).toBeUndefined();
    expect(statement(plain, 'IamRolesAndPolicies')!.Action).toContain('iam:CreateRole');
    expect(() => DeploymentPolicy.fromTemplates([stackTemplate({})], { permissionsBoundaryArn: 'app-boundary' })).toThrow(/invalid permissionsBoundaryArn/);
  });

  test('a role the app does not define (imported ARN) still gets iam:PassRole, unconditioned, with a warning; template roles do not warn', () => {
    const imported = DeploymentPolicy.fromTemplates([stackTemplate({
      F: { Type: 'AWS::Lambda::Function', Properties: { Role: 'arn:aws:iam::123456789012:role/shared-lambda-role' } },
      S: { Type: 'AWS::Scheduler::Schedule', Properties: { Target: { RoleArn: { 'Fn::ImportValue': 'SchedulerRole' } } } },
    })]);
    const pass = statement(doc(imported), 'IamPassRole')!;
    expect(pass.Action).toEqual(['iam:PassRole']);
    expect(pass.Condition).toBeUndefined();
    expect(pass.NotResource).toEqual(['arn:aws:iam::*:role/cdk-hnb659fds-*']);
    expect(imported.warnings.join('\n')).toMatch(/Test\/F \(AWS::Lambda::Function\) passes a role the app does not define \(Role\)/);
    expect(imported.warnings.join('\n')).toMatch(/Test\/S \(AWS::Scheduler::Schedule\) passes a role the app does not define \(RoleArn\)/);
    const own = DeploymentPolicy.fromTemplates([stackTemplate({
      R: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: { Statement: [{ Principal: { Service: 'lambda.amazonaws.com' } }] } } },
      F: { Type: 'AWS::Lambda::Function', Properties: { Role: { 'Fn::GetAtt': ['R', 'Arn'] } } },
    })]);
    expect(own.warnings).toEqual([]);
    expect(statement(doc(own), 'IamPassRole')!.Condition).toEqual({ StringEquals: { 'iam:PassedToService': ['lambda.amazonaws.com'] } });
  });

  test('a capacity provider\'s VPC configuration needs the EC2 describe actions, like a function in a VPC', () => {
    const p = DeploymentPolicy.fromTemplates([stackTemplate({
      CP: { Type: 'AWS::Lambda::CapacityProvider', Properties: { VpcConfig: { SubnetIds: ['subnet-1'], SecurityGroupIds: ['sg-1'] } } },
    })]);
    expect(statement(doc(p), 'RegionalServices')!.Action).toEqual(expect.arrayContaining([
      'ec2:DescribeSecurityGroups', 'ec2:DescribeSubnets', 'ec2:DescribeVpcs', 'lambda:*',
    ]));
  });

  test('a custom policy name is excluded from the IAM statement and used in the bootstrap command; partition is honoured', () => {
    const p = DeploymentPolicy.fromTemplates([stackTemplate({ R: { Type: 'AWS::IAM::Role' } })], { policyName: 'acme-cfn-exec', partition: 'aws-cn' });
    expect(statement(doc(p), 'IamRolesAndPolicies')!.NotResource).toEqual(['arn:aws-cn:iam::*:role/cdk-hnb659fds-*', 'arn:aws-cn:iam::*:policy/acme-cfn-exec']);
    expect(p.bootstrapCommands('p.json', 'acme', undefined)).toContain(
      'cdk bootstrap aws://123456789012/eu-west-1 --cloudformation-execution-policies arn:aws-cn:iam::123456789012:policy/acme-cfn-exec --qualifier acme --toolkit-stack-name CDKToolkit-acme');
  });
});

describe('DeploymentPolicy.of', () => {
  test('covers stacks of nested stages and nested stacks, with every stack\'s region', () => {
    const app = new App({ outdir: tmpdir('dp-nested-') });
    new Stack(app, 'Top', { env: { account: '123456789012', region: 'us-east-1' } });
    const stage = new Stage(app, 'Prod', { env: { account: '123456789012', region: 'eu-west-1' } });
    const parent = new Stack(stage, 'Parent');
    const nested = new NestedStack(parent, 'Inner');
    new sqs.Queue(nested, 'Queue');
    const outputFile = path.join(tmpdir('dp-nested-out-'), 'p.json');
    const plugin = DeploymentPolicy.of(app, { outputFile, printBootstrapCommand: false });
    app.synth();
    const p = plugin.lastPolicy!;
    expect(p.regions).toEqual(['eu-west-1', 'us-east-1']);
    expect(p.resourceTypes).toEqual(expect.arrayContaining(['AWS::CloudFormation::Stack', 'AWS::SQS::Queue']));
    expect(p.regionalServices).toEqual(expect.arrayContaining(['cloudformation', 'sqs']));
    expect(p.warnings).toEqual([]);
    // the nested stack runs with the execution role: the role may pass itself to CloudFormation, and nothing else
    const d = doc(p);
    expect(statement(d, 'IamPassExecutionRoleToNestedStacks')).toEqual({
      Sid: 'IamPassExecutionRoleToNestedStacks',
      Effect: 'Allow',
      Action: ['iam:PassRole'],
      Resource: ['arn:aws:iam::*:role/cdk-hnb659fds-cfn-exec-role-*'],
      Condition: { StringEquals: { 'iam:PassedToService': ['cloudformation.amazonaws.com'] } },
    });
  });

  test('prints the bootstrap command once per synth, not once per stack', () => {
    const app = new App({ outdir: tmpdir('dp-print-') });
    for (const id of ['A', 'B', 'C']) new sqs.Queue(new Stack(app, id, { env: { account: '123456789012', region: 'eu-west-1' } }), 'Q');
    DeploymentPolicy.of(app, { outputFile: path.join(tmpdir('dp-print-out-'), 'p.json') });
    const spy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      app.synth();
      const printed = spy.mock.calls.map((c) => String(c[0])).filter((m) => m.includes('cdk bootstrap'));
      expect(printed).toHaveLength(1);
      expect(printed[0]).toContain('--cloudformation-execution-policies arn:aws:iam::123456789012:policy/cdk-execution-policy');
      expect(printed[0]).toMatch(/--qualifier.*--toolkit-stack-name/s);
    } finally {
      spy.mockRestore();
    }
  });

  test('an environment-agnostic stack without `regions` fails synth with the remedy', () => {
    const app = new App({ outdir: tmpdir('dp-agnostic-') });
    new sqs.Queue(new Stack(app, 'Agnostic'), 'Q');
    DeploymentPolicy.of(app, { outputFile: path.join(tmpdir('dp-agnostic-out-'), 'p.json'), printBootstrapCommand: false });
    expect(() => app.synth()).toThrow(/Agnostic are environment-agnostic/);
  });

  test('is registered once per app', () => {
    const app = new App({ outdir: tmpdir('dp-twice-') });
    DeploymentPolicy.of(app, { printBootstrapCommand: false });
    expect(() => DeploymentPolicy.of(app)).toThrow(/already has a DeploymentPolicy/);
  });
});
