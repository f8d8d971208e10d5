import { CopyObjectCommand, GetObjectCommand, HeadObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { ValidateInputEvent, ValidationResult, ValidationRules } from '../../src/agent-workflow/runtime/contracts';
import { handle, memoryScopeFor, normalizeMetadata, ValidatorLog } from '../../src/agent-workflow/runtime/validator.lambda';

const s3Mock = mockClient(S3Client);

const JPEG = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01]);
const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52]);

const RULES: ValidationRules = {
  maxSizeBytes: 5 * 1024 * 1024,
  contentTypes: ['image/jpeg', 'image/png'],
  checkMagicBytes: true,
  bucket: 'acme-input',
  prefix: 'uploads/',
};

function s3Error(name: string, status: number): S3ServiceException {
  return new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: name });
}

function body(bytes: Uint8Array) {
  return { Body: { transformToByteArray: async () => bytes } as any };
}

function recorder() {
  const info = jest.fn();
  const warn = jest.fn();
  return { log: { info, warn } as unknown as ValidatorLog, info, warn };
}

async function run(request: unknown, rules: Partial<ValidationRules> = {}, log = recorder().log): Promise<ValidationResult> {
  const event: ValidateInputEvent = { request, rules: { ...RULES, ...rules } };
  return handle(event, { s3: new S3Client({}), log });
}

function headJpeg(extra: Record<string, unknown> = {}) {
  s3Mock.on(HeadObjectCommand).resolves({
    ContentLength: 2048,
    ContentType: 'image/jpeg',
    ETag: '"etag-1"',
    VersionId: 'v-current',
    Metadata: {},
    ...extra,
  });
}

const REQUEST = { bucket: 'acme-input', key: 'uploads/red flower.jpg' };

beforeEach(() => s3Mock.reset());

describe('validator: valid input', () => {
  test('a JPEG under the limit is valid; every field is present', async () => {
    headJpeg();
    s3Mock.on(GetObjectCommand).resolves(body(JPEG));
    const result = await run(REQUEST);
    expect(result).toEqual({
      valid: true,
      reason: '',
      bucket: 'acme-input',
      key: 'uploads/red flower.jpg',
      versionId: 'v-current',
      size: 2048,
      contentType: 'image/jpeg',
      etag: '"etag-1"',
      actorId: '',
      sessionId: '',
      memoryScope: '',
      // no snapshot asked for: the model reads the object itself
      analysisBucket: 'acme-input',
      analysisKey: 'uploads/red flower.jpg',
      metadata: {},
      keySegments: ['uploads', 'red flower.jpg'],
    });
    expect(s3Mock).toHaveReceivedCommandTimes(CopyObjectCommand, 0);
    expect(s3Mock).toHaveReceivedCommandWith(HeadObjectCommand, { Bucket: 'acme-input', Key: 'uploads/red flower.jpg', VersionId: undefined });
    // Reads only the first 16 bytes, of the version and ETag HeadObject described.
    expect(s3Mock).toHaveReceivedCommandWith(GetObjectCommand, {
      Bucket: 'acme-input', Key: 'uploads/red flower.jpg', Range: 'bytes=0-15', VersionId: 'v-current', IfMatch: '"etag-1"',
    });
  });

  test('with a snapshot bucket, the validated version is copied (If-Match its ETag) and the model reads the copy', async () => {
    headJpeg();
    s3Mock.on(GetObjectCommand).resolves(body(JPEG));
    s3Mock.on(CopyObjectCommand).resolves({});
    const result = await run(REQUEST, { snapshotBucket: 'artifacts', snapshotPrefix: 'inputs/' });
    expect(result.analysisBucket).toBe('artifacts');
    expect(result.analysisKey).toMatch(/^inputs\/[0-9a-f]{32}\/red_flower\.jpg$/);
    expect(s3Mock).toHaveReceivedCommandWith(CopyObjectCommand, {
      Bucket: 'artifacts',
      Key: result.analysisKey,
      CopySource: 'acme-input/uploads/red%20flower.jpg?versionId=v-current',
      CopySourceIfMatch: '"etag-1"',
      TaggingDirective: 'REPLACE',
    });
    // an overwrite between validation and copy fails the copy (retried by the state machine), never copies other bytes
    s3Mock.on(CopyObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    await expect(run(REQUEST, { snapshotBucket: 'artifacts', snapshotPrefix: 'inputs/' })).rejects.toThrow();
  });

  test('the requested version is the one read', async () => {
    headJpeg({ VersionId: 'v-old' });
    s3Mock.on(GetObjectCommand).resolves(body(JPEG));
    const result = await run({ ...REQUEST, versionId: 'v-old' });
    expect(result.versionId).toBe('v-old');
    expect(s3Mock).toHaveReceivedCommandWith(HeadObjectCommand, { VersionId: 'v-old' });
    expect(s3Mock).toHaveReceivedCommandWith(GetObjectCommand, { VersionId: 'v-old' });
  });

  test('content type parameters and case are ignored; no magic check when disabled', async () => {
    headJpeg({ ContentType: 'Image/PNG; charset=binary', VersionId: undefined });
    const result = await run(REQUEST, { checkMagicBytes: false });
    expect(result.valid).toBe(true);
    expect(result.contentType).toBe('image/png');
    expect(result.versionId).toBeNull();
    expect(s3Mock).toHaveReceivedCommandTimes(GetObjectCommand, 0);
  });

  test('any bucket, prefix and content type when the rules say so', async () => {
    headJpeg({ ContentType: 'text/csv' });
    const result = await run({ bucket: 'other-bucket', key: 'x.csv' }, { bucket: '', prefix: '', contentTypes: [] });
    expect(result.valid).toBe(true);
    // text/csv has no known signature: not checked, not even read.
    expect(s3Mock).toHaveReceivedCommandTimes(GetObjectCommand, 0);
  });

  test('unicode keys pass through untouched', async () => {
    headJpeg();
    s3Mock.on(GetObjectCommand).resolves(body(JPEG));
    const key = 'uploads/фото ünïcödé 日本語 📷.jpg';
    const result = await run({ bucket: 'acme-input', key });
    expect(result.valid).toBe(true);
    expect(result.key).toBe(key);
    expect(s3Mock).toHaveReceivedCommandWith(HeadObjectCommand, { Key: key });
  });
});

describe('validator: invalid input', () => {
  test('oversize: says both numbers, logs a structured warning without content', async () => {
    headJpeg({ ContentLength: 6 * 1024 * 1024 });
    const { log, warn } = recorder();
    const result = await run(REQUEST, {}, log);
    expect(result.valid).toBe(false);
    expect(result.reason).toContain('6291456');
    expect(result.reason).toContain('5242880');
    expect(result).toEqual(expect.objectContaining({ bucket: 'acme-input', key: 'uploads/red flower.jpg', size: 0, contentType: '', metadata: {} }));
    expect(warn).toHaveBeenCalledWith('Invalid input', expect.objectContaining({ reason: result.reason, bucket: 'acme-input', key: REQUEST.key }));
    expect(s3Mock).toHaveReceivedCommandTimes(GetObjectCommand, 0);
  });

  test('wrong content type', async () => {
    headJpeg({ ContentType: 'application/pdf' });
    const result = await run(REQUEST);
    expect(result.valid).toBe(false);
    expect(result.reason).toMatch(/content type "application\/pdf" is not allowed/);
  });

  test('required metadata: absent or empty is invalid and named with its header; present is valid', async () => {
    s3Mock.on(GetObjectCommand).resolves(body(JPEG));
    headJpeg({ Metadata: { 'policy-id': '' } });
    const missing = await run(REQUEST, { requiredMetadata: ['policy_id', 'actor_id'] });
    expect(missing).toEqual(expect.objectContaining({ valid: false, reason: 'missing object metadata: policy_id (x-amz-meta-policy-id), actor_id (x-amz-meta-actor-id)' }));
    headJpeg({ Metadata: { 'policy-id': 'POL-1', 'Actor-Id': 'c-1' } });
    const present = await run(REQUEST, { requiredMetadata: ['policy_id', 'actor_id'] });
    expect(present).toEqual(expect.objectContaining({ valid: true, metadata: { actor_id: 'c-1', policy_id: 'POL-1' } }));
  });

  test('PNG bytes declared image/jpeg', async () => {
    headJpeg();
    s3Mock.on(GetObjectCommand).resolves(body(PNG));
    const { log, warn } = recorder();
    const result = await run(REQUEST, {}, log);
    expect(result.valid).toBe(false);
    expect(result.reason).toMatch(/does not match the declared content type "image\/jpeg"/);
    // Never the object content in the logs.
    expect(JSON.stringify(warn.mock.calls)).not.toMatch(/IHDR|137,80,78,71/);
  });

  test('an empty object declared image/jpeg fails the magic check without a ranged GET', async () => {
    headJpeg({ ContentLength: 0 });
    const result = await run(REQUEST);
    expect(result.valid).toBe(false);
    expect(s3Mock).toHaveReceivedCommandTimes(GetObjectCommand, 0);
  });

  test.each([
    ['NotFound', 404],
    ['NoSuchKey', 404],
    ['NoSuchVersion', 404],
  ])('%s -> object not found', async (name, status) => {
    s3Mock.on(HeadObjectCommand).rejects(s3Error(name, status));
    const result = await run({ ...REQUEST, versionId: 'v-gone' });
    expect(result).toEqual(expect.objectContaining({ valid: false, reason: 'object not found', bucket: 'acme-input', versionId: 'v-gone' }));
  });

  test('wrong bucket: no S3 call', async () => {
    const result = await run({ bucket: 'someone-else', key: 'uploads/a.jpg' });
    expect(result.valid).toBe(false);
    expect(result.reason).toMatch(/bucket "someone-else" is not the input bucket/);
    expect(result.bucket).toBe('someone-else');
    expect(s3Mock).toHaveReceivedCommandTimes(HeadObjectCommand, 0);
  });

  test.each([
    'private/a.jpg',
    'uploadsX/a.jpg',
    'uploads/../private/a.jpg',
    'uploads/./a.jpg',
  ])('key outside the prefix or with dot segments: %s', async (key) => {
    const result = await run({ bucket: 'acme-input', key });
    expect(result.valid).toBe(false);
    expect(s3Mock).toHaveReceivedCommandTimes(HeadObjectCommand, 0);
  });

  test.each([
    [null, /must be a JSON object/],
    ['acme-input/uploads/a.jpg', /must be a JSON object/],
    [[REQUEST], /must be a JSON object/],
    [{ key: 'uploads/a.jpg' }, /request.bucket must be a non-empty string/],
    [{ bucket: '', key: 'uploads/a.jpg' }, /request.bucket/],
    [{ bucket: 'acme-input' }, /request.key must be a non-empty string/],
    [{ bucket: 'acme-input', key: 42 }, /request.key/],
    [{ bucket: 'Not A Bucket', key: 'uploads/a.jpg' }, /not a valid S3 bucket name/],
    [{ bucket: 'acme-input', key: `uploads/${'é'.repeat(600)}` }, /bytes, above the 1024-byte/],
    [{ ...REQUEST, versionId: 7 }, /request.versionId must be a string or null/],
    [{ ...REQUEST, actorId: { id: 1 } }, /request.actorId/],
    [{ ...REQUEST, sessionId: false }, /request.sessionId/],
  ])('malformed request %#', async (request, reason) => {
    const result = await run(request);
    expect(result.valid).toBe(false);
    expect(result.reason).toMatch(reason);
    expect(Object.keys(result).sort()).toEqual(
      ['actorId', 'analysisBucket', 'analysisKey', 'bucket', 'contentType', 'etag', 'key', 'keySegments', 'memoryScope', 'metadata', 'reason', 'sessionId',
        'size', 'valid', 'versionId'],
    );
    expect(s3Mock).toHaveReceivedCommandTimes(HeadObjectCommand, 0);
  });

  test.each([
    ['a line break (the e-mail injection)', 'uploads/x.jpg\nApprove: https://evil.example/ok', 'U+000A at position 13'],
    ['a carriage return', 'uploads/a\r.jpg', 'U+000D at position 9'],
    ['NUL', 'uploads/\u0000.jpg', 'U+0000 at position 8'],
    ['an escape sequence', 'uploads/\u001b[31mred.jpg', 'U+001B at position 8'],
    ['DEL', 'uploads/a\u007f.jpg', 'U+007F at position 9'],
    ['a C1 control (NEL)', 'uploads/a\u0085b.jpg', 'U+0085 at position 9'],
    ['the last C1 control', 'uploads/\u009f.jpg', 'U+009F at position 8'],
  ])('a key with %s is invalid input (REJECTED_INVALID), named, before any S3 call', async (_name, key, where) => {
    const result = await run({ bucket: 'acme-input', key });
    expect(result).toEqual(expect.objectContaining({
      valid: false,
      reason: `key contains a control character (${where}); set allowControlCharactersInKey to accept such keys`,
      key,
      keySegments: [],
    }));
    expect(s3Mock).toHaveReceivedCommandTimes(HeadObjectCommand, 0);
  });

  test('allowControlCharactersInKey accepts such keys; characters outside C0/DEL/C1 are not control characters', async () => {
    headJpeg();
    s3Mock.on(GetObjectCommand).resolves(body(JPEG));
    const allowed = await run({ bucket: 'acme-input', key: 'uploads/x.jpg\nmore' }, { allowControlCharactersInKey: true });
    expect(allowed).toEqual(expect.objectContaining({ valid: true, key: 'uploads/x.jpg\nmore' }));
    const formatting = await run({ bucket: 'acme-input', key: 'uploads/a\u00a0b\u200b\u202e.jpg' });
    expect(formatting.valid).toBe(true);
  });

  test('an over-long key is not echoed back', async () => {
    const result = await run({ bucket: 'acme-input', key: 'k'.repeat(5000) });
    expect(result.key).toBe('');
    expect(result.bucket).toBe('acme-input');
  });

  test('extra request fields are ignored; nulls are accepted', async () => {
    headJpeg();
    s3Mock.on(GetObjectCommand).resolves(body(JPEG));
    const result = await run({ ...REQUEST, versionId: null, actorId: null, sessionId: null, note: 'hello' });
    expect(result.valid).toBe(true);
  });
});

describe('validator: failures are rethrown, not recorded as invalid input', () => {
  test.each([
    ['AccessDenied', 403],
    ['Forbidden', 403],
    ['SlowDown', 503],
    ['InternalError', 500],
  ])('HeadObject %s', async (name, status) => {
    s3Mock.on(HeadObjectCommand).rejects(s3Error(name, status));
    const { log, warn } = recorder();
    await expect(run(REQUEST, {}, log)).rejects.toMatchObject({ name });
    expect(warn).not.toHaveBeenCalled();
  });

  test('GetObject AccessDenied is rethrown too', async () => {
    headJpeg();
    s3Mock.on(GetObjectCommand).rejects(s3Error('AccessDenied', 403));
    await expect(run(REQUEST)).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  test('an object replaced between HEAD and GET (412) is rethrown for a retry', async () => {
    headJpeg();
    s3Mock.on(GetObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    await expect(run(REQUEST)).rejects.toMatchObject({ name: 'PreconditionFailed' });
  });

  test('broken rules (a construct bug) throw', async () => {
    await expect(handle({ request: REQUEST, rules: undefined as any }, { s3: new S3Client({}) })).rejects.toThrow(/rules/);
    await expect(run(REQUEST, { maxSizeBytes: 'big' as any })).rejects.toThrow(/rules.maxSizeBytes/);
    await expect(run(REQUEST, { allowControlCharactersInKey: 'yes' as any })).rejects.toThrow(/rules.allowControlCharactersInKey must be a boolean/);
    await expect(run(REQUEST, { requiredKeySegments: [20] })).rejects.toThrow(/rules.requiredKeySegments must be an array of integers in 0..19/);
    await expect(run(REQUEST, { requiredKeySegments: 1 as any })).rejects.toThrow(/rules.requiredKeySegments/);
    await expect(run(REQUEST, { actorIdKeySegment: -1 })).rejects.toThrow(/rules.actorIdKeySegment must be an integer in 0..19/);
    await expect(run(REQUEST, { actorIdKeySegment: 1.5 })).rejects.toThrow(/rules.actorIdKeySegment/);
  });
});

describe('validator: metadata and memory scope', () => {
  test('metadata keys normalized, sorted, at most 20, values capped at 256 chars', async () => {
    // JSON.parse makes "__proto__" an own property, as a parsed S3 header map could.
    const metadata: Record<string, string> = JSON.parse(JSON.stringify({ 'Actor-Id': 'cust-42', 'x.weird key!': 'v', 'long': 'é'.repeat(300) })
      .replace(/^\{/, '{"__proto__":"not a prototype",'));
    expect(Object.keys(metadata)).toContain('__proto__');
    for (let i = 0; i < 30; i++) metadata[`k${String(i).padStart(2, '0')}`] = `v${i}`;
    headJpeg({ Metadata: metadata });
    s3Mock.on(GetObjectCommand).resolves(body(JPEG));
    const result = await run(REQUEST);
    const keys = Object.keys(result.metadata);
    expect(keys).toHaveLength(20);
    expect(keys).toEqual([...keys].sort());
    for (const key of keys) expect(key).toMatch(/^[a-z0-9_]+$/);
    expect(Object.getOwnPropertyDescriptor(result.metadata, '__proto__')?.value).toBe('not a prototype');
    expect(Object.getPrototypeOf(result.metadata)).toBe(Object.prototype);
    expect(result.metadata.actor_id).toBe('cust-42');
    expect(result.metadata).not.toHaveProperty('long'); // sorted after the first 20
    expect(result.actorId).toBe('cust-42');
  });

  test('normalizeMetadata: value cap; on a collision the already-normal key wins', () => {
    const out = normalizeMetadata({ 'a-b': 'first', 'a_b': 'second', 'big': 'x'.repeat(1000), 'emoji': '📷'.repeat(300) });
    expect(out).toEqual({ a_b: 'second', big: 'x'.repeat(256), emoji: '📷'.repeat(256) });
    expect(normalizeMetadata(undefined)).toEqual({});
  });

  test('actor and session fall back to metadata actor_id / session_id', async () => {
    headJpeg({ Metadata: { 'actor-id': 'cust-7', 'session_id': 'sess-1' } });
    s3Mock.on(GetObjectCommand).resolves(body(JPEG));
    const result = await run(REQUEST);
    expect(result).toEqual(expect.objectContaining({ actorId: 'cust-7', sessionId: 'sess-1', memoryScope: 'actor#cust-7#session#sess-1' }));
  });

  test('the request wins over metadata; no session -> actor-only scope', async () => {
    headJpeg({ Metadata: { actor_id: 'from-metadata' } });
    s3Mock.on(GetObjectCommand).resolves(body(JPEG));
    const result = await run({ ...REQUEST, actorId: 'from-request' });
    expect(result).toEqual(expect.objectContaining({ actorId: 'from-request', sessionId: '', memoryScope: 'actor#from-request' }));
  });

  test("an actor id with '#' could impersonate another scope: invalid", async () => {
    headJpeg({ Metadata: { actor_id: 'a#session#b' } });
    s3Mock.on(GetObjectCommand).resolves(body(JPEG));
    const result = await run(REQUEST);
    expect(result.valid).toBe(false);
    expect(result.reason).toMatch(/actorId/);
  });

  test('the key segments: split on "/", at most the first 20, empty segments kept in place', async () => {
    headJpeg();
    s3Mock.on(GetObjectCommand).resolves(body(JPEG));
    expect((await run({ bucket: 'acme-input', key: 'uploads/P-1//c 1/x.jpg' })).keySegments).toEqual(['uploads', 'P-1', '', 'c 1', 'x.jpg']);
    const deep = `uploads/${[...Array(30).keys()].join('/')}.jpg`;
    const segments = (await run({ bucket: 'acme-input', key: deep })).keySegments!;
    expect(segments).toHaveLength(20);
    expect(segments.slice(0, 3)).toEqual(['uploads', '0', '1']);
  });

  test.each([
    ['no folder at segment 1 (the object name is not a folder)', 'uploads/x.jpg'],
    ['an empty folder at segment 1', 'uploads//x.jpg'],
  ])('a key without a segment the workflow reads is invalid input, before any S3 call: %s', async (_name, key) => {
    const result = await run({ bucket: 'acme-input', key }, { requiredKeySegments: [1] });
    expect(result).toEqual(expect.objectContaining({
      valid: false,
      reason: "key has no (non-empty) folder segment 1: the workflow reads key segment 1 (split on '/', counted from 0), so keys must look like .../<segment 1>/<name>",
    }));
    expect(s3Mock).toHaveReceivedCommandTimes(HeadObjectCommand, 0);
    const two = await run({ bucket: 'acme-input', key }, { requiredKeySegments: [2], actorIdKeySegment: 1 });
    expect(two.reason).toMatch(/^key has no \(non-empty\) folder segment 1, 2: the workflow reads key segments 1, 2 .* like \.\.\.\/<segment 1>\/<segment 2>\/<name>$/);
  });

  test('actorIdKeySegment: the actor is the key segment, whatever the metadata and the request say', async () => {
    headJpeg({ Metadata: { 'actor-id': 'someone-else', 'session-id': 's-1', 'policy-id': 'P-999' } });
    s3Mock.on(GetObjectCommand).resolves(body(JPEG));
    const result = await run({ ...REQUEST, key: 'uploads/P-1/x.jpg', actorId: 'from-request' }, { actorIdKeySegment: 1 });
    expect(result).toEqual(expect.objectContaining({
      valid: true, actorId: 'P-1', sessionId: 's-1', memoryScope: 'actor#P-1#session#s-1', keySegments: ['uploads', 'P-1', 'x.jpg'],
    }));
    // a segment that would break the scope key is refused like any actor id
    const hashed = await run({ ...REQUEST, key: 'uploads/a#session#b/x.jpg' }, { actorIdKeySegment: 1 });
    expect(hashed).toEqual(expect.objectContaining({ valid: false, reason: expect.stringMatching(/^actorId must be at most 128 characters, without '#'/) }));
    // and a key without it never reaches S3
    s3Mock.resetHistory();
    expect((await run({ ...REQUEST, key: 'uploads/x.jpg' }, { actorIdKeySegment: 1 })).valid).toBe(false);
    expect(s3Mock).toHaveReceivedCommandTimes(HeadObjectCommand, 0);
  });

  test('memoryScopeFor', () => {
    expect(memoryScopeFor('', 'sess')).toBe('');
    expect(memoryScopeFor('a', '')).toBe('actor#a');
    expect(memoryScopeFor('a', 's')).toBe('actor#a#session#s');
  });
});

describe('validator: progress events (when the payload asks: the built-in validator replaces the "Progress Started" and "Progress Validated" states)', () => {
  const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:Claims:claim-1';
  const STARTED = '2026-12-01T09:59:58.000Z';
  function sender(answer: () => Promise<any> = async () => ({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }, { EventId: 'e-2' }] })) {
    const calls: any[] = [];
    const errors: any[] = [];
    return {
      calls,
      errors,
      progress: {
        config: { eventBusName: 'claims-bus', eventSource: 'cdk-production-patterns.agent-workflow', workflowName: 'insurance-claims' },
        putEvents: async (input: any) => {
          calls.push(input);
          return answer();
        },
        log: { error: (message: string, extra?: Record<string, unknown>) => errors.push([message, extra]) },
        now: () => new Date('2026-12-01T10:00:01.000Z'),
      },
    };
  }
  const runWith = (request: unknown, progress: ReturnType<typeof sender>['progress'], ask = true) =>
    handle({ request, rules: RULES, ...(ask ? { progress: { executionId: EXECUTION, startedAt: STARTED } } : {}) } as ValidateInputEvent,
      { s3: new S3Client({}), log: recorder().log, progress });
  const details = (call: any) => call.Entries.map((e: any) => ({ ...e, Detail: JSON.parse(e.Detail) }));

  test('a valid input: "started" (at the execution start) and "validation VALID 20" in one PutEvents call', async () => {
    headJpeg();
    s3Mock.on(GetObjectCommand).resolves(body(JPEG));
    const s = sender();
    expect((await runWith(REQUEST, s.progress)).valid).toBe(true);
    expect(s.calls).toHaveLength(1);
    const common = { EventBusName: 'claims-bus', Source: 'cdk-production-patterns.agent-workflow', DetailType: 'Agent Workflow Progress' };
    expect(details(s.calls[0])).toEqual([
      { ...common, Detail: { workflow: 'insurance-claims', executionId: EXECUTION, step: 'started', status: 'RUNNING', percent: 0, at: STARTED } },
      { ...common, Detail: { workflow: 'insurance-claims', executionId: EXECUTION, step: 'validation', status: 'VALID', percent: 20, at: '2026-12-01T10:00:01.000Z' } },
    ]);
  });

  test('an invalid input: "started" only (the rejection has its own state)', async () => {
    const s = sender();
    expect((await runWith({ ...REQUEST, bucket: 'other-bucket' }, s.progress)).valid).toBe(false);
    expect(s.calls.map((c) => details(c).map((e: any) => e.Detail.step))).toEqual([['started']]);
  });

  test('a failure sends nothing (retried, or reported by the failure ending); without `progress` nothing is sent', async () => {
    s3Mock.on(HeadObjectCommand).rejects(s3Error('InternalError', 500));
    const s = sender();
    await expect(runWith(REQUEST, s.progress)).rejects.toThrow();
    headJpeg();
    s3Mock.on(GetObjectCommand).resolves(body(JPEG));
    expect((await runWith(REQUEST, s.progress, false)).valid).toBe(true);
    expect(s.calls).toEqual([]);
  });

  test('best effort: a failed PutEvents is logged as a structured error and the validation is answered', async () => {
    headJpeg();
    s3Mock.on(GetObjectCommand).resolves(body(JPEG));
    const s = sender(async () => {
      throw Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' });
    });
    expect((await runWith(REQUEST, s.progress)).valid).toBe(true);
    expect(s.errors).toEqual([['progress events could not be sent', expect.objectContaining({ executionId: EXECUTION, steps: ['started', 'validation'], error: 'AccessDeniedException' })]]);
  });

  test('a malformed `progress` is a construct bug: thrown before any S3 call', async () => {
    await expect(handle({ request: REQUEST, rules: RULES, progress: { executionId: 7 } } as unknown as ValidateInputEvent, { s3: new S3Client({}) }))
      .rejects.toThrow('ValidateInputEvent.progress.executionId');
    expect(s3Mock).toHaveReceivedCommandTimes(HeadObjectCommand, 0);
  });
});
