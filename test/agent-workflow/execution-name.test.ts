import { createHash } from 'node:crypto';
import {
  decodeEventKey,
  discriminatorFor,
  executionNameFor,
  keySlug,
  MalformedEventError,
  parseObjectCreatedEvent,
  UnsupportedEventError,
} from '../../src/agent-workflow/runtime/execution-name';

/** What Step Functions accepts as an execution name (restricted to the CloudWatch-logging-safe set). */
const VALID_NAME = /^[A-Za-z0-9_-]{1,80}$/;

/** How S3 encodes a key in event notifications (application/x-www-form-urlencoded, '/' kept). */
function s3EncodeKey(key: string): string {
  return key.split('/').map((s) => encodeURIComponent(s).replace(/%20/g, '+')).join('/');
}

/**
 * An EventBridge S3 "Object Created" event in the documented shape
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html), key URL-encoded.
 */
function objectCreatedEvent(overrides: { key?: string; versionId?: string | null; sequencer?: string | null; detailType?: string } = {}) {
  const object: Record<string, unknown> = {
    key: overrides.key ?? 'uploads/red+flower.jpg',
    size: 5,
    etag: 'b1946ac92492d2347c6235b4d2611184',
  };
  if (overrides.versionId !== null) object['version-id'] = overrides.versionId ?? 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e';
  if (overrides.sequencer !== null) object.sequencer = overrides.sequencer ?? '00617F08299329D189';
  return {
    'version': '0',
    'id': '17793124-05d4-b198-2fde-7ededc63b103',
    'detail-type': overrides.detailType ?? 'Object Created',
    'source': 'aws.s3',
    'account': '111122223333',
    'time': '2021-11-12T00:00:00Z',
    'region': 'ca-central-1',
    'resources': ['arn:aws:s3:::amzn-s3-demo-bucket1'],
    'detail': {
      'version': '0',
      'bucket': { name: 'amzn-s3-demo-bucket1' },
      object,
      'request-id': 'N4N7GDK58NMKJ12R',
      'requester': '123456789012',
      'source-ip-address': '1.2.3.4',
      'reason': 'PutObject',
    },
  };
}

describe('parseObjectCreatedEvent', () => {
  test('reads the documented EventBridge sample and decodes the key', () => {
    expect(parseObjectCreatedEvent(JSON.stringify(objectCreatedEvent()))).toEqual({
      bucket: 'amzn-s3-demo-bucket1',
      key: 'uploads/red flower.jpg',
      versionId: 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
      sequencer: '00617F08299329D189',
      size: 5,
      etag: 'b1946ac92492d2347c6235b4d2611184',
    });
  });

  test.each([
    'uploads/my photo (1).jpg',
    'uploads/фото ünïcödé 日本語.png',
    'uploads/a+b=c&d;e:f@g,h?.pdf',
    'uploads/emoji 📷 100%.gif',
    'plain-key',
  ])('keys with spaces, unicode and reserved characters round-trip: %s', (key) => {
    const parsed = parseObjectCreatedEvent(JSON.stringify(objectCreatedEvent({ key: s3EncodeKey(key) })));
    expect(parsed.key).toBe(key);
  });

  test('an unversioned bucket has no version id; the sequencer remains', () => {
    const parsed = parseObjectCreatedEvent(JSON.stringify(objectCreatedEvent({ versionId: null })));
    expect(parsed.versionId).toBeNull();
    expect(parsed.sequencer).toBe('00617F08299329D189');
  });

  test('another EventBridge event type is unsupported, not malformed', () => {
    const body = JSON.stringify(objectCreatedEvent({ detailType: 'Object Deleted' }));
    expect(() => parseObjectCreatedEvent(body)).toThrow(UnsupportedEventError);
    expect(() => parseObjectCreatedEvent(body)).toThrow(/Object Deleted/);
  });

  test.each([
    ['not json', /not JSON/],
    ['[1,2]', /not a JSON object/],
    ['{"Records":[{"s3":{}}]}', /not an EventBridge event/],
    [JSON.stringify({ ...objectCreatedEvent(), detail: undefined }), /detail is missing/],
    [JSON.stringify({ ...objectCreatedEvent(), detail: { ...objectCreatedEvent().detail, bucket: {} } }), /detail.bucket.name/],
    [JSON.stringify(objectCreatedEvent({ key: '' })), /detail.object.key is missing/],
    [JSON.stringify(objectCreatedEvent({ key: 'bad%E0%A4%A.jpg' })), /not valid URL encoding/],
    [JSON.stringify(objectCreatedEvent({ versionId: null, sequencer: null })), /neither "version-id" nor "sequencer"/],
  ])('malformed message %#: a clear error', (body, message) => {
    expect(() => parseObjectCreatedEvent(body)).toThrow(MalformedEventError);
    expect(() => parseObjectCreatedEvent(body)).toThrow(message);
  });

  test('a non-numeric size is malformed', () => {
    const event = objectCreatedEvent();
    (event.detail.object as Record<string, unknown>).size = '5';
    expect(() => parseObjectCreatedEvent(JSON.stringify(event))).toThrow(/size/);
  });

  test('decodeEventKey: %2B is a literal plus, + is a space', () => {
    expect(decodeEventKey('a%2Bb+c')).toBe('a+b c');
  });
});

describe('executionNameFor', () => {
  const hostileKeys = [
    'uploads/photo.jpg',
    'uploads/фото ünïcödé 日本語.png',
    'uploads/日本語',
    'uploads/my photo (1).jpg',
    '../../etc/passwd',
    '../',
    'uploads/',
    '/',
    ' ',
    '-----',
    'a'.repeat(1024),
    `${'dir/'.repeat(200)}${'x'.repeat(200)}`,
    'uploads/📷📷📷.gif',
    'uploads/name\nwith\tcontrol\u0000chars',
    'uploads/café-crème_brûlée.pdf',
  ];

  test.each(hostileKeys)('is a valid Step Functions name: %j', (key) => {
    const name = executionNameFor('acme-input', key, '00617F08299329D189');
    expect(name).toMatch(VALID_NAME);
    expect(name.length).toBeLessThanOrEqual(80);
    expect(name).toMatch(/-[0-9a-f]{32}$/);
    expect(name.length - 33).toBeLessThanOrEqual(40);
  });

  test('the readable part comes from the last path segment', () => {
    expect(executionNameFor('b', 'uploads/2024/photo.jpg', 'v1')).toMatch(/^photo-jpg-[0-9a-f]{32}$/);
    expect(keySlug('uploads/café crème.pdf')).toBe('cafe-creme-pdf');
    expect(keySlug('uploads/日本語')).toBe('object');
    expect(keySlug('../')).toBe('object');
    expect(keySlug('a'.repeat(1024))).toBe('a'.repeat(40));
  });

  test('the same event twice gives the same name', () => {
    const body = JSON.stringify(objectCreatedEvent());
    const a = parseObjectCreatedEvent(body);
    const b = parseObjectCreatedEvent(body);
    expect(executionNameFor(a.bucket, a.key, discriminatorFor(a))).toBe(executionNameFor(b.bucket, b.key, discriminatorFor(b)));
  });

  test('another version, sequencer, key or bucket gives another name', () => {
    const base = executionNameFor('acme-input', 'uploads/photo.jpg', 'version-1');
    expect(executionNameFor('acme-input', 'uploads/photo.jpg', 'version-2')).not.toBe(base);
    expect(executionNameFor('acme-other', 'uploads/photo.jpg', 'version-1')).not.toBe(base);
    expect(executionNameFor('acme-input', 'other/photo.jpg', 'version-1')).not.toBe(base);
    // The separator keeps fields apart: moving a character between bucket and key changes the hash.
    expect(executionNameFor('ab', 'c', 'v')).not.toBe(executionNameFor('a', 'bc', 'v'));
  });

  test('the hash is sha256 of bucket, key and discriminator joined by newlines', () => {
    const expected = createHash('sha256').update('b\nk\nd').digest('hex').slice(0, 32);
    expect(executionNameFor('b', 'k', 'd')).toBe(`k-${expected}`);
  });
});

describe('discriminatorFor', () => {
  test('version id when versioned, else the sequencer', () => {
    expect(discriminatorFor({ versionId: 'v1', sequencer: 's1' })).toBe('v1');
    expect(discriminatorFor({ versionId: null, sequencer: 's1' })).toBe('s1');
  });

  test('the "null" version id (versioning suspended) does not hide re-uploads', () => {
    expect(discriminatorFor({ versionId: 'null', sequencer: 's1' })).toBe('s1');
    expect(discriminatorFor({ versionId: 'null', sequencer: 's2' })).toBe('s2');
  });

  test('a re-upload to an unversioned bucket gets a new name', () => {
    const first = parseObjectCreatedEvent(JSON.stringify(objectCreatedEvent({ versionId: null, sequencer: '00617F08299329D189' })));
    const second = parseObjectCreatedEvent(JSON.stringify(objectCreatedEvent({ versionId: null, sequencer: '00617F0829AAAAAAAA' })));
    expect(executionNameFor(first.bucket, first.key, discriminatorFor(first)))
      .not.toBe(executionNameFor(second.bucket, second.key, discriminatorFor(second)));
  });
});
