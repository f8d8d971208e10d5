import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { expectNoWildcardActions, findWildcardActions, isWildcardAction } from './iam';

function roleWith(statement: iam.PolicyStatement): Template {
  const stack = new Stack();
  const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  role.addToPolicy(statement);
  return Template.fromStack(stack);
}

describe('expectNoWildcardActions', () => {
  test.each([
    ['*'],
    ['s3:*'],
    ['dynamodb:*'],
  ])('fails on Action %s', (action) => {
    const template = roleWith(new iam.PolicyStatement({ actions: [action], resources: ['*'] }));
    expect(() => expectNoWildcardActions(template)).toThrow(new RegExp(`Action: ${action.replace('*', '\\*')}`));
  });

  test('fails on an Allow with NotAction', () => {
    const template = roleWith(new iam.PolicyStatement({ notActions: ['iam:*'], resources: ['*'] }));
    expect(findWildcardActions(template)).toEqual([
      expect.objectContaining({ field: 'NotAction', action: 'iam:*', resourceType: 'AWS::IAM::Policy' }),
    ]);
    expect(() => expectNoWildcardActions(template)).toThrow(/NotAction/);
  });

  test('passes on exact actions and on action prefixes narrower than a whole service', () => {
    const template = roleWith(new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:List*'], resources: ['arn:aws:s3:::b/*'] }));
    expect(() => expectNoWildcardActions(template)).not.toThrow();
  });

  test('ignores Deny statements such as the TLS-only s3:* deny', () => {
    const stack = new Stack();
    new s3.Bucket(stack, 'B', { enforceSSL: true });
    const template = Template.fromStack(stack);
    expect(JSON.stringify(template.toJSON())).toContain('"s3:*"');
    expect(() => expectNoWildcardActions(template)).not.toThrow();
  });

  test('finds wildcards in resource policies too', () => {
    const stack = new Stack();
    const bucket = new s3.Bucket(stack, 'B');
    bucket.addToResourcePolicy(new iam.PolicyStatement({ actions: ['s3:*'], principals: [new iam.AccountRootPrincipal()], resources: [bucket.arnForObjects('*')] }));
    expect(findWildcardActions(Template.fromStack(stack))).toEqual([
      expect.objectContaining({ resourceType: 'AWS::S3::BucketPolicy', action: 's3:*' }),
    ]);
  });

  test('isWildcardAction', () => {
    expect(isWildcardAction('*')).toBe(true);
    expect(isWildcardAction('kms:*')).toBe(true);
    expect(isWildcardAction('kms:Decrypt')).toBe(false);
    expect(isWildcardAction('kms:Re*')).toBe(false);
  });
});
