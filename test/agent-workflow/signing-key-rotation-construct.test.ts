/**
 * HumanApprovalOptions.signingKeyRotation: the rotation function, its permissions (only this secret,
 * invoked by Secrets Manager of this account for this secret only), the rotation schedule (rate in
 * days, no rotation at deployment), the synth-time check of the interval against the longest
 * approval wait, and the cdk-nag acknowledgement that says whether the key rotates.
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { IConstruct } from 'constructs';
import { minimalProps, newStack } from './workflow-fixtures';
import { ApprovalPolicy, ApprovalTimeout, HumanApproval, HumanApprovalOptions, StepFunctionsAgentWorkflow } from '../../src';
import { expectNoWildcardActions } from '../harness/iam';
import { expectNoUnsuppressedNagErrors } from '../harness/nag';

interface Built {
  readonly stack: Stack;
  readonly workflow: StepFunctionsAgentWorkflow;
  readonly template: Template;
  readonly key?: kms.Key;
}

function build(options: HumanApprovalOptions, withKey = true): Built {
  const stack = newStack();
  const key = withKey ? new kms.Key(stack, 'Key', { enableKeyRotation: true }) : undefined;
  key?.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey');
  const topic = new sns.Topic(stack, 'Approvers', { masterKey: key, enforceSSL: true });
  const workflow = new StepFunctionsAgentWorkflow(stack, 'Claims', minimalProps(stack, {
    approval: ApprovalPolicy.always(HumanApproval.notify(topic, options)),
    encryptionKey: key,
  }));
  return { stack, workflow, template: Template.fromStack(stack), key };
}

function synthError(options: HumanApprovalOptions): string {
  try {
    build(options);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('no error');
}

/** The acknowledgements recorded on a construct (metadata: `{ "Annotation::<id>": reason }`). */
function acknowledged(construct: IConstruct): Array<{ id: string; reason: string }> {
  return construct.node.metadata
    .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
    .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ id: id.replace(/^Annotation::/, ''), reason })));
}

const rotationFunctionIds = (t: Template) => Object.entries(t.findResources('AWS::Lambda::Function'))
  .filter(([, r]) => r.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'agent-workflow-signingkeyrotation')
  .map(([id]) => id);

describe('without signingKeyRotation', () => {
  const b = build({ timeout: Duration.days(2) });
  test('no rotation schedule and no rotation function', () => {
    b.template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
    expect(rotationFunctionIds(b.template)).toEqual([]);
    expect(b.workflow.functions.signingKeyRotation).toBeUndefined();
  });
  test('AwsSolutions-SMG4 is acknowledged on the secret, saying rotation is off and what a rotation by hand does', () => {
    const acks = acknowledged(b.workflow.signingSecret!).filter((a) => a.id === 'AwsSolutions-SMG4');
    expect(acks).toHaveLength(1);
    expect(acks[0].reason).toMatch(/rotation of the link-signing key is off \(HumanApprovalOptions.signingKeyRotation not set\)/);
    expect(acks[0].reason).toMatch(/previous key stays valid/);
    expectNoUnsuppressedNagErrors(b.stack);
  });
});

describe('with signingKeyRotation: Duration.days(30)', () => {
  const b = build({ timeout: Duration.days(2), onTimeout: ApprovalTimeout.reject(), signingKeyRotation: Duration.days(30) });
  const t = b.template;
  const [fnId] = rotationFunctionIds(t);
  const secretId = Object.keys(t.findResources('AWS::SecretsManager::Secret'))[0];

  test('one rotation function of ours (nodejs24.x, arm64), told which secret it rotates, exposed by role', () => {
    expect(rotationFunctionIds(t)).toHaveLength(1);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Environment: { Variables: Match.objectLike({ SIGNING_SECRET_ARN: { Ref: secretId }, POWERTOOLS_SERVICE_NAME: 'agent-workflow-signingkeyrotation' }) },
    });
    expect(b.workflow.functions.signingKeyRotation).toBeDefined();
    expect(b.stack.resolve(b.workflow.functions.signingKeyRotation!.functionArn)).toEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
  });

  test('the schedule: this secret, this function, rate(30 days), no rotation when deployed or changed; after the invoke permission and the role policy', () => {
    const schedules = t.findResources('AWS::SecretsManager::RotationSchedule');
    expect(Object.values(schedules)).toHaveLength(1);
    const [schedule] = Object.values<any>(schedules);
    expect(schedule.Properties).toEqual({
      SecretId: { Ref: secretId },
      RotationLambdaARN: { 'Fn::GetAtt': [fnId, 'Arn'] },
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
      RotateImmediatelyOnUpdate: false,
    });
    const permissionId = Object.entries(t.findResources('AWS::Lambda::Permission'))
      .find(([, r]) => r.Properties.Principal === 'secretsmanager.amazonaws.com')![0];
    const policyIds = Object.entries(t.findResources('AWS::IAM::Policy'))
      .filter(([, r]) => r.Properties.Roles.some((role: any) => JSON.stringify(role).includes(fnId.replace(/[0-9A-F]{8}$/, ''))))
      .map(([id]) => id);
    expect(policyIds).toHaveLength(1);
    expect(schedule.DependsOn).toEqual(expect.arrayContaining([permissionId, policyIds[0]]));
  });

  test('Secrets Manager may invoke the function only for this secret, from this account', () => {
    t.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] },
      Principal: 'secretsmanager.amazonaws.com',
      SourceAccount: '123456789012',
      SourceArn: { Ref: secretId },
    });
  });

  test('the function may read, write and relabel only this secret, and use the key only through Secrets Manager for it; no GetRandomPassword', () => {
    const policies = Object.values<any>(t.findResources('AWS::IAM::Policy'))
      .filter((p) => p.Properties.Roles.some((role: any) => JSON.stringify(role).includes(fnId.replace(/[0-9A-F]{8}$/, ''))));
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
    const secretStatements = statements.filter((s: any) => JSON.stringify(s.Action).includes('secretsmanager'));
    expect(secretStatements).toEqual([{
      Effect: 'Allow',
      Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
      Resource: { Ref: secretId },
    }]);
    const keyId = Object.keys(t.findResources('AWS::KMS::Key'))[0];
    expect(statements.filter((s: any) => JSON.stringify(s.Action).includes('kms:'))).toEqual([{
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: { 'Fn::GetAtt': [keyId, 'Arn'] },
      Condition: {
        StringEquals: {
          'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.us-east-1.', { Ref: 'AWS::URLSuffix' }]] },
          'kms:EncryptionContext:SecretARN': { Ref: secretId },
        },
      },
    }]);
    expect(JSON.stringify(t.toJSON())).not.toContain('GetRandomPassword');
  });

  test('an error alarm watches the rotation function', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId } }],
    });
  });

  test('AwsSolutions-SMG4 is no longer acknowledged (the secret rotates); zero unsuppressed cdk-nag errors; no wildcard actions', () => {
    expect(acknowledged(b.workflow.signingSecret!).filter((a) => a.id === 'AwsSolutions-SMG4')).toEqual([]);
    expectNoUnsuppressedNagErrors(b.stack);
    const json = structuredClone(t.toJSON());
    for (const res of Object.values<any>(json.Resources)) {
      if (res.Type === 'AWS::KMS::Key') res.Properties.KeyPolicy.Statement = res.Properties.KeyPolicy.Statement.filter((s: any) => s.Action !== 'kms:*');
    }
    expectNoWildcardActions(Template.fromJSON(json));
  });

  test('without a customer key: no KMS statement for the rotation function', () => {
    const plain = build({ signingKeyRotation: Duration.days(30) }, false).template;
    const [id] = rotationFunctionIds(plain);
    const statements = Object.values<any>(plain.findResources('AWS::IAM::Policy'))
      .filter((p) => p.Properties.Roles.some((role: any) => JSON.stringify(role).includes(id.replace(/[0-9A-F]{8}$/, ''))))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements.filter((s: any) => JSON.stringify(s.Action).includes('kms:'))).toEqual([]);
  });
});

describe('the interval is checked at synth against the longest approval wait', () => {
  test('timeout 2 days, no escalation: at least 4 days (2 days + 1 day + 5 minutes, whole days)', () => {
    expect(() => build({ timeout: Duration.days(2), signingKeyRotation: Duration.days(4) })).not.toThrow();
    const message = synthError({ timeout: Duration.days(2), signingKeyRotation: Duration.days(3) });
    expect(message).toMatch(/^S\/Claims: invalid prop 'approval.signingKeyRotation': must be in 4\.\.1000 days, got 3:/);
    expect(message).toContain('longest approval wait (2 days: the timeout plus the escalation timeout)');
  });

  test('with escalation the escalation timeout counts: 2 days + 1 day waits need at least 5 days', () => {
    const topic = (s: Stack) => new sns.Topic(s, 'Leads');
    const stack = newStack();
    const approvers = new sns.Topic(stack, 'Approvers');
    const make = (days: number) => () => new StepFunctionsAgentWorkflow(stack, `W${days}`, minimalProps(stack, {
      approval: ApprovalPolicy.always(HumanApproval.notify(approvers, {
        timeout: Duration.days(2), onTimeout: ApprovalTimeout.escalate(topic(new Stack(stack, `L${days}`)), Duration.days(1)), signingKeyRotation: Duration.days(days),
      })),
    }));
    expect(make(4)).toThrow(/invalid prop 'approval.signingKeyRotation': must be in 5\.\.1000 days, got 4:.*\(3 days: the timeout plus the escalation timeout\)/);
    expect(make(5)).not.toThrow();
  });

  test('a part of a day, or more than 1000 days, is refused', () => {
    expect(synthError({ timeout: Duration.hours(1), signingKeyRotation: Duration.hours(36) }))
      .toMatch(/invalid prop 'approval.signingKeyRotation': must be a whole number of days \(the schedule is rate\(N days\)\), got 1 day 12 hours/);
    expect(synthError({ timeout: Duration.hours(1), signingKeyRotation: Duration.days(1001) }))
      .toMatch(/invalid prop 'approval.signingKeyRotation': must be in 2\.\.1000 days, got 1001/);
  });
});
