/**
 * Contract of the S3 fake: requests built by the real SDK (path style against an IP endpoint, flexible
 * checksums, aws-chunked bodies) parse and do what S3 does, answers deserialize, and every error
 * reaches the handler under the name (and class) the handlers switch on.
 */
import { createHash } from 'crypto';
import * as path from 'path';
import { Readable } from 'stream';
import {
  CopyObjectCommand, CreateBucketCommand, DeleteObjectCommand, DeleteObjectsCommand, GetBucketNotificationConfigurationCommand,
  GetBucketPolicyCommand, GetBucketTaggingCommand, GetBucketVersioningCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand,
  ListObjectsV2Command, ListObjectVersionsCommand, NoSuchBucket, NoSuchKey, NotFound, PutBucketNotificationConfigurationCommand,
  PutBucketPolicyCommand, PutBucketTaggingCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client, S3ServiceException,
} from '@aws-sdk/client-s3';
import { CONTRACT_CREDENTIALS, failureOf } from './kit';
import { s3Checksum, S3Service } from '../../harness/aws/services/s3';
import { WireServer } from '../../harness/aws/wire-server';

const wire = new WireServer();
const s3 = new S3Service();
const credentials = CONTRACT_CREDENTIALS;
let client: S3Client;

beforeAll(async () => {
  wire.register(s3);
  await wire.start();
  client = new S3Client({ region: 'us-east-1', endpoint: wire.url, credentials, maxAttempts: 1 });
});
afterAll(() => wire.stop());

/** The error a call fails with (or 'no error'), with its HTTP status. */
const failure = failureOf;

const md5 = (text: string) => `"${createHash('md5').update(text).digest('hex')}"`;

test('path-style requests: bucket and key (with spaces, plus, unicode, slashes) parse; CreateBucket/HeadBucket work', async () => {
  await client.send(new CreateBucketCommand({ Bucket: 'wire-paths' }));
  const head = await client.send(new HeadBucketCommand({ Bucket: 'wire-paths' }));
  expect(head.BucketRegion).toBe('us-east-1');
  const key = 'in box/a+b ü/%20.txt';
  await client.send(new PutObjectCommand({ Bucket: 'wire-paths', Key: key, Body: 'x' }));
  expect(s3.keys('wire-paths')).toEqual([key]);
  const call = wire.callsOf('s3', 'PutObject').pop()!;
  expect(call.input).toMatchObject({ Bucket: 'wire-paths', Key: key });
  const listed = await client.send(new ListObjectsV2Command({ Bucket: 'wire-paths' }));
  expect(listed.Contents?.map((c) => c.Key)).toEqual([key]);

  const missing = await failure(client.send(new HeadBucketCommand({ Bucket: 'wire-no-such-bucket' })));
  expect(missing.name).toBe('NotFound');
  expect(missing.error).toBeInstanceOf(NotFound);
  const noBucket = await failure(client.send(new GetObjectCommand({ Bucket: 'wire-no-such-bucket', Key: 'k' })));
  expect(noBucket.name).toBe('NoSuchBucket');
  expect(noBucket.error).toBeInstanceOf(NoSuchBucket);
});

test('PutObject stores content type, metadata and tags; ETag is the MD5; versioned buckets answer a version id', async () => {
  s3.createBucket('wire-put', { versioned: true });
  const put = await client.send(new PutObjectCommand({
    Bucket: 'wire-put', Key: 'doc.json', Body: '{"a":1}', ContentType: 'application/json', Metadata: { 'Actor-Id': 'alice' }, Tagging: 'team=blue&x=1',
  }));
  expect(put.ETag).toBe(md5('{"a":1}'));
  expect(put.VersionId).toMatch(/^[A-Za-z0-9._]{32}$/);
  expect(put.ChecksumCRC32).toBe(s3Checksum('crc32', Buffer.from('{"a":1}')));
  const stored = s3.getObject('wire-put', 'doc.json')!;
  expect(stored).toMatchObject({ versionId: put.VersionId, contentType: 'application/json', metadata: { 'actor-id': 'alice' }, tags: { team: 'blue', x: '1' } });
  expect(stored.body.toString()).toBe('{"a":1}');

  // unversioned: no version id header, and a second write replaces the null version
  s3.createBucket('wire-plain');
  const plain = await client.send(new PutObjectCommand({ Bucket: 'wire-plain', Key: 'k', Body: 'one' }));
  expect(plain.VersionId).toBeUndefined();
  await client.send(new PutObjectCommand({ Bucket: 'wire-plain', Key: 'k', Body: 'two' }));
  expect(s3.listVersions('wire-plain', 'k').map((v) => [v.versionId, v.body.toString()])).toEqual([['null', 'two']]);
});

test('flexible checksums: every algorithm is verified; aws-chunked bodies with a trailer decode to the right bytes', async () => {
  s3.createBucket('wire-sums');
  for (const algorithm of ['CRC32', 'CRC32C', 'SHA1', 'SHA256', 'CRC64NVME'] as const) {
    const key = `sum-${algorithm}`;
    const res = await client.send(new PutObjectCommand({ Bucket: 'wire-sums', Key: key, Body: `payload ${algorithm}`, ChecksumAlgorithm: algorithm }));
    expect(s3.getObject('wire-sums', key)?.checksum?.algorithm).toBe(algorithm.toLowerCase());
    expect(res.ETag).toBe(md5(`payload ${algorithm}`));
  }
  // Known values (check values of the CRC catalogue for '123456789')
  expect(Buffer.from(s3Checksum('crc32', Buffer.from('123456789')), 'base64').toString('hex')).toBe('cbf43926');
  expect(Buffer.from(s3Checksum('crc32c', Buffer.from('123456789')), 'base64').toString('hex')).toBe('e3069283');
  expect(Buffer.from(s3Checksum('crc64nvme', Buffer.from('123456789')), 'base64').toString('hex')).toBe('ae8b14860a799888');

  // A stream of known length goes out as Content-Encoding: aws-chunked with the checksum in a trailer
  const chunks = [Buffer.from('hello '), Buffer.alloc(70_000, 7), Buffer.from(' world')];
  await client.send(new PutObjectCommand({
    Bucket: 'wire-sums', Key: 'streamed', Body: Readable.from(chunks), ContentLength: 70_012, ContentType: 'application/octet-stream',
  }));
  expect(wire.callsOf('s3', 'PutObject').pop()?.input).toMatchObject({ ContentEncoding: 'aws-chunked', Trailer: 'x-amz-checksum-crc32', ContentLength: 70_012 });
  const streamed = s3.getObject('wire-sums', 'streamed')!;
  expect(streamed.body.equals(Buffer.concat(chunks))).toBe(true);
  expect(streamed.checksum).toEqual({ algorithm: 'crc32', value: s3Checksum('crc32', Buffer.concat(chunks)) });
  expect(streamed.headers['content-encoding']).toBeUndefined();

  // GetObject with checksum mode: the SDK validates the stored checksum against the body it reads
  const got = await client.send(new GetObjectCommand({ Bucket: 'wire-sums', Key: 'streamed', ChecksumMode: 'ENABLED' }));
  expect(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat(chunks))).toBe(true);
  expect(got.ChecksumCRC32).toBe(streamed.checksum?.value);

  // A wrong checksum is BadDigest, and nothing is stored
  const bad = await failure(client.send(new PutObjectCommand({ Bucket: 'wire-sums', Key: 'bad', Body: 'abc', ChecksumCRC32: 'AAAAAA==' })));
  expect(bad).toMatchObject({ name: 'BadDigest', status: 400 });
  expect(s3.getObject('wire-sums', 'bad')).toBeUndefined();
});

test('GetObject: versions, Range (206), If-Match (412), NoSuchKey, NoSuchVersion, InvalidArgument, delete marker by id (405)', async () => {
  s3.createBucket('wire-get', { versioned: true });
  const v1 = s3.putObject('wire-get', 'img.png', '0123456789', { contentType: 'image/png', metadata: { Session_Id: 's1' } });
  const v2 = s3.putObject('wire-get', 'img.png', 'abcdefghij', { contentType: 'image/png' });

  const latest = await client.send(new GetObjectCommand({ Bucket: 'wire-get', Key: 'img.png' }));
  expect(await latest.Body!.transformToString()).toBe('abcdefghij');
  expect(latest).toMatchObject({ VersionId: v2.versionId, ContentType: 'image/png', ContentLength: 10, ETag: md5('abcdefghij') });
  const old = await client.send(new GetObjectCommand({ Bucket: 'wire-get', Key: 'img.png', VersionId: v1.versionId }));
  expect(await old.Body!.transformToString()).toBe('0123456789');
  expect(old.Metadata).toEqual({ session_id: 's1' });

  const ranged = await client.send(new GetObjectCommand({ Bucket: 'wire-get', Key: 'img.png', VersionId: v1.versionId, Range: 'bytes=0-3', IfMatch: v1.etag }));
  expect(ranged.$metadata.httpStatusCode).toBe(206);
  expect(ranged.ContentRange).toBe('bytes 0-3/10');
  expect(ranged.ContentLength).toBe(4);
  expect(await ranged.Body!.transformToString()).toBe('0123');
  const suffix = await client.send(new GetObjectCommand({ Bucket: 'wire-get', Key: 'img.png', Range: 'bytes=-3' }));
  expect(await suffix.Body!.transformToString()).toBe('hij');
  expect((await failure(client.send(new GetObjectCommand({ Bucket: 'wire-get', Key: 'img.png', Range: 'bytes=10-20' })))).status).toBe(416);

  const changed = await failure(client.send(new GetObjectCommand({ Bucket: 'wire-get', Key: 'img.png', IfMatch: v1.etag })));
  expect(changed).toMatchObject({ name: 'PreconditionFailed', status: 412 });
  expect(changed.error).toBeInstanceOf(S3ServiceException);
  const notModified = await failure(client.send(new GetObjectCommand({ Bucket: 'wire-get', Key: 'img.png', IfNoneMatch: v2.etag })));
  expect(notModified.status).toBe(304);

  const noKey = await failure(client.send(new GetObjectCommand({ Bucket: 'wire-get', Key: 'missing.png' })));
  expect(noKey).toMatchObject({ name: 'NoSuchKey', status: 404 });
  expect(noKey.error).toBeInstanceOf(NoSuchKey);
  const noVersion = await failure(client.send(new GetObjectCommand({ Bucket: 'wire-get', Key: 'img.png', VersionId: 'A'.repeat(32) })));
  expect(noVersion).toMatchObject({ name: 'NoSuchVersion', status: 404 });
  expect((await failure(client.send(new GetObjectCommand({ Bucket: 'wire-get', Key: 'img.png', VersionId: 'not-a-version' })))).name).toBe('InvalidArgument');

  const del = await client.send(new DeleteObjectCommand({ Bucket: 'wire-get', Key: 'img.png' }));
  expect(del.DeleteMarker).toBe(true);
  expect((await failure(client.send(new GetObjectCommand({ Bucket: 'wire-get', Key: 'img.png' })))).name).toBe('NoSuchKey');
  const marker = await failure(client.send(new GetObjectCommand({ Bucket: 'wire-get', Key: 'img.png', VersionId: del.VersionId })));
  expect(marker).toMatchObject({ name: 'MethodNotAllowed', status: 405 });
});

test('HeadObject: no error body, so the SDK names 404 NotFound and other statuses Unknown (status kept)', async () => {
  s3.createBucket('wire-head', { versioned: true });
  const v1 = s3.putObject('wire-head', 'a.txt', 'hello', { contentType: 'text/plain', metadata: { 'actor-id': 'bob' } });
  const head = await client.send(new HeadObjectCommand({ Bucket: 'wire-head', Key: 'a.txt' }));
  expect(head).toMatchObject({ ContentLength: 5, ContentType: 'text/plain', ETag: v1.etag, VersionId: v1.versionId, Metadata: { 'actor-id': 'bob' } });
  expect(head.LastModified).toBeInstanceOf(Date);

  const missing = await failure(client.send(new HeadObjectCommand({ Bucket: 'wire-head', Key: 'nope' })));
  expect(missing).toMatchObject({ name: 'NotFound', status: 404 });
  expect(missing.error).toBeInstanceOf(NotFound);
  expect((await failure(client.send(new HeadObjectCommand({ Bucket: 'wire-head', Key: 'a.txt', VersionId: 'B'.repeat(32) })))).name).toBe('NotFound');
  expect(await failure(client.send(new HeadObjectCommand({ Bucket: 'wire-head', Key: 'a.txt', IfMatch: '"0000"' })))).toMatchObject({ name: 'Unknown', status: 412 });
  expect(await failure(client.send(new HeadObjectCommand({ Bucket: 'wire-head', Key: 'a.txt', VersionId: 'bad' })))).toMatchObject({ name: 'Unknown', status: 400 });
  const marker = await client.send(new DeleteObjectCommand({ Bucket: 'wire-head', Key: 'a.txt' }));
  expect(await failure(client.send(new HeadObjectCommand({ Bucket: 'wire-head', Key: 'a.txt', VersionId: marker.VersionId })))).toMatchObject({ name: 'Unknown', status: 405 });
  expect((await failure(client.send(new HeadObjectCommand({ Bucket: 'wire-head', Key: 'a.txt' })))).name).toBe('NotFound');
  // the call log keeps the status's meaning
  expect(wire.callsOf('s3', 'HeadObject').map((c) => c.error).slice(-6)).toEqual(['NotFound', 'NotFound', 'PreconditionFailed', 'BadRequest', 'MethodNotAllowed', 'NotFound']);
});

test('CopyObject: source version, copy-source-if-match (412), metadata and tagging directives, version headers', async () => {
  s3.createBucket('wire-src', { versioned: true });
  s3.createBucket('wire-dst', { versioned: true });
  const v1 = s3.putObject('wire-src', 'in/photo 1.png', 'PNGv1', { contentType: 'image/png', metadata: { 'actor-id': 'a' }, tags: { secret: 'yes' } });
  s3.putObject('wire-src', 'in/photo 1.png', 'PNGv2', { contentType: 'image/png' });
  const source = `wire-src/${'in/photo 1.png'.split('/').map(encodeURIComponent).join('/')}?versionId=${encodeURIComponent(v1.versionId)}`;

  const copied = await client.send(new CopyObjectCommand({
    Bucket: 'wire-dst', Key: 'snap/photo.png', CopySource: source, CopySourceIfMatch: v1.etag, MetadataDirective: 'COPY', TaggingDirective: 'REPLACE',
  }));
  expect(copied.CopyObjectResult?.ETag).toBe(md5('PNGv1'));
  expect(copied.CopyObjectResult?.LastModified).toBeInstanceOf(Date);
  expect(copied.CopySourceVersionId).toBe(v1.versionId);
  expect(copied.VersionId).toBe(s3.getObject('wire-dst', 'snap/photo.png')?.versionId);
  expect(s3.getObject('wire-dst', 'snap/photo.png')).toMatchObject({ contentType: 'image/png', metadata: { 'actor-id': 'a' }, tags: {} });
  expect(s3.getObject('wire-dst', 'snap/photo.png')?.body.toString()).toBe('PNGv1');

  await client.send(new CopyObjectCommand({
    Bucket: 'wire-dst', Key: 'snap/replaced.png', CopySource: source, MetadataDirective: 'REPLACE', ContentType: 'image/x-png', Metadata: { k: 'v' },
  }));
  expect(s3.getObject('wire-dst', 'snap/replaced.png')).toMatchObject({ contentType: 'image/x-png', metadata: { k: 'v' }, tags: { secret: 'yes' } });

  const stale = await failure(client.send(new CopyObjectCommand({ Bucket: 'wire-dst', Key: 'x', CopySource: 'wire-src/in/photo%201.png', CopySourceIfMatch: v1.etag })));
  expect(stale).toMatchObject({ name: 'PreconditionFailed', status: 412 });
  expect(s3.getObject('wire-dst', 'x')).toBeUndefined();
  expect((await failure(client.send(new CopyObjectCommand({ Bucket: 'wire-dst', Key: 'x', CopySource: 'wire-src/none' })))).error).toBeInstanceOf(NoSuchKey);
  expect((await failure(client.send(new CopyObjectCommand({ Bucket: 'wire-dst', Key: 'x', CopySource: `wire-src/in/photo%201.png?versionId=${'C'.repeat(32)}` })))).name)
    .toBe('NoSuchVersion');
  expect((await failure(client.send(new CopyObjectCommand({ Bucket: 'wire-src', Key: 'in/photo 1.png', CopySource: 'wire-src/in/photo%201.png' })))).name)
    .toBe('InvalidRequest');
});

test('DeleteObjects, ListObjectVersions and ListObjectsV2 (pages, delimiter) behave as in a versioned bucket', async () => {
  s3.createBucket('wire-list', { versioned: true });
  for (const key of ['a/1', 'a/2', 'b/1', 'c', 'd']) s3.putObject('wire-list', key, key);
  s3.putObject('wire-list', 'c', 'c2');

  const page1 = await client.send(new ListObjectsV2Command({ Bucket: 'wire-list', MaxKeys: 2 }));
  expect(page1.Contents?.map((c) => c.Key)).toEqual(['a/1', 'a/2']);
  expect(page1.IsTruncated).toBe(true);
  const page2 = await client.send(new ListObjectsV2Command({ Bucket: 'wire-list', MaxKeys: 10, ContinuationToken: page1.NextContinuationToken }));
  expect(page2.Contents?.map((c) => [c.Key, c.Size])).toEqual([['b/1', 3], ['c', 2], ['d', 1]]);
  expect(page2.IsTruncated).toBe(false);
  const folders = await client.send(new ListObjectsV2Command({ Bucket: 'wire-list', Delimiter: '/' }));
  expect(folders.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/', 'b/']);
  expect(folders.Contents?.map((c) => c.Key)).toEqual(['c', 'd']);
  expect(folders.KeyCount).toBe(4);

  const removed = await client.send(new DeleteObjectsCommand({ Bucket: 'wire-list', Delete: { Objects: [{ Key: 'd' }, { Key: 'a/1' }] } }));
  expect(removed.Deleted?.map((d) => [d.Key, d.DeleteMarker])).toEqual([['d', true], ['a/1', true]]);
  expect(s3.keys('wire-list')).toEqual(['a/2', 'b/1', 'c']);

  const versions = await client.send(new ListObjectVersionsCommand({ Bucket: 'wire-list' }));
  expect(versions.Versions?.map((v) => `${v.Key}:${v.IsLatest}`)).toEqual(['a/1:false', 'a/2:true', 'b/1:true', 'c:true', 'c:false', 'd:false']);
  expect(versions.DeleteMarkers?.map((m) => `${m.Key}:${m.IsLatest}`)).toEqual(['a/1:true', 'd:true']);
  const paged = await client.send(new ListObjectVersionsCommand({ Bucket: 'wire-list', MaxKeys: 4 }));
  expect(paged.IsTruncated).toBe(true);
  const rest = await client.send(new ListObjectVersionsCommand({
    Bucket: 'wire-list', KeyMarker: paged.NextKeyMarker, VersionIdMarker: paged.NextVersionIdMarker,
  }));
  const seen = [...paged.Versions ?? [], ...paged.DeleteMarkers ?? [], ...rest.Versions ?? [], ...rest.DeleteMarkers ?? []];
  expect(seen.map((v) => `${v.Key}@${v.VersionId}`).sort()).toEqual(
    [...versions.Versions!, ...versions.DeleteMarkers!].map((v) => `${v.Key}@${v.VersionId}`).sort(),
  );

  // Every version and marker, by id (Quiet): the bucket is empty afterwards
  const all = [...versions.Versions!, ...versions.DeleteMarkers!].map((v) => ({ Key: v.Key!, VersionId: v.VersionId! }));
  const quiet = await client.send(new DeleteObjectsCommand({ Bucket: 'wire-list', Delete: { Objects: all, Quiet: true } }));
  expect(quiet.Deleted).toBeUndefined();
  expect(quiet.Errors).toBeUndefined();
  expect(s3.listVersions('wire-list')).toEqual([]);
});

test('bucket tagging, policy, notification configuration and versioning round-trip; absent ones answer their errors', async () => {
  await client.send(new CreateBucketCommand({ Bucket: 'wire-config' }));
  expect(await failure(client.send(new GetBucketTaggingCommand({ Bucket: 'wire-config' })))).toMatchObject({ name: 'NoSuchTagSet', status: 404 });
  await client.send(new PutBucketTaggingCommand({ Bucket: 'wire-config', Tagging: { TagSet: [{ Key: 'aws-cdk:auto-delete-objects', Value: 'true' }] } }));
  expect((await client.send(new GetBucketTaggingCommand({ Bucket: 'wire-config' }))).TagSet).toEqual([{ Key: 'aws-cdk:auto-delete-objects', Value: 'true' }]);

  expect(await failure(client.send(new GetBucketPolicyCommand({ Bucket: 'wire-config' })))).toMatchObject({ name: 'NoSuchBucketPolicy', status: 404 });
  const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: 'arn:aws:s3:::wire-config/*' }] });
  await client.send(new PutBucketPolicyCommand({ Bucket: 'wire-config', Policy: policy }));
  expect((await client.send(new GetBucketPolicyCommand({ Bucket: 'wire-config' }))).Policy).toBe(policy);
  expect((await failure(client.send(new PutBucketPolicyCommand({ Bucket: 'wire-config', Policy: 'not json' })))).name).toBe('MalformedPolicy');

  expect((await client.send(new GetBucketNotificationConfigurationCommand({ Bucket: 'wire-config' }))).EventBridgeConfiguration).toBeUndefined();
  await client.send(new PutBucketNotificationConfigurationCommand({
    Bucket: 'wire-config',
    NotificationConfiguration: {
      EventBridgeConfiguration: {},
      QueueConfigurations: [{ Id: 'q', QueueArn: 'arn:aws:sqs:us-east-1:123456789012:q', Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'in/' }] } } }],
    },
  }));
  expect(s3.notificationConfiguration('wire-config')).toContain('<EventBridgeConfiguration');
  const notification = await client.send(new GetBucketNotificationConfigurationCommand({ Bucket: 'wire-config' }));
  expect(notification.EventBridgeConfiguration).toEqual({});
  expect(notification.QueueConfigurations?.[0]).toMatchObject({ Id: 'q', QueueArn: 'arn:aws:sqs:us-east-1:123456789012:q', Events: ['s3:ObjectCreated:*'] });
  expect(notification.QueueConfigurations?.[0].Filter?.Key?.FilterRules).toEqual([{ Name: 'prefix', Value: 'in/' }]);

  expect((await client.send(new GetBucketVersioningCommand({ Bucket: 'wire-config' }))).Status).toBeUndefined();
  await client.send(new PutBucketVersioningCommand({ Bucket: 'wire-config', VersioningConfiguration: { Status: 'Enabled' } }));
  expect((await client.send(new GetBucketVersioningCommand({ Bucket: 'wire-config' }))).Status).toBe('Enabled');
  const put = await client.send(new PutObjectCommand({ Bucket: 'wire-config', Key: 'k', Body: 'v' }));
  expect(put.VersionId).toMatch(/^[A-Za-z0-9._]{32}$/);
});

test('fault injection: a 503 SlowDown is retried by the default client; an injected error reaches the caller by name', async () => {
  s3.createBucket('wire-faults');
  s3.putObject('wire-faults', 'k', 'value');
  const retrying = new S3Client({ region: 'us-east-1', endpoint: wire.url, credentials });
  wire.fail({ service: 's3', action: 'GetObject', code: 'SlowDown', status: 503, message: 'Please reduce your request rate.' });
  const got = await retrying.send(new GetObjectCommand({ Bucket: 'wire-faults', Key: 'k' }));
  expect(await got.Body!.transformToString()).toBe('value');
  expect(got.$metadata.attempts).toBe(2);
  expect(wire.callsOf('s3', 'GetObject').slice(-2).map((c) => c.error)).toEqual(['SlowDown', undefined]);

  wire.fail({ service: 's3', action: 'PutObject', code: 'AccessDenied', status: 403 });
  expect(await failure(client.send(new PutObjectCommand({ Bucket: 'wire-faults', Key: 'k', Body: 'new' })))).toMatchObject({ name: 'AccessDenied', status: 403 });
  expect(s3.getObject('wire-faults', 'k')?.body.toString()).toBe('value');
  // HEAD has no body: a 403 reaches the handler as 'Unknown' with status 403
  wire.fail({ service: 's3', action: 'HeadObject', code: 'Forbidden', status: 403 });
  expect(await failure(client.send(new HeadObjectCommand({ Bucket: 'wire-faults', Key: 'k' })))).toMatchObject({ name: 'Unknown', status: 403 });
  // afterApply: the write happened although the caller saw an error
  wire.fail({ service: 's3', action: 'PutObject', code: 'InternalError', status: 500, afterApply: true });
  expect((await failure(client.send(new PutObjectCommand({ Bucket: 'wire-faults', Key: 'k', Body: 'applied' })))).name).toBe('InternalError');
  expect(s3.getObject('wire-faults', 'k')?.body.toString()).toBe('applied');
  retrying.destroy();
});

test("aws-cdk-lib's auto-delete-objects handler empties a tagged versioned bucket through the fake", async () => {
  s3.createBucket('wire-autodelete', { versioned: true, tags: { 'aws-cdk:auto-delete-objects': 'true' }, policy: JSON.stringify({ Version: '2012-10-17', Statement: [] }) });
  // 1,002 versions and markers: ListObjectVersions answers 1,000 (IsTruncated), so the handler loops
  for (let i = 0; i < 1000; i++) s3.putObject('wire-autodelete', `k${i}`, `v${i}`);
  s3.putObject('wire-autodelete', 'k0', 'v0 again');
  await client.send(new DeleteObjectCommand({ Bucket: 'wire-autodelete', Key: 'k1' }));

  const saved = { ...process.env };
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_S3: wire.url, AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: 'x', AWS_SESSION_TOKEN: '',
  });
  try {
    const file = path.join(__dirname, '../../../node_modules/aws-cdk-lib/custom-resource-handlers/dist/aws-s3/auto-delete-objects-handler/index.js');
    let handler!: { autoDeleteHandler: (event: unknown) => Promise<unknown> };
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      handler = require(file);
    });
    await handler.autoDeleteHandler({ RequestType: 'Delete', ResourceProperties: { BucketName: 'wire-autodelete' } });
  } finally {
    process.env = saved;
  }
  expect(s3.listVersions('wire-autodelete')).toEqual([]);
  const policy = s3.bucketPolicy('wire-autodelete');
  expect(policy.Statement).toEqual([{ Principal: '*', Effect: 'Deny', Action: ['s3:PutObject'], Resource: ['arn:aws:s3:::wire-autodelete/*'] }]);
  const actions = wire.callsOf('s3').filter((c) => (c.input as { Bucket?: string }).Bucket === 'wire-autodelete').map((c) => c.action);
  expect(actions).toEqual([
    'DeleteObject', 'GetBucketTagging', 'GetBucketPolicy', 'PutBucketPolicy', 'ListObjectVersions', 'DeleteObjects', 'ListObjectVersions', 'DeleteObjects',
  ]);
  const deletes = wire.callsOf('s3', 'DeleteObjects').slice(-2).map((c) => (c.input as { Objects: unknown[] }).Objects.length);
  expect(deletes).toEqual([1000, 2]);
});
