/**
 * S3 on the wire (REST-XML, path style: the SDK addresses `http://127.0.0.1:<port>/<bucket>/<key>`
 * because the endpoint host is an IP address). An in-memory, versioned S3 with the semantics the
 * handlers and aws-cdk-lib's auto-delete-objects handler rely on:
 * - buckets unversioned, versioning Enabled or Suspended; every key keeps its versions newest first,
 *   delete markers included (`null` is the version id of unversioned / suspended writes);
 * - PutObject with Content-Type, `x-amz-meta-*`, `x-amz-tagging`, Content-MD5 and the flexible
 *   checksums (`x-amz-checksum-<algorithm>` headers, or `Content-Encoding: aws-chunked` bodies whose
 *   checksum comes in a trailer), both verified against the decoded bytes (`BadDigest`);
 * - GetObject / HeadObject by version, with Range (206, Content-Range; 416 InvalidRange), If-Match /
 *   If-Unmodified-Since (412), If-None-Match / If-Modified-Since (304); HEAD errors carry no body, so
 *   the SDK names a 404 `NotFound` and any other status `Unknown` (its own naming, not S3's);
 * - CopyObject (source version, `x-amz-copy-source-if-*` -> 412 PreconditionFailed, metadata and
 *   tagging directives), DeleteObject, DeleteObjects (Quiet), ListObjectsV2, ListObjectVersions;
 * - bucket tagging (NoSuchTagSet), policy (NoSuchBucketPolicy), notification configuration (the XML
 *   is stored as sent), versioning, location; NoSuchBucket for an unknown bucket.
 * Not modelled: ListObjects (v1), multipart uploads, ACLs, object lock, SSE-C, request signatures
 * (never checked), `x-amz-delete-marker` on error answers. A key with `.` / `..` segments reaches the
 * fake normalized (the server core parses the path with WHATWG URL), unlike S3, which keeps it literal.
 */
import * as crypto from 'crypto';
import { AwsError, requestId, WireRequest, WireResponse } from '../protocols';
import { ServiceModule } from '../wire-server';

const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
/** The owner every bucket and object has. */
const OWNER = { ID: '75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a' };
const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const;
/** A flexible-checksum algorithm, as in the `x-amz-checksum-<algorithm>` header name. */
export type ChecksumAlgorithm = typeof CHECKSUM_ALGORITHMS[number];

/** One version of an object, or a delete marker, as the fake stores it. */
export interface S3ObjectVersion {
  /** The object key. */
  readonly key: string;
  /** The version id; `null` for a write to an unversioned or versioning-suspended bucket. */
  readonly versionId: string;
  /** True for a delete marker (no body, no metadata). */
  readonly deleteMarker: boolean;
  /** The object bytes (empty for a delete marker). */
  readonly body: Buffer;
  /** Content-Type as stored (`binary/octet-stream` when none was sent). */
  readonly contentType: string;
  /** User metadata, keys lower case without the `x-amz-meta-` prefix. */
  readonly metadata: Record<string, string>;
  /** Object tags. */
  readonly tags: Record<string, string>;
  /** The ETag, quoted (`"<md5 hex>"`). */
  readonly etag: string;
  /** When this version was written. */
  readonly lastModified: Date;
  /** Other stored representation headers (`cache-control`, `content-disposition`, `content-encoding`, `content-language`). */
  readonly headers: Record<string, string>;
  /** The flexible checksum the object was uploaded with, if any. */
  readonly checksum?: { readonly algorithm: ChecksumAlgorithm; readonly value: string };
}

/** Options of a bucket created by a test. */
export interface S3BucketOptions {
  /** Turns versioning on (`Enabled`). @default false */
  readonly versioned?: boolean;
  /** The bucket region (HeadBucket's `x-amz-bucket-region`, GetBucketLocation). @default 'us-east-1' */
  readonly region?: string;
  /** Bucket tags. @default - none (GetBucketTagging answers NoSuchTagSet) */
  readonly tags?: Record<string, string>;
  /** A bucket policy (JSON text). @default - none (GetBucketPolicy answers NoSuchBucketPolicy) */
  readonly policy?: string;
}

/** Options of an object written by a test (seeding, not over the wire). */
export interface S3PutOptions {
  /** @default 'binary/octet-stream' */
  readonly contentType?: string;
  /** User metadata (keys are lower-cased, as S3 stores them). @default {} */
  readonly metadata?: Record<string, string>;
  /** Object tags. @default {} */
  readonly tags?: Record<string, string>;
}

interface Bucket {
  readonly name: string;
  readonly region: string;
  readonly created: Date;
  versioning?: 'Enabled' | 'Suspended';
  /** Versions per key, newest first. */
  readonly objects: Map<string, S3ObjectVersion[]>;
  tags?: Array<{ Key: string; Value: string }>;
  policy?: string;
  notification?: string;
}

// ------------------------------------------------------------------------------------------------
// XML in and out

type XmlValue = string | number | boolean | Date | undefined | null | XmlObject | XmlValue[];
interface XmlObject { readonly [name: string]: XmlValue }

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** An element; an array value repeats the element (S3 lists are flattened: `<Contents>` per object). */
function element(name: string, value: XmlValue): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map((v) => element(name, v)).join('');
  if (value instanceof Date) return `<${name}>${value.toISOString()}</${name}>`;
  if (typeof value === 'object') {
    return `<${name}>${Object.entries(value).map(([k, v]) => element(k, v)).join('')}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

function xmlAnswer(root: string, members: XmlObject, headers: Record<string, string> = {}): WireResponse {
  const inner = Object.entries(members).map(([k, v]) => element(k, v)).join('');
  return {
    status: 200,
    headers: { ...baseHeaders(), 'content-type': 'application/xml', ...headers },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${XMLNS}">${inner}</${root}>`,
  };
}

interface XmlNode {
  readonly name: string;
  readonly children: XmlNode[];
  text: string;
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (_m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[e];
  });
}

/** A small XML reader for request bodies (elements and text; attributes and namespaces ignored). */
function parseXml(text: string): XmlNode {
  const root: XmlNode = { name: '#document', children: [], text: '' };
  const stack: XmlNode[] = [root];
  const body = text.replace(/<\?[\s\S]*?\?>/g, '').replace(/<!--[\s\S]*?-->/g, '');
  const token = /<!\[CDATA\[([\s\S]*?)\]\]>|<(\/?)([A-Za-z_][\w.:-]*)[^>]*?(\/?)>|([^<]+)/g;
  let m: RegExpExecArray | null;
  while ((m = token.exec(body)) !== null) {
    const top = stack[stack.length - 1];
    if (m[1] !== undefined) {
      top.text += m[1];
    } else if (m[5] !== undefined) {
      top.text += decodeEntities(m[5]);
    } else if (m[2] === '/') {
      const name = m[3].replace(/^.*:/, '');
      if (top.name !== name) throw new AwsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
      stack.pop();
    } else {
      const node: XmlNode = { name: m[3].replace(/^.*:/, ''), children: [], text: '' };
      top.children.push(node);
      if (m[4] !== '/') stack.push(node);
    }
  }
  if (stack.length !== 1 || root.children.length !== 1) {
    throw new AwsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
  }
  return root.children[0];
}

function childrenOf(node: XmlNode | undefined, name: string): XmlNode[] {
  return node?.children.filter((c) => c.name === name) ?? [];
}

function childOf(node: XmlNode | undefined, name: string): XmlNode | undefined {
  return childrenOf(node, name)[0];
}

function textOf(node: XmlNode | undefined, name: string): string | undefined {
  return childOf(node, name)?.text;
}

// ------------------------------------------------------------------------------------------------
// Checksums and the aws-chunked body encoding

/* eslint-disable no-bitwise -- CRCs are bit arithmetic */
function crc32Table(polynomial: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ polynomial : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

const CRC32 = crc32Table(0xedb88320);
const CRC32C = crc32Table(0x82f63b78);
const CRC64_POLY = 0x9a6c9329ac4bc9b5n;
const MASK64 = 0xffffffffffffffffn;
let crc64Table: bigint[] | undefined;

function crc32Of(table: Uint32Array, data: Uint8Array): Buffer {
  let c = 0xffffffff;
  for (const byte of data) c = table[(c ^ byte) & 0xff] ^ (c >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((c ^ 0xffffffff) >>> 0);
  return out;
}

function crc64NvmeOf(data: Uint8Array): Buffer {
  if (!crc64Table) {
    crc64Table = [];
    for (let n = 0n; n < 256n; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ CRC64_POLY : c >> 1n;
      crc64Table.push(c);
    }
  }
  let c = MASK64;
  for (const byte of data) c = crc64Table[Number((c ^ BigInt(byte)) & 0xffn)] ^ (c >> 8n);
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(c ^ MASK64);
  return out;
}
/* eslint-enable no-bitwise */

/** The base64 checksum of `data` as S3 computes it for an `x-amz-checksum-<algorithm>` header. */
export function s3Checksum(algorithm: ChecksumAlgorithm, data: Uint8Array): string {
  switch (algorithm) {
    case 'crc32': return crc32Of(CRC32, data).toString('base64');
    case 'crc32c': return crc32Of(CRC32C, data).toString('base64');
    case 'crc64nvme': return crc64NvmeOf(data).toString('base64');
    case 'sha1': return crypto.createHash('sha1').update(data).digest('base64');
    case 'sha256': return crypto.createHash('sha256').update(data).digest('base64');
  }
}

/**
 * Decodes an `aws-chunked` body: `<hex size>[;chunk-signature=...]\r\n<bytes>\r\n` ... `0\r\n`, then
 * trailer lines `name:value\r\n` and a final `\r\n`.
 */
function decodeAwsChunked(body: Buffer): { data: Buffer; trailers: Record<string, string> } {
  const parts: Buffer[] = [];
  const trailers: Record<string, string> = {};
  const bad = () => new AwsError('IncompleteBody', 'The request body is not a valid aws-chunked encoding', 400);
  let pos = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', pos);
    if (eol < 0) throw bad();
    const size = parseInt(body.subarray(pos, eol).toString('latin1').split(';')[0].trim(), 16);
    if (!Number.isFinite(size) || size < 0) throw bad();
    pos = eol + 2;
    if (size === 0) break;
    if (pos + size + 2 > body.length || body.subarray(pos + size, pos + size + 2).toString('latin1') !== '\r\n') throw bad();
    parts.push(body.subarray(pos, pos + size));
    pos += size + 2;
  }
  while (pos < body.length) {
    const eol = body.indexOf('\r\n', pos);
    const line = body.subarray(pos, eol < 0 ? body.length : eol).toString('latin1');
    pos = eol < 0 ? body.length : eol + 2;
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon < 0) throw bad();
    trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { data: Buffer.concat(parts), trailers };
}

/**
 * The payload bytes of a request, aws-chunked decoded, with the flexible checksum (header or trailer)
 * and Content-MD5 verified. `contentEncoding` is what remains of Content-Encoding without aws-chunked.
 */
function readPayload(req: WireRequest): { data: Buffer; checksum?: S3ObjectVersion['checksum']; contentEncoding?: string } {
  const encodings = (req.headers['content-encoding'] ?? '').split(',').map((e) => e.trim()).filter((e) => e !== '');
  let data = req.body;
  let trailers: Record<string, string> = {};
  if (encodings.includes('aws-chunked')) {
    ({ data, trailers } = decodeAwsChunked(req.body));
    const declared = req.headers['x-amz-decoded-content-length'];
    if (declared !== undefined && Number(declared) !== data.length) {
      throw new AwsError('IncompleteBody', 'You did not provide the number of bytes specified by the x-amz-decoded-content-length header', 400);
    }
  }
  const md5 = req.headers['content-md5'];
  if (md5 !== undefined) {
    if (Buffer.from(md5, 'base64').length !== 16) throw new AwsError('InvalidDigest', 'The Content-MD5 you specified was invalid.', 400);
    if (crypto.createHash('md5').update(data).digest('base64') !== md5) {
      throw new AwsError('BadDigest', 'The Content-MD5 you specified did not match what we received.', 400);
    }
  }
  let checksum: S3ObjectVersion['checksum'];
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const sent = req.headers[`x-amz-checksum-${algorithm}`] ?? trailers[`x-amz-checksum-${algorithm}`];
    if (sent === undefined) continue;
    if (s3Checksum(algorithm, data) !== sent) {
      throw new AwsError('BadDigest', `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`, 400);
    }
    checksum = { algorithm, value: sent };
  }
  const sdkAlgorithm = req.headers['x-amz-sdk-checksum-algorithm']?.toLowerCase();
  if (sdkAlgorithm && checksum?.algorithm !== sdkAlgorithm) {
    throw new AwsError('InvalidRequest', `x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found (${sdkAlgorithm}).`, 400);
  }
  const rest = encodings.filter((e) => e !== 'aws-chunked');
  return { data, checksum, contentEncoding: rest.length > 0 ? rest.join(',') : undefined };
}

// ------------------------------------------------------------------------------------------------
// Helpers

function baseHeaders(): Record<string, string> {
  return { 'x-amz-request-id': requestId().replace(/-/g, '').slice(0, 16).toUpperCase(), 'x-amz-id-2': crypto.randomBytes(24).toString('base64') };
}

function md5Etag(data: Uint8Array): string {
  return `"${crypto.createHash('md5').update(data).digest('hex')}"`;
}

const VERSION_ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._';

/** A version id as S3 writes them today: 32 characters of [A-Za-z0-9._]. */
function newVersionId(): string {
  return Array.from(crypto.randomBytes(32), (b) => VERSION_ID_CHARS[b % VERSION_ID_CHARS.length]).join('');
}

function isWellFormedVersionId(id: string): boolean {
  return id === 'null' || /^[A-Za-z0-9._]{32}$/.test(id);
}

function unquote(etag: string): string {
  return etag.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

/** `If-Match`-style list against an ETag (`*` matches any). */
function etagMatches(condition: string, etag: string): boolean {
  return condition.split(',').some((c) => c.trim() === '*' || unquote(c) === unquote(etag));
}

/** Seconds resolution, as in Last-Modified. */
function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

function parseTags(query: string | undefined): Record<string, string> {
  const tags: Record<string, string> = {};
  if (!query) return tags;
  for (const [k, v] of new URLSearchParams(query)) tags[k] = v;
  return tags;
}

const STORED_HEADERS = ['cache-control', 'content-disposition', 'content-language', 'expires'];

function metadataOf(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (k.startsWith('x-amz-meta-')) out[k.slice('x-amz-meta-'.length)] = v;
  return out;
}

function isBucketName(name: string): boolean {
  return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) && !name.includes('..') && !/^\d+\.\d+\.\d+\.\d+$/.test(name);
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` -> [start, end] inclusive; undefined for a header S3 ignores. */
function parseRange(header: string | undefined, size: number): [number, number] | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec((header ?? '').trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return [Math.max(0, size - n), size - 1];
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return [start, end];
}

function encodeIf(value: string | undefined, url: boolean): string | undefined {
  return value === undefined || !url ? value : encodeURIComponent(value).replace(/%2F/g, '/');
}

/** Whether `key` lies at or before a listing marker (a marker ending in the delimiter skips its whole prefix). */
function beforeMarker(key: string, marker: string | undefined, delimiter: string): boolean {
  if (marker === undefined || marker === '') return false;
  return key <= marker || (delimiter !== '' && marker.endsWith(delimiter) && key.startsWith(marker));
}

/** The `"bucket/key?versionId=v"` of x-amz-copy-source, decoded. */
function parseCopySource(header: string): { bucket: string; key: string; versionId?: string } {
  const value = header.startsWith('/') ? header.slice(1) : header;
  const q = value.indexOf('?');
  const path = q < 0 ? value : value.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : value.slice(q + 1));
  const slash = path.indexOf('/');
  if (slash <= 0 || slash === path.length - 1) throw new AwsError('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', 400);
  let key: string;
  try {
    key = decodeURIComponent(path.slice(slash + 1));
  } catch {
    throw new AwsError('InvalidArgument', 'Invalid copy source encoding', 400);
  }
  return { bucket: path.slice(0, slash), key, versionId: params.get('versionId') ?? undefined };
}

// ------------------------------------------------------------------------------------------------

/** S3 (REST-XML, path style), in memory and versioned. See the file comment for what it covers. */
export class S3Service implements ServiceModule {
  public readonly signingNames = ['s3'];
  public readonly endpointEnvNames = ['S3'];
  public readonly protocol = 'rest-xml' as const;
  private readonly buckets = new Map<string, Bucket>();

  // --- seeding and inspection --------------------------------------------------------------------

  /** Creates a bucket (as a deployment would). An existing bucket is left as it is. */
  public createBucket(name: string, options: S3BucketOptions = {}): void {
    if (this.buckets.has(name)) return;
    this.buckets.set(name, {
      name,
      region: options.region ?? 'us-east-1',
      created: new Date(),
      versioning: options.versioned ? 'Enabled' : undefined,
      objects: new Map(),
      tags: options.tags ? Object.entries(options.tags).map(([Key, Value]) => ({ Key, Value })) : undefined,
      policy: options.policy,
    });
  }

  /** True when the bucket exists. */
  public hasBucket(name: string): boolean {
    return this.buckets.has(name);
  }

  /** Writes an object as PutObject would (a new version in a versioned bucket) and returns it. */
  public putObject(bucket: string, key: string, body: string | Uint8Array, options: S3PutOptions = {}): S3ObjectVersion {
    const b = this.bucketOrThrow(bucket);
    const data = Buffer.from(body);
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(options.metadata ?? {})) metadata[k.toLowerCase()] = v;
    return this.store(b, {
      key,
      deleteMarker: false,
      body: data,
      contentType: options.contentType ?? 'binary/octet-stream',
      metadata,
      tags: { ...options.tags },
      etag: md5Etag(data),
      lastModified: new Date(),
      headers: {},
    });
  }

  /** The current object (undefined when there is none or a delete marker is current), or one version. */
  public getObject(bucket: string, key: string, versionId?: string): S3ObjectVersion | undefined {
    const versions = this.bucketOrThrow(bucket).objects.get(key) ?? [];
    const found = versionId === undefined ? versions[0] : versions.find((v) => v.versionId === versionId);
    return found && !found.deleteMarker ? found : undefined;
  }

  /** Every version and delete marker (of one key, or of the bucket by key order), newest first per key. */
  public listVersions(bucket: string, key?: string): S3ObjectVersion[] {
    const b = this.bucketOrThrow(bucket);
    if (key !== undefined) return [...(b.objects.get(key) ?? [])];
    return [...b.objects.keys()].sort().flatMap((k) => b.objects.get(k)!);
  }

  /** Keys that have a current object (not a delete marker), sorted. */
  public keys(bucket: string): string[] {
    const b = this.bucketOrThrow(bucket);
    return [...b.objects.keys()].filter((k) => !b.objects.get(k)![0].deleteMarker).sort();
  }

  /** The bucket's versioning status (undefined when it was never turned on). */
  public versioning(bucket: string): 'Enabled' | 'Suspended' | undefined {
    return this.bucketOrThrow(bucket).versioning;
  }

  /** The bucket tags (undefined when there is no tag set). */
  public bucketTags(bucket: string): Record<string, string> | undefined {
    const tags = this.bucketOrThrow(bucket).tags;
    return tags ? Object.fromEntries(tags.map((t) => [t.Key, t.Value])) : undefined;
  }

  /** The bucket policy, parsed (undefined when there is none). */
  public bucketPolicy(bucket: string): any {
    const policy = this.bucketOrThrow(bucket).policy;
    return policy === undefined ? undefined : JSON.parse(policy);
  }

  /** The notification configuration XML as last PUT (undefined when never set). */
  public notificationConfiguration(bucket: string): string | undefined {
    return this.bucketOrThrow(bucket).notification;
  }

  // --- the wire --------------------------------------------------------------------------------

  public action(req: WireRequest): string {
    const { bucket, key } = this.target(req);
    const q = req.query;
    const m = req.method;
    if (bucket === undefined) return m === 'GET' ? 'ListBuckets' : 'Unknown';
    if (key === undefined) {
      if (m === 'POST' && q.has('delete')) return 'DeleteObjects';
      const sub = ['tagging', 'policy', 'notification', 'versioning', 'versions', 'location', 'uploads'].find((s) => q.has(s));
      if (m === 'HEAD') return 'HeadBucket';
      if (m === 'PUT') {
        return sub === 'tagging' ? 'PutBucketTagging' : sub === 'policy' ? 'PutBucketPolicy' : sub === 'notification' ? 'PutBucketNotificationConfiguration'
          : sub === 'versioning' ? 'PutBucketVersioning' : sub === undefined && [...q.keys()].every((k) => k === 'x-id') ? 'CreateBucket' : 'Unknown';
      }
      if (m === 'GET') {
        if (sub === undefined) return q.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
        return ({
          tagging: 'GetBucketTagging',
          policy: 'GetBucketPolicy',
          notification: 'GetBucketNotificationConfiguration',
          versioning: 'GetBucketVersioning',
          versions: 'ListObjectVersions',
          location: 'GetBucketLocation',
          uploads: 'ListMultipartUploads',
        } as Record<string, string>)[sub];
      }
      if (m === 'DELETE') return sub === 'tagging' ? 'DeleteBucketTagging' : sub === 'policy' ? 'DeleteBucketPolicy' : sub === undefined ? 'DeleteBucket' : 'Unknown';
      return 'Unknown';
    }
    if (q.has('uploads') || q.has('uploadId')) return 'MultipartUpload';
    if (q.has('tagging')) return m === 'GET' ? 'GetObjectTagging' : m === 'PUT' ? 'PutObjectTagging' : m === 'DELETE' ? 'DeleteObjectTagging' : 'Unknown';
    if (m === 'PUT') return req.headers['x-amz-copy-source'] !== undefined ? 'CopyObject' : 'PutObject';
    if (m === 'GET') return 'GetObject';
    if (m === 'HEAD') return 'HeadObject';
    if (m === 'DELETE') return 'DeleteObject';
    return 'Unknown';
  }

  public decode(req: WireRequest, action: string): unknown {
    const { bucket, key } = this.target(req);
    const h = req.headers;
    const input: Record<string, unknown> = { Bucket: bucket, Key: key, VersionId: req.query.get('versionId') ?? undefined };
    try {
      switch (action) {
        case 'PutObject': {
          const { data } = readPayload(req);
          Object.assign(input, {
            ContentType: h['content-type'],
            ContentLength: data.length,
            Metadata: metadataOf(h),
            Tagging: h['x-amz-tagging'],
            ContentEncoding: h['content-encoding'],
            Trailer: h['x-amz-trailer'],
          });
          if (data.length <= 4096) input.Body = data.toString('utf8');
          break;
        }
        case 'CopyObject':
          Object.assign(input, {
            CopySource: h['x-amz-copy-source'],
            CopySourceIfMatch: h['x-amz-copy-source-if-match'],
            MetadataDirective: h['x-amz-metadata-directive'],
            TaggingDirective: h['x-amz-tagging-directive'],
            Metadata: metadataOf(h),
          });
          break;
        case 'GetObject':
        case 'HeadObject':
          Object.assign(input, { Range: h.range, IfMatch: h['if-match'], IfNoneMatch: h['if-none-match'] });
          break;
        case 'DeleteObjects': {
          const doc = parseXml(readPayload(req).data.toString('utf8'));
          input.Objects = childrenOf(doc, 'Object').map((o) => ({ Key: textOf(o, 'Key'), VersionId: textOf(o, 'VersionId') }));
          input.Quiet = textOf(doc, 'Quiet') === 'true';
          break;
        }
        case 'ListObjectsV2':
        case 'ListObjectVersions':
          for (const [k, v] of req.query) if (k !== 'x-id') input[k] = v;
          break;
        case 'PutBucketPolicy':
          input.Policy = readPayload(req).data.toString('utf8');
          break;
        case 'PutBucketTagging':
          input.TagSet = childrenOf(childOf(parseXml(readPayload(req).data.toString('utf8')), 'TagSet'), 'Tag')
            .map((t) => ({ Key: textOf(t, 'Key'), Value: textOf(t, 'Value') }));
          break;
        case 'PutBucketVersioning':
          input.Status = textOf(parseXml(readPayload(req).data.toString('utf8')), 'Status');
          break;
      }
    } catch {
      // a malformed request is answered by handle(); the log keeps what could be read
    }
    return input;
  }

  public handle(req: WireRequest, action: string): WireResponse {
    const { bucket, key } = this.target(req);
    switch (action) {
      case 'ListBuckets': return this.listBuckets();
      case 'CreateBucket': return this.createBucketOverWire(req, bucket!);
    }
    const b = this.bucketOrError(bucket!, req.method === 'HEAD');
    switch (action) {
      case 'HeadBucket': return { status: 200, headers: { ...baseHeaders(), 'x-amz-bucket-region': b.region } };
      case 'DeleteBucket': return this.deleteBucket(b);
      case 'GetBucketLocation': return this.location(b);
      case 'PutBucketTagging': return this.putBucketTagging(b, req);
      case 'GetBucketTagging': return this.getBucketTagging(b);
      case 'DeleteBucketTagging':
        b.tags = undefined;
        return { status: 204, headers: baseHeaders() };
      case 'PutBucketPolicy': return this.putBucketPolicy(b, req);
      case 'GetBucketPolicy':
        if (b.policy === undefined) throw new AwsError('NoSuchBucketPolicy', 'The bucket policy does not exist', 404);
        return { status: 200, headers: { ...baseHeaders(), 'content-type': 'application/json' }, body: b.policy };
      case 'DeleteBucketPolicy':
        b.policy = undefined;
        return { status: 204, headers: baseHeaders() };
      case 'PutBucketNotificationConfiguration': return this.putNotification(b, req);
      case 'GetBucketNotificationConfiguration':
        if (b.notification !== undefined) return { status: 200, headers: { ...baseHeaders(), 'content-type': 'application/xml' }, body: b.notification };
        return xmlAnswer('NotificationConfiguration', {});
      case 'PutBucketVersioning': return this.putBucketVersioning(b, req);
      case 'GetBucketVersioning': return xmlAnswer('VersioningConfiguration', { Status: b.versioning });
      case 'ListObjectsV2': return this.listObjectsV2(b, req);
      case 'ListObjectVersions': return this.listObjectVersions(b, req);
      case 'DeleteObjects': return this.deleteObjects(b, req);
      case 'PutObject': return this.putObjectOverWire(b, key!, req);
      case 'GetObject':
      case 'HeadObject': return this.getObjectOverWire(b, key!, req);
      case 'CopyObject': return this.copyObject(b, key!, req);
      case 'DeleteObject': return this.deleteObjectOverWire(b, key!, req);
      case 'GetObjectTagging': {
        const version = this.readableVersion(b, key!, req.query.get('versionId') ?? undefined, false);
        return xmlAnswer('Tagging', { TagSet: { Tag: Object.entries(version.tags).map(([Key, Value]) => ({ Key, Value })) } },
          b.versioning ? { 'x-amz-version-id': version.versionId } : {});
      }
    }
    throw new AwsError('NotImplemented', `S3Service: ${action} (${req.method} ${req.path}?${req.query}) is not implemented`, 501);
  }

  // --- buckets -----------------------------------------------------------------------------------

  /** `/bucket/key` of a path-style request (the key percent-decoded). */
  private target(req: WireRequest): { bucket?: string; key?: string } {
    const path = req.path.startsWith('/') ? req.path.slice(1) : req.path;
    if (path === '') return {};
    const slash = path.indexOf('/');
    if (slash < 0) return { bucket: path };
    const rawKey = path.slice(slash + 1);
    let key: string;
    try {
      key = decodeURIComponent(rawKey);
    } catch {
      key = rawKey;
    }
    return { bucket: path.slice(0, slash), key: key === '' ? undefined : key };
  }

  private bucketOrThrow(name: string): Bucket {
    const b = this.buckets.get(name);
    if (!b) throw new Error(`S3Service: no bucket ${name}`);
    return b;
  }

  private bucketOrError(name: string, head = false): Bucket {
    const b = this.buckets.get(name);
    if (!b) throw new AwsError(head ? 'NotFound' : 'NoSuchBucket', 'The specified bucket does not exist', 404);
    return b;
  }

  private listBuckets(): WireResponse {
    const buckets = [...this.buckets.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    return xmlAnswer('ListAllMyBucketsResult', { Owner: OWNER, Buckets: { Bucket: buckets.map((b) => ({ Name: b.name, CreationDate: b.created })) } });
  }

  private createBucketOverWire(req: WireRequest, name: string): WireResponse {
    if (!isBucketName(name)) throw new AwsError('InvalidBucketName', 'The specified bucket is not valid.', 400);
    const text = readPayload(req).data.toString('utf8');
    const region = text.trim() ? textOf(parseXml(text), 'LocationConstraint') || 'us-east-1' : 'us-east-1';
    if (this.buckets.has(name)) {
      // us-east-1 keeps the legacy answer: 200 for a bucket you already own
      if (region !== 'us-east-1' || req.region !== 'us-east-1') {
        throw new AwsError('BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', 409);
      }
    } else {
      this.createBucket(name, { region });
    }
    return { status: 200, headers: { ...baseHeaders(), location: `/${name}` } };
  }

  private deleteBucket(b: Bucket): WireResponse {
    if (b.objects.size > 0) throw new AwsError('BucketNotEmpty', 'The bucket you tried to delete is not empty', 409);
    this.buckets.delete(b.name);
    return { status: 204, headers: baseHeaders() };
  }

  private location(b: Bucket): WireResponse {
    const value = b.region === 'us-east-1' ? '' : escapeXml(b.region);
    return {
      status: 200,
      headers: { ...baseHeaders(), 'content-type': 'application/xml' },
      body: `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="${XMLNS}">${value}</LocationConstraint>`,
    };
  }

  private putBucketTagging(b: Bucket, req: WireRequest): WireResponse {
    const doc = parseXml(readPayload(req).data.toString('utf8'));
    const tags = childrenOf(childOf(doc, 'TagSet'), 'Tag').map((t) => ({ Key: textOf(t, 'Key') ?? '', Value: textOf(t, 'Value') ?? '' }));
    if (new Set(tags.map((t) => t.Key)).size !== tags.length) throw new AwsError('InvalidTag', 'Cannot provide multiple Tags with the same key', 400);
    if (tags.length > 50) throw new AwsError('InvalidTag', 'Bucket tag count cannot be greater than 50', 400);
    b.tags = tags;
    return { status: 204, headers: baseHeaders() };
  }

  private getBucketTagging(b: Bucket): WireResponse {
    if (!b.tags) throw new AwsError('NoSuchTagSet', 'The TagSet does not exist', 404);
    return xmlAnswer('Tagging', { TagSet: { Tag: b.tags } });
  }

  private putBucketPolicy(b: Bucket, req: WireRequest): WireResponse {
    const text = readPayload(req).data.toString('utf8');
    try {
      if (!text.trimStart().startsWith('{')) throw new Error('not an object');
      JSON.parse(text);
    } catch {
      throw new AwsError('MalformedPolicy', "Policies must be valid JSON and the first byte must be '{'", 400);
    }
    b.policy = text;
    return { status: 204, headers: baseHeaders() };
  }

  private putNotification(b: Bucket, req: WireRequest): WireResponse {
    const xml = readPayload(req).data.toString('utf8');
    if (parseXml(xml).name !== 'NotificationConfiguration') {
      throw new AwsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema', 400);
    }
    b.notification = xml;
    return { status: 200, headers: baseHeaders() };
  }

  private putBucketVersioning(b: Bucket, req: WireRequest): WireResponse {
    const status = textOf(parseXml(readPayload(req).data.toString('utf8')), 'Status');
    if (status !== 'Enabled' && status !== 'Suspended') throw new AwsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema', 400);
    b.versioning = status;
    return { status: 200, headers: baseHeaders() };
  }

  // --- listing -----------------------------------------------------------------------------------

  private maxKeys(req: WireRequest): number {
    const raw = req.query.get('max-keys');
    if (raw === null) return 1000;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new AwsError('InvalidArgument', 'Provided max-keys not an integer or within integer range', 400);
    return Math.min(n, 1000);
  }


  private listObjectsV2(b: Bucket, req: WireRequest): WireResponse {
    const q = req.query;
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const maxKeys = this.maxKeys(req);
    const startAfter = q.get('start-after') ?? undefined;
    const token = q.get('continuation-token') ?? undefined;
    let marker = startAfter;
    if (token !== undefined) {
      try {
        marker = JSON.parse(Buffer.from(token, 'base64').toString('utf8')).after;
        if (typeof marker !== 'string') throw new Error('bad token');
      } catch {
        throw new AwsError('InvalidArgument', 'The continuation token provided is incorrect', 400);
      }
    }
    const url = q.get('encoding-type') === 'url';
    const keys = [...b.objects.keys()].filter((k) => k.startsWith(prefix) && !b.objects.get(k)![0].deleteMarker).sort();
    const contents: S3ObjectVersion[] = [];
    const prefixes: string[] = [];
    let truncated = false;
    let last = '';
    for (const key of keys) {
      if (beforeMarker(key, marker, delimiter)) continue;
      const cut = delimiter === '' ? -1 : key.indexOf(delimiter, prefix.length);
      const common = cut < 0 ? undefined : key.slice(0, cut + delimiter.length);
      if (common !== undefined && prefixes[prefixes.length - 1] === common) continue;
      if (contents.length + prefixes.length >= maxKeys) {
        truncated = true;
        break;
      }
      if (common !== undefined) {
        prefixes.push(common);
        last = common;
      } else {
        contents.push(b.objects.get(key)![0]);
        last = key;
      }
    }
    return xmlAnswer('ListBucketResult', {
      Name: b.name,
      Prefix: encodeIf(prefix, url),
      Delimiter: delimiter === '' ? undefined : encodeIf(delimiter, url),
      StartAfter: encodeIf(startAfter, url),
      ContinuationToken: token,
      MaxKeys: maxKeys,
      KeyCount: contents.length + prefixes.length,
      IsTruncated: truncated,
      NextContinuationToken: truncated ? Buffer.from(JSON.stringify({ after: last })).toString('base64') : undefined,
      EncodingType: url ? 'url' : undefined,
      Contents: contents.map((v) => ({
        Key: encodeIf(v.key, url),
        LastModified: v.lastModified,
        ETag: v.etag,
        Size: v.body.length,
        StorageClass: 'STANDARD',
        ChecksumAlgorithm: v.checksum ? v.checksum.algorithm.toUpperCase() : undefined,
      })),
      CommonPrefixes: prefixes.map((p) => ({ Prefix: encodeIf(p, url) })),
    });
  }

  private listObjectVersions(b: Bucket, req: WireRequest): WireResponse {
    const q = req.query;
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const maxKeys = this.maxKeys(req);
    const keyMarker = q.get('key-marker') ?? undefined;
    const versionMarker = q.get('version-id-marker') ?? undefined;
    const url = q.get('encoding-type') === 'url';
    const items: Array<{ version?: S3ObjectVersion; prefix?: string }> = [];
    let truncated = false;
    let next: { key: string; versionId?: string } | undefined;
    outer:
    for (const key of [...b.objects.keys()].filter((k) => k.startsWith(prefix)).sort()) {
      const inMarkerKey = keyMarker !== undefined && versionMarker !== undefined && versionMarker !== '' && key === keyMarker;
      if (!inMarkerKey && beforeMarker(key, keyMarker, delimiter)) continue;
      const cut = delimiter === '' ? -1 : key.indexOf(delimiter, prefix.length);
      if (cut >= 0) {
        const common = key.slice(0, cut + delimiter.length);
        if (items.length > 0 && items[items.length - 1].prefix === common) continue;
        if (items.length >= maxKeys) {
          truncated = true;
          break;
        }
        items.push({ prefix: common });
        next = { key: common };
        continue;
      }
      const versions = b.objects.get(key)!;
      let start = 0;
      if (inMarkerKey) {
        const at = versions.findIndex((v) => v.versionId === versionMarker);
        if (at < 0) throw new AwsError('InvalidArgument', 'Invalid version id specified', 400);
        start = at + 1;
      }
      for (const version of versions.slice(start)) {
        if (items.length >= maxKeys) {
          truncated = true;
          break outer;
        }
        items.push({ version });
        next = { key, versionId: version.versionId };
      }
    }
    const isLatest = (v: S3ObjectVersion) => b.objects.get(v.key)![0] === v;
    return xmlAnswer('ListVersionsResult', {
      Name: b.name,
      Prefix: encodeIf(prefix, url),
      Delimiter: delimiter === '' ? undefined : encodeIf(delimiter, url),
      KeyMarker: encodeIf(keyMarker ?? '', url),
      VersionIdMarker: versionMarker ?? '',
      NextKeyMarker: truncated ? encodeIf(next?.key, url) : undefined,
      NextVersionIdMarker: truncated ? next?.versionId : undefined,
      MaxKeys: maxKeys,
      IsTruncated: truncated,
      EncodingType: url ? 'url' : undefined,
      Version: items.filter((i) => i.version && !i.version.deleteMarker).map(({ version: v }) => ({
        Key: encodeIf(v!.key, url),
        VersionId: v!.versionId,
        IsLatest: isLatest(v!),
        LastModified: v!.lastModified,
        ETag: v!.etag,
        Size: v!.body.length,
        StorageClass: 'STANDARD',
        Owner: OWNER,
      })),
      DeleteMarker: items.filter((i) => i.version?.deleteMarker).map(({ version: v }) => ({
        Key: encodeIf(v!.key, url), VersionId: v!.versionId, IsLatest: isLatest(v!), LastModified: v!.lastModified, Owner: OWNER,
      })),
      CommonPrefixes: items.filter((i) => i.prefix !== undefined).map((i) => ({ Prefix: encodeIf(i.prefix, url) })),
    });
  }

  // --- objects -----------------------------------------------------------------------------------

  /** Adds a version as the bucket's versioning state says (a new id, or replacing the `null` version). */
  private store(b: Bucket, version: Omit<S3ObjectVersion, 'versionId'>): S3ObjectVersion {
    const stored: S3ObjectVersion = { ...version, versionId: b.versioning === 'Enabled' ? newVersionId() : 'null' };
    const versions = (b.objects.get(version.key) ?? []).filter((v) => b.versioning === 'Enabled' || v.versionId !== 'null');
    b.objects.set(version.key, [stored, ...versions]);
    return stored;
  }

  private versionHeaders(b: Bucket, v: S3ObjectVersion): Record<string, string> {
    return b.versioning ? { 'x-amz-version-id': v.versionId } : {};
  }

  /**
   * The version a GET / HEAD / copy reads: errors as S3 answers them (NoSuchKey, NoSuchVersion,
   * InvalidArgument for a malformed id, MethodNotAllowed for a delete marker named by id).
   */
  private readableVersion(b: Bucket, key: string, versionId: string | undefined, head: boolean): S3ObjectVersion {
    const versions = b.objects.get(key) ?? [];
    if (versionId === undefined) {
      const current = versions[0];
      if (!current || current.deleteMarker) throw new AwsError(head ? 'NotFound' : 'NoSuchKey', 'The specified key does not exist.', 404);
      return current;
    }
    if (!isWellFormedVersionId(versionId)) throw new AwsError(head ? 'BadRequest' : 'InvalidArgument', 'Invalid version id specified', 400);
    const found = versions.find((v) => v.versionId === versionId);
    if (!found) throw new AwsError(head ? 'NotFound' : 'NoSuchVersion', 'The specified version does not exist.', 404);
    if (found.deleteMarker) throw new AwsError('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405);
    return found;
  }

  private putObjectOverWire(b: Bucket, key: string, req: WireRequest): WireResponse {
    const h = req.headers;
    const { data, checksum, contentEncoding } = readPayload(req);
    if (Buffer.byteLength(key, 'utf8') > 1024) throw new AwsError('KeyTooLongError', 'Your key is too long', 400);
    const current = b.objects.get(key)?.[0];
    const exists = current !== undefined && !current.deleteMarker;
    if (h['if-none-match'] !== undefined && exists) throw new AwsError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412);
    if (h['if-match'] !== undefined) {
      if (!exists) throw new AwsError('NoSuchKey', 'The specified key does not exist.', 404);
      if (!etagMatches(h['if-match'], current.etag)) throw new AwsError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412);
    }
    const headers: Record<string, string> = {};
    for (const name of STORED_HEADERS) if (h[name] !== undefined) headers[name] = h[name];
    if (contentEncoding) headers['content-encoding'] = contentEncoding;
    const stored = this.store(b, {
      key,
      deleteMarker: false,
      body: data,
      contentType: h['content-type'] || 'binary/octet-stream',
      metadata: metadataOf(h),
      tags: parseTags(h['x-amz-tagging']),
      etag: md5Etag(data),
      lastModified: new Date(),
      headers,
      checksum,
    });
    return {
      status: 200,
      headers: {
        ...baseHeaders(),
        'etag': stored.etag,
        'x-amz-server-side-encryption': 'AES256',
        ...this.versionHeaders(b, stored),
        ...(checksum ? { [`x-amz-checksum-${checksum.algorithm}`]: checksum.value, 'x-amz-checksum-type': 'FULL_OBJECT' } : {}),
      },
    };
  }

  private getObjectOverWire(b: Bucket, key: string, req: WireRequest): WireResponse {
    const head = req.method === 'HEAD';
    const h = req.headers;
    const v = this.readableVersion(b, key, req.query.get('versionId') ?? undefined, head);
    const lastModified = seconds(v.lastModified);
    const failed = () => new AwsError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412);
    if (h['if-match'] !== undefined) {
      if (!etagMatches(h['if-match'], v.etag)) throw failed();
    } else if (h['if-unmodified-since'] !== undefined && lastModified > seconds(new Date(h['if-unmodified-since']))) {
      throw failed();
    }
    const notModified = h['if-none-match'] !== undefined
      ? etagMatches(h['if-none-match'], v.etag)
      : h['if-modified-since'] !== undefined && lastModified <= seconds(new Date(h['if-modified-since']));
    if (notModified) {
      return { status: 304, headers: { ...baseHeaders(), 'etag': v.etag, 'last-modified': v.lastModified.toUTCString() } };
    }
    const size = v.body.length;
    const range = parseRange(h.range, size);
    if (range === 'unsatisfiable') throw new AwsError('InvalidRange', 'The requested range is not satisfiable', 416);
    const [start, end] = range ?? [0, size - 1];
    const body = range ? v.body.subarray(start, end + 1) : v.body;
    const headers: Record<string, string> = {
      ...baseHeaders(),
      'content-type': v.contentType,
      'content-length': String(body.length),
      'etag': v.etag,
      'last-modified': v.lastModified.toUTCString(),
      'accept-ranges': 'bytes',
      'x-amz-server-side-encryption': 'AES256',
      ...v.headers,
      ...this.versionHeaders(b, v),
    };
    for (const [k, value] of Object.entries(v.metadata)) headers[`x-amz-meta-${k}`] = value;
    const tagCount = Object.keys(v.tags).length;
    if (tagCount > 0) headers['x-amz-tagging-count'] = String(tagCount);
    if (range) headers['content-range'] = `bytes ${start}-${end}/${size}`;
    if (!range && v.checksum && h['x-amz-checksum-mode']?.toUpperCase() === 'ENABLED') {
      headers[`x-amz-checksum-${v.checksum.algorithm}`] = v.checksum.value;
      headers['x-amz-checksum-type'] = 'FULL_OBJECT';
    }
    return { status: range ? 206 : 200, headers, body: head ? undefined : body };
  }

  private copyObject(b: Bucket, key: string, req: WireRequest): WireResponse {
    const h = req.headers;
    const source = parseCopySource(h['x-amz-copy-source']);
    const sourceBucket = this.bucketOrError(source.bucket);
    const v = this.readableVersion(sourceBucket, source.key, source.versionId, false);
    if (v.deleteMarker) throw new AwsError('InvalidRequest', 'The source of a copy request may not specifically refer to a delete marker by version id.', 400);
    const lastModified = seconds(v.lastModified);
    const failed = () => new AwsError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412);
    if (h['x-amz-copy-source-if-match'] !== undefined && !etagMatches(h['x-amz-copy-source-if-match'], v.etag)) throw failed();
    if (h['x-amz-copy-source-if-none-match'] !== undefined && etagMatches(h['x-amz-copy-source-if-none-match'], v.etag)) throw failed();
    if (h['x-amz-copy-source-if-unmodified-since'] !== undefined && h['x-amz-copy-source-if-match'] === undefined
      && lastModified > seconds(new Date(h['x-amz-copy-source-if-unmodified-since']))) throw failed();
    if (h['x-amz-copy-source-if-modified-since'] !== undefined && h['x-amz-copy-source-if-none-match'] === undefined
      && lastModified <= seconds(new Date(h['x-amz-copy-source-if-modified-since']))) throw failed();

    const metadataDirective = (h['x-amz-metadata-directive'] ?? 'COPY').toUpperCase();
    const taggingDirective = (h['x-amz-tagging-directive'] ?? 'COPY').toUpperCase();
    if (!['COPY', 'REPLACE'].includes(metadataDirective)) throw new AwsError('InvalidArgument', 'Unknown metadata directive.', 400);
    if (!['COPY', 'REPLACE'].includes(taggingDirective)) throw new AwsError('InvalidArgument', 'Unknown tagging directive.', 400);
    if (sourceBucket === b && source.key === key && source.versionId === undefined && metadataDirective === 'COPY') {
      throw new AwsError('InvalidRequest', "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.", 400);
    }
    const replace = metadataDirective === 'REPLACE';
    const headers: Record<string, string> = {};
    if (replace) {
      for (const name of STORED_HEADERS) if (h[name] !== undefined) headers[name] = h[name];
    } else {
      Object.assign(headers, v.headers);
    }
    const stored = this.store(b, {
      key,
      deleteMarker: false,
      body: v.body,
      contentType: replace ? h['content-type'] || 'binary/octet-stream' : v.contentType,
      metadata: replace ? metadataOf(h) : { ...v.metadata },
      tags: taggingDirective === 'REPLACE' ? parseTags(h['x-amz-tagging']) : { ...v.tags },
      etag: v.etag,
      lastModified: new Date(),
      headers,
      checksum: v.checksum,
    });
    return xmlAnswer('CopyObjectResult', {
      ETag: stored.etag,
      LastModified: stored.lastModified,
      ...(stored.checksum ? { [`Checksum${stored.checksum.algorithm.toUpperCase()}`]: stored.checksum.value } : {}),
    }, {
      'x-amz-server-side-encryption': 'AES256',
      ...this.versionHeaders(b, stored),
      ...(sourceBucket.versioning ? { 'x-amz-copy-source-version-id': v.versionId } : {}),
    });
  }

  /** Deletes a version, or writes a delete marker; what DeleteObject and DeleteObjects report. */
  private deleteOne(b: Bucket, key: string, versionId: string | undefined): { versionId?: string; deleteMarker: boolean } {
    const versions = b.objects.get(key) ?? [];
    const keep = (list: S3ObjectVersion[]) => (list.length > 0 ? b.objects.set(key, list) : b.objects.delete(key));
    if (versionId !== undefined) {
      if (!isWellFormedVersionId(versionId)) throw new AwsError('InvalidArgument', 'Invalid version id specified', 400);
      const found = versions.find((v) => v.versionId === versionId);
      keep(versions.filter((v) => v !== found));
      return { versionId, deleteMarker: found?.deleteMarker ?? false };
    }
    if (!b.versioning) {
      keep([]);
      return { deleteMarker: false };
    }
    const marker = this.store(b, {
      key, deleteMarker: true, body: Buffer.alloc(0), contentType: '', metadata: {}, tags: {}, etag: '', lastModified: new Date(), headers: {},
    });
    return { versionId: marker.versionId, deleteMarker: true };
  }

  private deleteObjectOverWire(b: Bucket, key: string, req: WireRequest): WireResponse {
    const result = this.deleteOne(b, key, req.query.get('versionId') ?? undefined);
    const headers: Record<string, string> = baseHeaders();
    if (result.deleteMarker) headers['x-amz-delete-marker'] = 'true';
    if (result.versionId !== undefined) headers['x-amz-version-id'] = result.versionId;
    return { status: 204, headers };
  }

  private deleteObjects(b: Bucket, req: WireRequest): WireResponse {
    const hasChecksum = req.headers['content-md5'] !== undefined
      || CHECKSUM_ALGORITHMS.some((a) => req.headers[`x-amz-checksum-${a}`] !== undefined) || req.headers['x-amz-trailer'] !== undefined;
    if (!hasChecksum) throw new AwsError('InvalidRequest', 'Missing required header for this request: Content-MD5', 400);
    const doc = parseXml(readPayload(req).data.toString('utf8'));
    if (doc.name !== 'Delete') throw new AwsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema', 400);
    const objects = childrenOf(doc, 'Object');
    if (objects.length === 0 || objects.length > 1000) {
      throw new AwsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema', 400);
    }
    const quiet = textOf(doc, 'Quiet') === 'true';
    const deleted: XmlObject[] = [];
    const errors: XmlObject[] = [];
    for (const o of objects) {
      const key = textOf(o, 'Key') ?? '';
      const versionId = textOf(o, 'VersionId');
      if (versionId !== undefined && !isWellFormedVersionId(versionId)) {
        errors.push({ Key: key, VersionId: versionId, Code: 'NoSuchVersion', Message: 'The specified version does not exist.' });
        continue;
      }
      const r = this.deleteOne(b, key, versionId);
      if (quiet) continue;
      deleted.push({
        Key: key,
        VersionId: versionId,
        DeleteMarker: r.deleteMarker ? true : undefined,
        DeleteMarkerVersionId: r.deleteMarker ? r.versionId : undefined,
      });
    }
    return xmlAnswer('DeleteResult', { Deleted: deleted, Error: errors });
  }
}
