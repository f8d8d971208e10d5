import { App, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { expectNoUnsuppressedNagErrors, runNag } from './nag';

function stackWithPlainBucket(): { app: App; stack: Stack; bucket: s3.Bucket } {
  const app = new App();
  const stack = new Stack(app, 'Nagged', { env: { account: '123456789012', region: 'us-east-1' } });
  // No TLS enforcement, no access logs: several AwsSolutions errors.
  const bucket = new s3.Bucket(stack, 'Plain');
  return { app, stack, bucket };
}

describe('expectNoUnsuppressedNagErrors', () => {
  test('fails on a stack with a bucket that accepts plain HTTP and has no access logs, naming the rule and the path', () => {
    const { stack } = stackWithPlainBucket();
    expect(() => expectNoUnsuppressedNagErrors(stack)).toThrow(/AwsSolutions-S10 at Nagged\/Plain\/Resource/);
    expect(() => expectNoUnsuppressedNagErrors(stack)).toThrow(/AwsSolutions-S1 at Nagged\/Plain\/Resource/);
  });

  test('runNag reports errors of both packs with severity', () => {
    const { stack } = stackWithPlainBucket();
    const findings = runNag(stack);
    const rules = findings.map((f) => f.rule);
    expect(rules).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']));
    expect(findings.every((f) => f.severity === 'error' || f.severity === 'warning')).toBe(true);
  });

  test('acknowledged findings are not reported', () => {
    const { stack, bucket } = stackWithPlainBucket();
    for (const id of ['AwsSolutions-S1', 'AwsSolutions-S10', 'Serverless-S3BucketSSLRequestsOnly']) {
      Validations.of(bucket).acknowledge({ id, reason: 'test' });
    }
    const left = runNag(stack).filter((f) => f.severity === 'error').map((f) => f.rule);
    expect(left).not.toContain('AwsSolutions-S1');
    expect(left).not.toContain('AwsSolutions-S10');
  });

  test('passes on a compliant stack', () => {
    const app = new App();
    const stack = new Stack(app, 'Clean');
    const logs = new s3.Bucket(stack, 'Logs', { enforceSSL: true });
    Validations.of(logs).acknowledge({ id: 'AwsSolutions-S1', reason: 'the access-log destination itself' });
    new s3.Bucket(stack, 'Data', { enforceSSL: true, serverAccessLogsBucket: logs });
    expect(() => expectNoUnsuppressedNagErrors(stack)).not.toThrow();
  });
});
