/**
 * Local simulation: runs the real marker-object handler (the one bundled into the PersistentBucket
 * custom resource) through a Create, an Update and a Delete, against an in-memory S3 (the SDK client
 * is mocked), and prints what it wrote and what it answered CloudFormation.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { CfnEvent } from '../../src/core/runtime/cfn-response';
import { handleMarkerEvent } from '../../src/guardrails/runtime/marker-object.lambda';

async function main(): Promise<void> {
  const objects = new Map<string, string>();
  const s3 = mockClient(S3Client);
  s3.on(PutObjectCommand).callsFake((input) => {
    objects.set(`s3://${input.Bucket}/${input.Key}`, String(input.Body));
    return {};
  });
  const responses: Array<{ Status: string; PhysicalResourceId: string; Reason: string }> = [];
  const put = async (_url: string, body: string) => {
    responses.push(JSON.parse(body));
    return { status: 200 };
  };
  const base = {
    ResponseURL: 'https://local.invalid/response',
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/PersistentArtifacts/local',
    LogicalResourceId: 'ArtifactsMarkerObject',
    ResourceProperties: {
      BucketName: 'cdkpp-release-artifacts-123456789012-us-east-1',
      Key: 'DO_NOT_DELETE_S3_BUCKET_PERSISTENT',
      StackName: 'PersistentArtifacts',
      ConstructPath: 'PersistentArtifacts/Artifacts',
    },
  };
  const steps: CfnEvent['RequestType'][] = ['Create', 'Update', 'Delete'];
  for (const [i, type] of steps.entries()) {
    const event: CfnEvent = { ...base, RequestType: type, RequestId: `req-${i}`, PhysicalResourceId: i === 0 ? undefined : responses[0]?.PhysicalResourceId };
    await handleMarkerEvent(event, { s3: new S3Client({ region: 'us-east-1' }), put });
    const r = responses[responses.length - 1];
    console.log(`${type.padEnd(6)} -> ${r.Status} ${r.PhysicalResourceId} (S3 writes so far: ${s3.commandCalls(PutObjectCommand).length})`);
  }
  const [key, body] = [...objects.entries()][0];
  console.log(`\nMarker object ${key}:\n${body.split('\n').map((l) => `  | ${l}`).join('\n')}`);
  if (responses.some((r) => r.Status !== 'SUCCESS') || objects.size !== 1) {
    throw new Error('simulation failed: expected three SUCCESS answers and exactly one marker object');
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
