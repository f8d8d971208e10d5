import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { PersistentBucket } from '../../src';
import { CfnEvent } from '../../src/core/runtime/cfn-response';
import { markerAction, markerBody, parseMarkerProperties, MARKER_OBJECT_KEY } from '../../src/guardrails/runtime/marker-object';
import { handleMarkerEvent } from '../../src/guardrails/runtime/marker-object.lambda';

const s3Mock = mockClient(S3Client);

function event(requestType: CfnEvent['RequestType'], props: Record<string, unknown> = { BucketName: 'acme-artifacts', Key: MARKER_OBJECT_KEY }): CfnEvent {
  return {
    RequestType: requestType,
    ResponseURL: 'https://cloudformation-custom-resource-response.example/response',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Test/guid',
    RequestId: 'req-1',
    LogicalResourceId: 'ArtifactsMarkerObject',
    PhysicalResourceId: requestType === 'Create' ? undefined : 's3://acme-artifacts/DO_NOT_DELETE_S3_BUCKET_PERSISTENT',
    ResourceProperties: { ServiceToken: 'arn', ...props },
  };
}

function recorder() {
  const responses: any[] = [];
  const put = jest.fn(async (_url: string, body: string) => {
    responses.push(JSON.parse(body));
    return { status: 200 };
  });
  return { responses, put };
}

beforeEach(() => s3Mock.reset());

describe('marker object handler', () => {
  test('Create writes the marker and answers SUCCESS with the object as physical id', async () => {
    s3Mock.on(PutObjectCommand).resolves({});
    const { responses, put } = recorder();
    await handleMarkerEvent(event('Create'), { s3: new S3Client({}), put });
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, { Bucket: 'acme-artifacts', Key: MARKER_OBJECT_KEY });
    expect(responses).toEqual([expect.objectContaining({
      Status: 'SUCCESS',
      PhysicalResourceId: 's3://acme-artifacts/DO_NOT_DELETE_S3_BUCKET_PERSISTENT',
      RequestId: 'req-1',
      LogicalResourceId: 'ArtifactsMarkerObject',
    })]);
    expect(put.mock.calls[0][0]).toBe('https://cloudformation-custom-resource-response.example/response');
  });

  test('Update rewrites the marker', async () => {
    s3Mock.on(PutObjectCommand).resolves({});
    const { responses, put } = recorder();
    await handleMarkerEvent(event('Update'), { s3: new S3Client({}), put });
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 1);
    expect(responses[0].Status).toBe('SUCCESS');
  });

  test('Delete leaves the marker in place and answers SUCCESS with the same physical id', async () => {
    const { responses, put } = recorder();
    await handleMarkerEvent(event('Delete'), { s3: new S3Client({}), put });
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 0);
    expect(responses[0]).toEqual(expect.objectContaining({ Status: 'SUCCESS', PhysicalResourceId: 's3://acme-artifacts/DO_NOT_DELETE_S3_BUCKET_PERSISTENT' }));
  });

  test('an S3 error answers FAILED with the reason, so the deployment stops instead of hanging', async () => {
    s3Mock.on(PutObjectCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
    const { responses, put } = recorder();
    await handleMarkerEvent(event('Create'), { s3: new S3Client({}), put });
    expect(responses[0].Status).toBe('FAILED');
    expect(responses[0].Reason).toBe('AccessDenied: Access Denied');
  });

  test('a bad bucket name answers FAILED naming the field and calls no S3 API', async () => {
    const { responses, put } = recorder();
    await handleMarkerEvent(event('Create', { BucketName: 'Not A Bucket' }), { s3: new S3Client({}), put });
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 0);
    expect(responses[0].Status).toBe('FAILED');
    expect(responses[0].Reason).toContain('ResourceProperties.BucketName');
  });

  test('a failed response PUT is retried', async () => {
    s3Mock.on(PutObjectCommand).resolves({});
    let calls = 0;
    const put = jest.fn(async () => ({ status: ++calls < 2 ? 503 : 200 }));
    await handleMarkerEvent(event('Create'), { s3: new S3Client({}), put });
    expect(put).toHaveBeenCalledTimes(2);
  });
});

describe('marker pure logic', () => {
  test('the runtime key matches the construct constant', () => {
    expect(MARKER_OBJECT_KEY).toBe(PersistentBucket.MARKER_OBJECT_KEY);
  });
  test('actions per request type', () => {
    expect(markerAction('Create')).toBe('PUT');
    expect(markerAction('Update')).toBe('PUT');
    expect(markerAction('Delete')).toBe('NONE');
    expect(() => markerAction('Purge')).toThrow(/Unknown RequestType "Purge"/);
  });
  test('body names the bucket and the stack', () => {
    const body = markerBody(parseMarkerProperties({ BucketName: 'acme-a', StackName: 'Prod' }));
    expect(body).toContain('Bucket: acme-a');
    expect(body).toContain('stack: Prod');
    expect(body).toContain('takeover');
  });
  test('key defaults to the marker key and must be sane', () => {
    expect(parseMarkerProperties({ BucketName: 'acme-a' }).key).toBe(MARKER_OBJECT_KEY);
    expect(() => parseMarkerProperties({ BucketName: 'acme-a', Key: '' })).toThrow(/ResourceProperties.Key/);
    expect(() => parseMarkerProperties(undefined)).toThrow(/ResourceProperties missing/);
  });
});
