/**
 * Lambda task "Validate Input": checks the execution input (WorkflowRequest) and the object it
 * names, and returns a ValidationResult with every field present.
 *
 * Invalid input (bad request shape, wrong bucket/prefix, missing object, too large, wrong content
 * type, content not matching its type) is an answer, not an error: {valid:false, reason}. Errors
 * that say nothing about the input (AccessDenied/Forbidden, throttling, 5xx, a changed object) are
 * rethrown so the state machine retries them or records a failure.
 *
 * Note: without s3:ListBucket on the bucket, S3 answers a missing object with 403, not 404; that
 * is rethrown (a failure), not reported as 'object not found'.
 */
import { createHash } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CopyObjectCommand, GetObjectCommand, HeadObjectCommand, HeadObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import type { ValidateInputEvent, ValidationResult, ValidationRules } from './contracts';
import { structuredLog } from './log';
import { isCheckedContentType, MAGIC_BYTES_LENGTH, magicMatches, normalizeContentType } from './magic-bytes';
import { parseProgressRequest, PROGRESS, ProgressRequest, ProgressSender, readProgressConfig, sendProgress } from './progress-events';

const logger = new Logger({ serviceName: 'agent-workflow-validator' });
const s3 = new S3Client({});

/** The logging the handler needs: Powertools' Logger (a test passes a recorder). */
export type ValidatorLog = Pick<Logger, 'info' | 'warn'>;

export interface ValidatorDeps {
  readonly s3: S3Client;
  readonly log?: ValidatorLog;
  /** Sends the 'started' and 'validation' progress events when the payload asks (runtime/progress-events.ts). */
  readonly progress?: ProgressSender;
}

/** S3's limit on key length, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;
/** Metadata limits (see ValidationResult.metadata). */
export const MAX_METADATA_KEYS = 20;
export const MAX_METADATA_VALUE_LENGTH = 256;
/** actorId / sessionId limit; they become part of the memory scope key. */
export const MAX_SCOPE_ID_LENGTH = 128;
/** Key segments in the result (`AgentField.keySegment` reads 0..19). */
export const MAX_KEY_SEGMENTS = 20;
/** Control characters refused in keys unless the rules allow them (C0, DEL, C1). */
// eslint-disable-next-line no-control-regex
const KEY_CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

/** S3 errors that mean "this object (version) does not exist": invalid input, not a failure. */
const NOT_FOUND_ERRORS = new Set(['NotFound', 'NoSuchKey', 'NoSuchVersion']);

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

interface Request {
  readonly bucket: string;
  readonly key: string;
  readonly versionId: string | null;
  readonly actorId: string | null;
  readonly sessionId: string | null;
}

class InvalidInput extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function emptyResult(reason: string, bucket: string, key: string, versionId: string | null): ValidationResult {
  return {
    valid: false,
    reason,
    bucket,
    key,
    versionId,
    size: 0,
    contentType: '',
    etag: '',
    actorId: '',
    sessionId: '',
    memoryScope: '',
    analysisBucket: '',
    analysisKey: '',
    metadata: {},
    keySegments: [],
  };
}

/** The rules come from the state-machine definition: a bad rule is a construct bug, so it throws. */
function checkRules(rules: unknown): ValidationRules {
  if (!isRecord(rules)) throw new Error('ValidateInputEvent.rules is missing');
  const { maxSizeBytes, contentTypes, checkMagicBytes, bucket, prefix, requiredMetadata, snapshotBucket, snapshotPrefix } = rules;
  const { allowControlCharactersInKey, requiredKeySegments, actorIdKeySegment } = rules;
  const isSegmentIndex = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n < MAX_KEY_SEGMENTS;
  if (typeof maxSizeBytes !== 'number' || !(maxSizeBytes >= 0)) throw new Error('rules.maxSizeBytes must be a non-negative number');
  if (!Array.isArray(contentTypes) || !contentTypes.every((c) => typeof c === 'string')) throw new Error('rules.contentTypes must be a string array');
  if (typeof checkMagicBytes !== 'boolean') throw new Error('rules.checkMagicBytes must be a boolean');
  if (typeof bucket !== 'string') throw new Error('rules.bucket must be a string');
  if (typeof prefix !== 'string') throw new Error('rules.prefix must be a string');
  if (requiredMetadata !== undefined && (!Array.isArray(requiredMetadata) || !requiredMetadata.every((m) => typeof m === 'string'))) {
    throw new Error('rules.requiredMetadata must be a string array');
  }
  if (snapshotBucket !== undefined && typeof snapshotBucket !== 'string') throw new Error('rules.snapshotBucket must be a string');
  if (snapshotPrefix !== undefined && typeof snapshotPrefix !== 'string') throw new Error('rules.snapshotPrefix must be a string');
  if (allowControlCharactersInKey !== undefined && typeof allowControlCharactersInKey !== 'boolean') throw new Error('rules.allowControlCharactersInKey must be a boolean');
  if (requiredKeySegments !== undefined && (!Array.isArray(requiredKeySegments) || !requiredKeySegments.every(isSegmentIndex))) {
    throw new Error(`rules.requiredKeySegments must be an array of integers in 0..${MAX_KEY_SEGMENTS - 1}`);
  }
  if (actorIdKeySegment !== undefined && !isSegmentIndex(actorIdKeySegment)) throw new Error(`rules.actorIdKeySegment must be an integer in 0..${MAX_KEY_SEGMENTS - 1}`);
  return {
    maxSizeBytes,
    contentTypes,
    checkMagicBytes,
    bucket,
    prefix,
    requiredMetadata: requiredMetadata ?? [],
    snapshotBucket: snapshotBucket ?? '',
    snapshotPrefix: snapshotPrefix ?? '',
    allowControlCharactersInKey: allowControlCharactersInKey ?? false,
    requiredKeySegments: (requiredKeySegments as number[] | undefined) ?? [],
    actorIdKeySegment: actorIdKeySegment as number | undefined,
  };
}

/**
 * The key's segments (split on '/'), after checking the ones the definition reads: each must be a
 * non-empty folder of the key, not its last segment (the object's name, which the uploader chooses
 * freely even where IAM restricts the folders). Throws InvalidInput.
 */
function keySegmentsOf(key: string, rules: ValidationRules): string[] {
  const segments = key.split('/');
  const actor = rules.actorIdKeySegment !== undefined ? [rules.actorIdKeySegment] : [];
  const read = [...new Set([...(rules.requiredKeySegments ?? []), ...actor])].sort((a, b) => a - b);
  const missing = read.filter((i) => i >= segments.length - 1 || segments[i] === '');
  if (missing.length > 0) {
    const example = [...Array(Math.max(...read) + 1).keys()].map((i) => (read.includes(i) ? `<segment ${i}>` : '...')).join('/');
    throw new InvalidInput(`key has no (non-empty) folder segment ${missing.join(', ')}: the workflow reads key segment${read.length > 1 ? 's' : ''} `
      + `${read.join(', ')} (split on '/', counted from 0), so keys must look like ${example}/<name>`);
  }
  return segments.slice(0, MAX_KEY_SEGMENTS);
}

function optionalString(request: Record<string, unknown>, field: string): string | null {
  const value = request[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new InvalidInput(`request.${field} must be a string or null`);
  return value;
}

/** Memory-scope ids: '#' would let one actor's scope collide with another's (`actor#a#session#b`). */
function checkScopeId(value: string, name: string): void {
  if (value.length > MAX_SCOPE_ID_LENGTH || value.includes('#') || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new InvalidInput(`${name} must be at most ${MAX_SCOPE_ID_LENGTH} characters, without '#' or control characters`);
  }
}

/** Checks the request shape. Extra fields are ignored. Throws InvalidInput. */
export function parseRequest(request: unknown): Request {
  if (!isRecord(request)) throw new InvalidInput('request must be a JSON object');
  const { bucket, key } = request;
  if (typeof bucket !== 'string' || bucket === '') throw new InvalidInput('request.bucket must be a non-empty string');
  if (typeof key !== 'string' || key === '') throw new InvalidInput('request.key must be a non-empty string');
  if (!BUCKET_NAME.test(bucket)) throw new InvalidInput('request.bucket is not a valid S3 bucket name');
  const keyBytes = Buffer.byteLength(key, 'utf8');
  if (keyBytes > MAX_KEY_BYTES) throw new InvalidInput(`request.key is ${keyBytes} bytes, above the ${MAX_KEY_BYTES}-byte S3 limit`);
  const versionId = optionalString(request, 'versionId');
  const actorId = optionalString(request, 'actorId');
  const sessionId = optionalString(request, 'sessionId');
  return { bucket, key, versionId: versionId === '' ? null : versionId, actorId, sessionId };
}

const compare = (a: string | number, b: string | number): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * S3 user metadata, normalized: keys lower-cased with every char outside [a-z0-9_] replaced by '_'
 * (when two keys normalize alike, a key already in normal form wins, else the one sorting first);
 * at most 20 keys (the first 20 in sorted order); values cut to 256 characters.
 */
export function normalizeMetadata(metadata: Record<string, string | undefined> | undefined): Record<string, string> {
  const entries = Object.entries(metadata ?? {})
    .filter((e): e is [string, string] => typeof e[1] === 'string')
    .map(([k, v]) => [k.toLowerCase().replace(/[^a-z0-9_]/g, '_'), k, v] as const)
    .sort((a, b) => compare(a[0], b[0]) || compare(Number(a[1] !== a[0]), Number(b[1] !== b[0])) || compare(a[1], b[1]));
  // A Map, then fromEntries: a key such as "__proto__" stays an ordinary own property.
  const out = new Map<string, string>();
  for (const [key, , value] of entries) {
    if (out.has(key)) continue;
    if (out.size === MAX_METADATA_KEYS) break;
    const chars = Array.from(value);
    out.set(key, chars.length > MAX_METADATA_VALUE_LENGTH ? chars.slice(0, MAX_METADATA_VALUE_LENGTH).join('') : value);
  }
  return Object.fromEntries(out);
}

/** `actor#<actorId>#session#<sessionId>`, `actor#<actorId>`, or '' when no actor is known. */
export function memoryScopeFor(actorId: string, sessionId: string): string {
  if (actorId === '') return '';
  return sessionId === '' ? `actor#${actorId}` : `actor#${actorId}#session#${sessionId}`;
}

function errorName(err: unknown): string {
  return isRecord(err) && typeof err.name === 'string' ? err.name : '';
}

function httpStatus(err: unknown): number | undefined {
  const status = isRecord(err) && isRecord(err.$metadata) ? err.$metadata.httpStatusCode : undefined;
  return typeof status === 'number' ? status : undefined;
}

/**
 * S3's names for the statuses of a HeadObject error. A HEAD answer has no body, so no S3 error code:
 * the SDK names a 404 `NotFound` and anything else `Unknown`. The state machine retries by name
 * (SlowDown, InternalError) and an operator reads the name, so a failure is renamed by its status.
 */
const HEAD_ERROR_NAMES: Readonly<Record<number, string>> = {
  400: 'BadRequest', 403: 'Forbidden', 405: 'MethodNotAllowed', 412: 'PreconditionFailed', 500: 'InternalError', 503: 'SlowDown',
};

async function headObject(deps: ValidatorDeps, req: Request): Promise<HeadObjectCommandOutput> {
  try {
    return await deps.s3.send(new HeadObjectCommand({ Bucket: req.bucket, Key: req.key, VersionId: req.versionId ?? undefined }));
  } catch (err) {
    const name = errorName(err);
    const status = httpStatus(err);
    if (NOT_FOUND_ERRORS.has(name) || status === 404) throw new InvalidInput('object not found');
    // A version id naming a delete marker (405), or a malformed version id (400): told by the status only.
    if (req.versionId !== null && status === 405) throw new InvalidInput('object not found (the version is a delete marker)');
    if (req.versionId !== null && status === 400) throw new InvalidInput('invalid version id');
    if (name === 'Unknown' && status !== undefined && HEAD_ERROR_NAMES[status]) {
      const named = new Error(`S3 HeadObject failed: HTTP ${status} (${HEAD_ERROR_NAMES[status]})`, { cause: err });
      named.name = HEAD_ERROR_NAMES[status];
      throw named;
    }
    throw err;
  }
}

async function leadingBytes(deps: ValidatorDeps, req: Request, versionId: string | null, etag: string): Promise<Uint8Array> {
  const res = await deps.s3.send(new GetObjectCommand({
    Bucket: req.bucket,
    Key: req.key,
    VersionId: versionId ?? undefined,
    // The same object HeadObject described: a concurrent overwrite fails (412) and is retried.
    IfMatch: etag === '' ? undefined : etag,
    Range: `bytes=0-${MAGIC_BYTES_LENGTH - 1}`,
  }));
  if (!res.Body) return new Uint8Array();
  const bytes = await res.Body.transformToByteArray();
  return bytes.subarray(0, MAGIC_BYTES_LENGTH);
}

async function validate(event: ValidateInputEvent, rules: ValidationRules, deps: ValidatorDeps): Promise<ValidationResult> {
  const req = parseRequest(event.request);
  if (rules.bucket !== '' && req.bucket !== rules.bucket) throw new InvalidInput(`bucket "${req.bucket}" is not the input bucket`);
  if (rules.prefix !== '' && !req.key.startsWith(rules.prefix)) throw new InvalidInput(`key is not under the prefix "${rules.prefix}"`);
  if (req.key.split('/').some((s) => s === '.' || s === '..')) {
    // Literal for S3, but tools that normalise paths would read another object: refuse the ambiguity.
    throw new InvalidInput("key has a '.' or '..' path segment");
  }
  const control = rules.allowControlCharactersInKey ? null : KEY_CONTROL_CHARACTER.exec(req.key);
  if (control) {
    // A line break or escape sequence in a key would reach people as text (messages, pages, logs).
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    throw new InvalidInput(`key contains a control character (U+${code} at position ${control.index}); set allowControlCharactersInKey to accept such keys`);
  }
  const keySegments = keySegmentsOf(req.key, rules);

  const head = await headObject(deps, req);
  const size = head.ContentLength ?? 0;
  if (size > rules.maxSizeBytes) throw new InvalidInput(`object is ${size} bytes, above the limit of ${rules.maxSizeBytes} bytes`);
  const contentType = normalizeContentType(head.ContentType);
  const allowed = rules.contentTypes.map((c) => normalizeContentType(c));
  if (allowed.length > 0 && !allowed.includes(contentType)) {
    throw new InvalidInput(`content type "${contentType}" is not allowed (allowed: ${allowed.join(', ')})`);
  }
  const versionId = req.versionId ?? head.VersionId ?? null;
  const etag = head.ETag ?? '';
  // Only the types magic-bytes.ts knows are checked (no GET for text/csv, video/mp4, ...).
  if (rules.checkMagicBytes && isCheckedContentType(contentType)) {
    const bytes = size === 0 ? new Uint8Array() : await leadingBytes(deps, req, versionId, etag);
    if (!magicMatches(contentType, bytes)) throw new InvalidInput(`content does not match the declared content type "${contentType}"`);
  }

  const metadata = normalizeMetadata(head.Metadata);
  const missing = (rules.requiredMetadata ?? []).filter((name) => !metadata[name]);
  if (missing.length > 0) {
    throw new InvalidInput(`missing object metadata: ${missing.map((m) => `${m} (x-amz-meta-${m.replace(/_/g, '-')})`).join(', ')}`);
  }
  // The key segment, when configured: IAM can restrict where an uploader writes, not what metadata it sets.
  const actorId = rules.actorIdKeySegment !== undefined ? keySegments[rules.actorIdKeySegment] : req.actorId ?? metadata.actor_id ?? '';
  const sessionId = req.sessionId ?? metadata.session_id ?? '';
  checkScopeId(actorId, 'actorId');
  checkScopeId(sessionId, 'sessionId');
  return {
    valid: true,
    reason: '',
    bucket: req.bucket,
    key: req.key,
    versionId,
    size,
    contentType,
    etag,
    actorId,
    sessionId,
    memoryScope: memoryScopeFor(actorId, sessionId),
    ...(await snapshot(deps, req, rules, versionId, etag)),
    metadata,
    keySegments,
  };
}

/**
 * Copies the validated version (If-Match its ETag) next to the answer artifacts, so a model that
 * reads the object by S3 location reads exactly what was validated; else the object itself.
 */
async function snapshot(
  deps: ValidatorDeps, req: Request, rules: ValidationRules, versionId: string | null, etag: string,
): Promise<{ analysisBucket: string; analysisKey: string }> {
  if (!rules.snapshotBucket) return { analysisBucket: req.bucket, analysisKey: req.key };
  const id = createHash('sha256').update(`${req.bucket}\n${req.key}\n${versionId ?? etag}`).digest('hex').slice(0, 32);
  const base = (req.key.split('/').pop() ?? 'object').replace(/[^A-Za-z0-9._-]/g, '_').slice(-100) || 'object';
  const analysisKey = `${rules.snapshotPrefix ?? ''}${id}/${base}`;
  const source = `${req.bucket}/${req.key.split('/').map(encodeURIComponent).join('/')}${versionId ? `?versionId=${encodeURIComponent(versionId)}` : ''}`;
  // A concurrent overwrite fails the copy (412 PreconditionFailed) and is retried by the state machine.
  await deps.s3.send(new CopyObjectCommand({
    Bucket: rules.snapshotBucket,
    Key: analysisKey,
    CopySource: source,
    CopySourceIfMatch: etag === '' ? undefined : etag,
    MetadataDirective: 'COPY',
    // no tags on the copy: copying them needs s3:GetObject(Version)Tagging and s3:PutObjectTagging,
    // and the uploader's tags are not the artifact's
    TaggingDirective: 'REPLACE',
  }));
  return { analysisBucket: rules.snapshotBucket, analysisKey };
}

export async function handle(event: ValidateInputEvent, deps: ValidatorDeps): Promise<ValidationResult> {
  const log = deps.log ?? logger;
  const rules = checkRules(event?.rules);
  const progress = parseProgressRequest((event as { progress?: unknown } | undefined)?.progress, 'ValidateInputEvent.progress');
  try {
    const result = await validate(event, rules, deps);
    log.info('Input valid', { bucket: result.bucket, key: result.key, versionId: result.versionId, size: result.size, contentType: result.contentType });
    await reportProgress(deps, progress, true);
    return result;
  } catch (err) {
    if (!(err instanceof InvalidInput)) throw err;
    const request = isRecord(event.request) ? event.request : {};
    // Echo what the request named, unless it is not a plausible S3 name (keeps the result small).
    const known = (value: unknown, maxBytes: number): string =>
      (typeof value === 'string' && Buffer.byteLength(value, 'utf8') <= maxBytes ? value : '');
    const versionId = known(request.versionId, MAX_KEY_BYTES) || null;
    const result = emptyResult(err.reason, known(request.bucket, 63), known(request.key, MAX_KEY_BYTES), versionId);
    log.warn('Invalid input', { reason: result.reason, bucket: result.bucket, key: result.key, versionId: result.versionId });
    await reportProgress(deps, progress, false);
    return result;
  }
}

/**
 * With an answer (valid or not; a thrown error sends nothing, the failure ending reports it): one
 * PutEvents call with 'started' (at the execution's start) and, for a valid input, 'validation'.
 */
async function reportProgress(deps: ValidatorDeps, request: ProgressRequest | undefined, valid: boolean): Promise<void> {
  const started = { milestone: PROGRESS.started, at: request?.startedAt };
  await sendProgress(deps.progress, request, valid ? [started, { milestone: PROGRESS.validated }] : [started]);
}

let progressSender: ProgressSender | undefined;

export async function handler(event: ValidateInputEvent): Promise<ValidationResult> {
  if (!progressSender) {
    const events = new EventBridgeClient({});
    progressSender = {
      config: readProgressConfig(process.env),
      putEvents: (input) => events.send(new PutEventsCommand(input)),
      log: structuredLog(logger),
      now: () => new Date(),
    };
  }
  return handle(event, { s3, log: logger, progress: progressSender });
}
