/**
 * The AWS wire protocols, as far as the fakes need them: reading a request (EC2/awsQuery form
 * bodies, JSON 1.0/1.1 with X-Amz-Target, REST-JSON and REST-XML paths) and writing answers and
 * errors in the exact shape each protocol's SDK deserializer expects. No service logic here.
 */
import * as crypto from 'crypto';

/** One HTTP request as the server received it. */
export interface WireRequest {
  readonly method: string;
  /** Path without the query string, percent-decoded per segment left to the service. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Header names in lower case. */
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** The SigV4 signing name from the Authorization header (`ec2`, `states`, `s3`, `bedrock`...). */
  readonly signingName: string;
  readonly region: string;
}

/** One HTTP answer. */
export interface WireResponse {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
}

/** The protocol families, each with its own error shape. */
export type Protocol = 'ec2' | 'query' | 'json' | 'rest-json' | 'rest-xml';

/** An AWS error a fake raises; the server writes it in the protocol of the service. */
export class AwsError extends Error {
  constructor(
    /** The error code the SDK turns into the exception's `name`. */
    public readonly code: string,
    message: string = code,
    /** HTTP status (400 unless the service documents another). */
    public readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }
}

export function requestId(): string {
  return crypto.randomUUID();
}

/** `AWS4-HMAC-SHA256 Credential=AKID/20261201/us-east-1/ec2/aws4_request, ...` -> region and service. */
export function parseCredentialScope(authorization: string | undefined): { region: string; service: string } {
  const m = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(authorization ?? '');
  if (!m) return { region: '', service: '' };
  return { region: m[1], service: m[2] };
}

// ------------------------------------------------------------------------------------------------
// Query protocol (EC2, SNS, CloudFormation, CloudWatch): form-encoded bodies

/**
 * Decodes a form body into nested values: `A.1.B.2.C=x` becomes `{ A: [ { B: [ , { C: 'x' } ] } ] }`
 * with 1-based indexes turned into array positions. Keys keep the wire names (EC2's `Filter.N`,
 * `IpPermissions.N.IpRanges.N.CidrIp`, SNS's `MessageAttributes.entry.N.Name`).
 */
export function parseQueryBody(body: Buffer | string): Record<string, any> {
  const params = new URLSearchParams(body.toString());
  const root: Record<string, any> = {};
  for (const [key, value] of params) {
    const parts = key.split('.');
    let node: any = root;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      const last = i === parts.length - 1;
      const index = /^\d+$/.test(part) ? Number(part) - 1 : undefined;
      const slot = index ?? part;
      if (last) {
        node[slot] = value;
      } else {
        const nextIsIndex = /^\d+$/.test(parts[i + 1]);
        if (node[slot] === undefined) node[slot] = nextIsIndex ? [] : {};
        node = node[slot];
      }
    }
  }
  return compactArrays(root);
}

function compactArrays(value: any): any {
  if (Array.isArray(value)) return value.filter((v) => v !== undefined).map(compactArrays);
  if (value && typeof value === 'object') {
    const out: Record<string, any> = {};
    for (const [k, v] of Object.entries(value)) out[k] = compactArrays(v);
    return out;
  }
  return value;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/**
 * Serializes a value as XML elements. Arrays become repeated `<item>` (EC2) or `<member>` (awsQuery,
 * S3 lists use named repetition via `flatLists`). Undefined values are left out.
 */
export function toXml(value: unknown, listItem: 'item' | 'member' = 'item'): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map((v) => `<${listItem}>${toXml(v, listItem)}</${listItem}>`).join('');
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => `<${k}>${toXml(v, listItem)}</${k}>`)
      .join('');
  }
  return escapeXml(String(value));
}

/** An EC2 answer: `<{Action}Response>` with a request id and the given (camelCase) members. */
export function ec2Response(action: string, members: Record<string, unknown>): WireResponse {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">`
    + `<requestId>${requestId()}</requestId>${toXml(members, 'item')}</${action}Response>`;
  return { status: 200, headers: { 'content-type': 'text/xml;charset=UTF-8' }, body };
}

/** An awsQuery answer (SNS, CloudFormation, CloudWatch): `<{Action}Response><{Action}Result>`. */
export function queryResponse(action: string, xmlns: string, result: Record<string, unknown>): WireResponse {
  const body = `<?xml version="1.0"?>\n<${action}Response xmlns="${xmlns}"><${action}Result>${toXml(result, 'member')}</${action}Result>`
    + `<ResponseMetadata><RequestId>${requestId()}</RequestId></ResponseMetadata></${action}Response>`;
  return { status: 200, headers: { 'content-type': 'text/xml' }, body };
}

/** Writes an AwsError in the protocol's own error shape. */
export function errorResponse(protocol: Protocol, err: AwsError): WireResponse {
  const id = requestId();
  switch (protocol) {
    case 'ec2':
      return {
        status: err.status,
        headers: { 'content-type': 'text/xml;charset=UTF-8' },
        body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(err.code)}</Code>`
          + `<Message>${escapeXml(err.message)}</Message></Error></Errors><RequestID>${id}</RequestID></Response>`,
      };
    case 'query':
      return {
        status: err.status,
        headers: { 'content-type': 'text/xml' },
        body: `<ErrorResponse><Error><Type>${err.status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${escapeXml(err.code)}</Code>`
          + `<Message>${escapeXml(err.message)}</Message></Error><RequestId>${id}</RequestId></ErrorResponse>`,
      };
    case 'json':
    case 'rest-json':
      return {
        status: err.status,
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': err.code, 'x-amzn-requestid': id },
        body: JSON.stringify({ __type: err.code, message: err.message, Message: err.message }),
      };
    case 'rest-xml':
      return {
        status: err.status,
        headers: { 'content-type': 'application/xml', 'x-amz-request-id': id },
        body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message>`
          + `<RequestId>${id}</RequestId></Error>`,
      };
  }
}

/** A JSON 1.0/1.1 answer. */
export function jsonResponse(value: unknown, status = 200): WireResponse {
  return {
    status,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId() },
    body: JSON.stringify(value ?? {}),
  };
}

/** The action of a JSON 1.0/1.1 request (`X-Amz-Target: AWSStepFunctions.SendTaskSuccess`). */
export function jsonTarget(req: WireRequest): string {
  const target = req.headers['x-amz-target'] ?? '';
  return target.slice(target.lastIndexOf('.') + 1);
}

/** The body of a JSON request, parsed (an empty body is `{}`). */
export function jsonBody(req: WireRequest): any {
  const text = req.body.toString('utf8');
  return text ? JSON.parse(text) : {};
}

/** A JSON request's body for the call log: parsed, or the raw text when it is not JSON. */
export function decodeJsonForLog(req: WireRequest): unknown {
  try {
    return jsonBody(req);
  } catch {
    return req.body.toString('utf8');
  }
}

/** A JSON request's input; a body that is not JSON is the services' SerializationException. */
export function jsonInput(req: WireRequest): Record<string, unknown> {
  try {
    return jsonBody(req);
  } catch {
    throw new AwsError('SerializationException', 'Start of structure or map found where not expected.');
  }
}
