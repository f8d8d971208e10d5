import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';

/**
 * Adds the statement AWS Control Tower's CT.KMS.PR.3 asks every key policy for: nobody may create a
 * grant on the key unless the grant is for an AWS resource (DynamoDB, Lambda, SQS... create grants
 * for the resources they encrypt) or the caller is an AWS service. People and roles use the key
 * through IAM and the key policy, never through grants they hand out themselves.
 */
export function limitGrantsToAwsServices(key: kms.Key): void {
  key.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'DenyCreateGrantExceptForAwsResources',
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: ['kms:CreateGrant'],
    resources: ['*'],
    conditions: {
      // strings, as IAM writes them: the rule compares with "false"
      BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' },
    },
  }));
}

/**
 * Lets CloudWatch Logs of this account and region use the key for log groups (a log group encrypted
 * with a customer key, CT.CLOUDWATCH.PR.3, fails to create without it). The encryption context
 * limits it to log groups of this account and region; a log group's own ARN cannot be named here
 * (the log group refers to the key: a circular reference).
 */
export function allowLogGroupsToUseKey(key: kms.Key): void {
  const stack = Stack.of(key);
  key.addToResourcePolicy(new iam.PolicyStatement({
    principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
    actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:DescribeKey'],
    resources: ['*'],
    conditions: {
      ArnLike: {
        'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
      },
    },
  }));
}
