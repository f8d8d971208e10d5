/**
 * Pure helpers of the starter: parse an EventBridge S3 "Object Created" event (as delivered in an
 * SQS message body) and derive a deterministic Step Functions execution name from it.
 *
 * Object key encoding
 * -------------------
 * `detail.object.key` is treated as URL-encoded (application/x-www-form-urlencoded: a space arrives
 * as '+', a literal '+' as '%2B', non-ASCII as %XX UTF-8 bytes), exactly like the key of S3 event
 * notifications sent to SQS/SNS/Lambda, and is decoded here. The S3 page documenting the EventBridge
 * event shape (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html) does not state
 * the encoding either way (its samples only use plain keys such as "example-key"); two maintained
 * consumers of these very events decode the key:
 * - AWS Powertools for Lambda (Python), `S3EventBridgeNotificationObject.key` returns
 *   `unquote_plus(self["key"])` (aws_lambda_powertools/utilities/data_classes/s3_event.py);
 * - OpenSearch Data Prepper's S3 source reads EventBridge messages through
 *   `S3EventBridgeNotification.Object.getUrlDecodedKey()` (`SdkHttpUtils.urlDecode`).
 * Decoding a key that S3 encoded is required for keys with spaces / non-ASCII characters; a key
 * that contains no '+' or '%' decodes to itself, so plain keys are unaffected either way.
 */
import { createHash } from 'node:crypto';

/** The longest execution name Step Functions accepts. */
export const MAX_EXECUTION_NAME_LENGTH = 80;
/** The readable part of an execution name is at most this long. */
export const MAX_SLUG_LENGTH = 40;
/** Characters of the sha256 hex digest kept in the name (128 bits). */
export const NAME_HASH_LENGTH = 32;

/** The fields of an "Object Created" event the workflow needs. */
export interface ObjectCreated {
  readonly bucket: string;
  /** The decoded object key (what S3 APIs expect). */
  readonly key: string;
  /** `detail.object.version-id`, null when the bucket is not versioned. */
  readonly versionId: string | null;
  /** `detail.object.sequencer`, null when absent. */
  readonly sequencer: string | null;
  /** Object size in bytes (0 when absent). */
  readonly size: number;
  /** '' when absent. */
  readonly etag: string;
}

/** The message is not a usable EventBridge S3 event (bad JSON, missing fields). Report it as a batch item failure. */
export class MalformedEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedEventError';
  }
}

/** The message is a well-formed EventBridge event, but not an S3 "Object Created" one: ignore it. */
export class UnsupportedEventError extends Error {
  constructor(readonly source: string, readonly detailType: string) {
    super(`not an S3 "Object Created" event (source "${source}", detail-type "${detailType}")`);
    this.name = 'UnsupportedEventError';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Decodes an application/x-www-form-urlencoded S3 event key ('+' = space). Throws MalformedEventError on bad escapes. */
export function decodeEventKey(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    throw new MalformedEventError('detail.object.key is not valid URL encoding');
  }
}

/**
 * Parses the body of an SQS message carrying an EventBridge S3 event.
 * Throws MalformedEventError for anything unusable, UnsupportedEventError for another event type.
 */
export function parseObjectCreatedEvent(body: string): ObjectCreated {
  let event: unknown;
  try {
    event = JSON.parse(body);
  } catch {
    throw new MalformedEventError('message body is not JSON');
  }
  if (!isRecord(event)) throw new MalformedEventError('message body is not a JSON object');
  const detailType = event['detail-type'];
  const source = event.source;
  if (typeof detailType !== 'string' || typeof source !== 'string') {
    throw new MalformedEventError('message body is not an EventBridge event (no "source" / "detail-type")');
  }
  if (source !== 'aws.s3' || detailType !== 'Object Created') throw new UnsupportedEventError(source, detailType);

  const detail = event.detail;
  if (!isRecord(detail)) throw new MalformedEventError('detail is missing');
  const bucket = isRecord(detail.bucket) ? detail.bucket.name : undefined;
  if (typeof bucket !== 'string' || bucket === '') throw new MalformedEventError('detail.bucket.name is missing');
  const object = detail.object;
  if (!isRecord(object)) throw new MalformedEventError('detail.object is missing');
  if (typeof object.key !== 'string' || object.key === '') throw new MalformedEventError('detail.object.key is missing');
  const key = decodeEventKey(object.key);

  const optionalString = (field: string): string | null => {
    const value = object[field];
    if (value === undefined || value === null || value === '') return null;
    if (typeof value !== 'string') throw new MalformedEventError(`detail.object.${field} is not a string`);
    return value;
  };
  const versionId = optionalString('version-id');
  const sequencer = optionalString('sequencer');
  if (versionId === null && sequencer === null) {
    throw new MalformedEventError('detail.object has neither "version-id" nor "sequencer": no way to tell duplicates from re-uploads');
  }
  const size = object.size ?? 0;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new MalformedEventError('detail.object.size is not a byte count');
  const etag = optionalString('etag') ?? '';
  return { bucket, key, versionId, sequencer, size, etag };
}

/**
 * What tells one creation of `bucket/key` from another: the version id when the bucket is versioned,
 * else the event sequencer. A duplicate delivery of the same event has the same discriminator; a
 * re-upload has a new one. The version id "null" (objects written while versioning was suspended)
 * is the same for every re-upload, so the sequencer is used then.
 */
export function discriminatorFor(object: Pick<ObjectCreated, 'versionId' | 'sequencer'>): string {
  if (object.versionId !== null && object.versionId !== 'null') return object.versionId;
  if (object.sequencer !== null) return object.sequencer;
  if (object.versionId !== null) return object.versionId;
  throw new MalformedEventError('neither a version id nor a sequencer');
}

/** A readable, name-safe slug of the key's last path segment (at most 40 chars; 'object' when nothing readable is left). */
export function keySlug(key: string): string {
  const segments = key.split('/').filter((s) => s !== '');
  const last = segments.length > 0 ? segments[segments.length - 1] : '';
  const slug = last
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // accents: "café" -> "cafe"
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+/, '')
    .slice(0, MAX_SLUG_LENGTH)
    .replace(/-+$/, '');
  return slug === '' ? 'object' : slug;
}

/**
 * The Step Functions execution name for one object creation: `<slug>-<32 hex>` where the hex is the
 * start of sha256(`${bucket}\n${key}\n${discriminator}`). At most 73 chars, only [A-Za-z0-9_-].
 */
export function executionNameFor(bucket: string, key: string, discriminator: string): string {
  const hash = createHash('sha256').update(`${bucket}\n${key}\n${discriminator}`, 'utf8').digest('hex').slice(0, NAME_HASH_LENGTH);
  return `${keySlug(key)}-${hash}`;
}
