/**
 * A second opinion on S3: the PersistentBucket marker handler, as its bundled asset with the real
 * S3 client, writes its marker through s3rver (an independent S3 implementation) exactly as through
 * the S3 fake, and answers CloudFormation SUCCESS.
 */
import * as path from 'path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LocalLambda, WIRE_CREDENTIALS } from '../../harness/aws/lambda-runner';
import { S3Service } from '../../harness/aws/services/s3';
import { S3rverService } from '../../harness/aws/services/s3rver';
import { ServiceModule, WireServer } from '../../harness/aws/wire-server';

const ASSET = path.resolve(__dirname, '../../../assets/guardrails/runtime/marker-object.lambda');
const BUCKET = 'cdkpp-release-artifacts-123456789012-us-east-1';

async function writeMarker(s3: ServiceModule & { start?: () => Promise<void>; stop?: () => Promise<void> }) {
  await s3.start?.();
  const wire = new WireServer().register(s3);
  await wire.start();
  const fn = new LocalLambda({ assetDir: ASSET, wire });
  try {
    await fn.invoke({
      RequestType: 'Create',
      ResponseURL: wire.responseUrl('marker'),
      StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/P/1',
      RequestId: 'r1',
      LogicalResourceId: 'ArtifactsMarkerObject',
      ResourceProperties: { BucketName: BUCKET, Key: 'DO_NOT_DELETE_S3_BUCKET_PERSISTENT', StackName: 'P', ConstructPath: 'P/Artifacts' },
    });
    const client = new S3Client({ region: 'us-east-1', endpoint: wire.url, credentials: { accessKeyId: WIRE_CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: WIRE_CREDENTIALS.AWS_SECRET_ACCESS_KEY } });
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'DO_NOT_DELETE_S3_BUCKET_PERSISTENT' }));
    // s3rver knows its access keys (it does not verify SigV4 signatures): an unknown key is refused.
    const forged = new S3Client({ region: 'us-east-1', endpoint: wire.url, credentials: { accessKeyId: 'AKIDUNKNOWN000000000', secretAccessKey: 'x' } });
    const refused = await forged.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'DO_NOT_DELETE_S3_BUCKET_PERSISTENT' })).then(() => 'accepted', (e: Error) => e.name);
    return { response: wire.cfnResponsesFor('marker')[0], body: await got.Body!.transformToString(), contentType: got.ContentType, refused };
  } finally {
    await fn.close();
    await wire.stop();
    await s3.stop?.();
  }
}

test('the marker handler writes the same object through s3rver and through the S3 fake', async () => {
  const fake = new S3Service();
  fake.createBucket(BUCKET);
  const viaFake = await writeMarker(fake);
  const viaS3rver = await writeMarker(new S3rverService([BUCKET]));
  expect(viaS3rver.response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `s3://${BUCKET}/DO_NOT_DELETE_S3_BUCKET_PERSISTENT` });
  expect(viaFake.response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: viaS3rver.response.PhysicalResourceId });
  expect(viaS3rver.body).toContain('P/Artifacts');
  expect(viaFake.body).toBe(viaS3rver.body);
  expect(viaFake.contentType).toBe(viaS3rver.contentType);
  expect(viaS3rver.refused).toBe('InvalidAccessKeyId');
});
