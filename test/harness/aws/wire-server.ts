/**
 * The shared server core of the wire layer: one HTTP server on 127.0.0.1 (random port) that every
 * AWS SDK client of a handler under test is pointed at (`AWS_ENDPOINT_URL_<SERVICE>`). A request is
 * routed by the SigV4 signing name in its Authorization header to one service module (a fake of
 * ours, or a proxy to dynalite / s3rver). The core also keeps the call log, injects faults, captures
 * CloudFormation custom-resource responses, and serves the web documents handlers fetch.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as http2 from 'http2';
import * as https from 'https';
import * as net from 'net';
import { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import {
  AwsError, errorResponse, parseCredentialScope, Protocol, WireRequest, WireResponse,
} from './protocols';

/** One service module: a fake that keeps state, or a proxy to a local implementation. */
export interface ServiceModule {
  /** SigV4 signing names this module answers (`ec2`; `states`; `bedrock`...). */
  readonly signingNames: readonly string[];
  /** The `AWS_ENDPOINT_URL_<SERVICE>` suffixes that point at it (`EC2`, `SFN`, `BEDROCK_RUNTIME`...). */
  readonly endpointEnvNames: readonly string[];
  /** The wire protocol (errors are written in its shape). */
  readonly protocol: Protocol;
  /** The operation a request names (`AuthorizeSecurityGroupIngress`, `PutItem`, `GetObject`...). */
  action(req: WireRequest): string;
  /** The decoded input, for the call log. */
  decode?(req: WireRequest, action: string): unknown;
  /** Answers the request; throws AwsError for a service error. */
  handle(req: WireRequest, action: string): Promise<WireResponse> | WireResponse;
}

/** One call as the server saw it. */
export interface WireCall {
  readonly service: string;
  readonly action: string;
  readonly input: unknown;
  /** The error code answered, if any (injected or raised by the fake). */
  readonly error?: string;
}

/** An injected fault: the next `times` calls of an action fail with `code`. */
export interface FaultSpec {
  /** Signing name of the service (`ec2`, `dynamodb`, `states`...). */
  readonly service: string;
  readonly action: string;
  /** Error code the SDK turns into the exception name (`RequestLimitExceeded`...). */
  readonly code: string;
  /** @default - the code */
  readonly message?: string;
  /** @default 400 */
  readonly status?: number;
  /** How many calls fail. @default 1 */
  readonly times?: number;
  /**
   * Apply the request first, then answer the error: the caller cannot know whether the change
   * happened (a timeout after the write, as seen from the client).
   * @default false
   */
  readonly afterApply?: boolean;
}

/** A CloudFormation custom-resource response PUT to the ResponseURL. */
export interface CapturedCfnResponse {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason?: string;
  readonly PhysicalResourceId: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly NoEcho?: boolean;
  readonly Data?: Record<string, unknown>;
  /** The Content-Type header the handler sent (CloudFormation's pre-signed URL wants none or ''). */
  readonly contentType?: string;
}

/** What the web document route answers for one URL. */
export interface WebDocument {
  readonly status?: number;
  readonly body: string | Buffer;
  readonly headers?: Record<string, string>;
}

/** The server's TLS certificate (self-signed, for 127.0.0.1 and localhost) and where its PEM is. */
export interface WireCertificate {
  readonly cert: string;
  readonly key: string;
  /** A PEM file to give a child process as NODE_EXTRA_CA_CERTS, so it trusts the server. */
  readonly caFile: string;
}

let certificate: Promise<WireCertificate> | undefined;

/** The host of CloudFormation's pre-signed response URLs in us-east-1. */
export const CFN_RESPONSE_HOST = 'cloudformation-custom-resource-response-useast1.s3.amazonaws.com';

/** Names the server's certificate is valid for, besides 127.0.0.1 (wildcards cover one label). */
const WEB_HOST_NAMES = [CFN_RESPONSE_HOST, '*.s3.amazonaws.com', '*.amazonaws.com', 'api.github.com', '*.github.com', '*.example.com'];

/** One self-signed certificate per process (generating one takes a moment). */
export function wireCertificate(): Promise<WireCertificate> {
  certificate ??= (async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const selfsigned = require('selfsigned') as { generate: (attrs: unknown, options: unknown) => Promise<{ cert: string; private: string }> };
    const pems = await selfsigned.generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [
        { name: 'basicConstraints', cA: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' },
            // Hosts handlers reach over TLS in AWS (the child maps their connections here).
            ...WEB_HOST_NAMES.map((value) => ({ type: 2, value })),
          ],
        },
      ],
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wire-tls-'));
    const caFile = path.join(dir, 'ca.pem');
    fs.writeFileSync(caFile, pems.cert);
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    return { cert: pems.cert, key: pems.private, caFile };
  })();
  return certificate;
}

export class WireServer {
  public readonly calls: WireCall[] = [];
  private readonly modules = new Map<string, ServiceModule>();
  private readonly faults: Array<FaultSpec & { left: number }> = [];
  private readonly hooks: Array<{ service: string; action: string; fn: () => void | Promise<void> }> = [];
  private readonly cfnResponses = new Map<string, CapturedCfnResponse[]>();
  private readonly documents = new Map<string, WebDocument>();
  private server?: net.Server;
  private http1?: http.Server;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private baseUrl?: string;
  private tlsServer?: https.Server;
  private tlsBaseUrl?: string;
  private tls?: WireCertificate;

  /** Registers a service module (before or after start). */
  public register(module: ServiceModule): this {
    for (const name of module.signingNames) this.modules.set(name, module);
    return this;
  }

  /**
   * Listens on 127.0.0.1 (random ports). The AWS endpoints: HTTP/1.1 and cleartext HTTP/2 (prior
   * knowledge) share one port: clients whose default handler is HTTP/2 (Bedrock Runtime's
   * NodeHttp2Handler) connect with the HTTP/2 preface, the others with HTTP/1.1; the first bytes of
   * a connection choose the server. And HTTPS (self-signed; see `certificate`) for what handlers
   * reach over TLS in AWS: the pre-signed CloudFormation response URL and web documents.
   */
  public async start(): Promise<string> {
    const onRequest = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void => {
      this.dispatch(req).then((answer) => {
        res.writeHead(answer.status, answer.headers ?? {});
        res.end(answer.body ?? '');
      }, (err) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`wire server fault: ${err instanceof Error ? err.stack : String(err)}`);
      });
    };
    const http1 = http.createServer(onRequest);
    http1.keepAliveTimeout = 1000;
    const h2 = http2.createServer(onRequest);
    h2.on('session', (session: http2.ServerHttp2Session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
    });
    this.http1 = http1;
    this.server = net.createServer((socket) => {
      socket.once('data', (chunk: Buffer) => {
        socket.pause();
        socket.unshift(chunk);
        // 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' opens every HTTP/2 connection
        (chunk.subarray(0, 3).toString('latin1') === 'PRI' ? h2 : http1).emit('connection', socket);
        process.nextTick(() => socket.resume());
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.tls = await wireCertificate();
    this.tlsServer = https.createServer({ cert: this.tls.cert, key: this.tls.key }, onRequest);
    this.tlsServer.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => this.tlsServer!.listen(0, '127.0.0.1', resolve));
    this.tlsBaseUrl = `https://127.0.0.1:${(this.tlsServer.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  public async stop(): Promise<void> {
    if (this.server) {
      this.http1?.closeAllConnections();
      for (const session of this.sessions) session.destroy();
      this.sessions.clear();
      await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    }
    if (this.tlsServer) {
      this.tlsServer.closeAllConnections();
      await new Promise<void>((resolve) => this.tlsServer!.close(() => resolve()));
    }
    this.server = undefined;
    this.http1 = undefined;
    this.tlsServer = undefined;
  }

  public get url(): string {
    if (!this.baseUrl) throw new Error('WireServer: start() first');
    return this.baseUrl;
  }

  /** The HTTPS listener's base URL. */
  public get tlsUrl(): string {
    if (!this.tlsBaseUrl) throw new Error('WireServer: start() first');
    return this.tlsBaseUrl;
  }

  /** The certificate the HTTPS listener presents (its PEM file goes to NODE_EXTRA_CA_CERTS). */
  public get certificate(): WireCertificate {
    if (!this.tls) throw new Error('WireServer: start() first');
    return this.tls;
  }

  /** `AWS_ENDPOINT_URL_<SERVICE>` for every registered module. */
  public endpointEnv(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const m of new Set(this.modules.values())) {
      for (const name of m.endpointEnvNames) env[`AWS_ENDPOINT_URL_${name}`] = this.url;
    }
    return env;
  }

  /** Makes the next `times` calls of an action fail (see FaultSpec). */
  public fail(spec: FaultSpec): void {
    this.faults.push({ ...spec, left: spec.times ?? 1 });
  }

  /** Runs `fn` once, just before the next call of an action is handled (another actor's change). */
  public beforeNext(service: string, action: string, fn: () => void | Promise<void>): void {
    this.hooks.push({ service, action, fn });
  }

  /** Calls of one service (and action), in order. */
  public callsOf(service: string, action?: string): WireCall[] {
    return this.calls.filter((c) => c.service === service && (!action || c.action === action));
  }

  // --- CloudFormation custom-resource responses -------------------------------------------------

  /**
   * A fresh ResponseURL, shaped as CloudFormation's pre-signed S3 URL (https, default port, the real
   * host name: a handler run by LocalLambda reaches it through the child's TLS host mapping); what
   * is PUT there is kept under `key`.
   */
  public responseUrl(key: string): string {
    return `https://${CFN_RESPONSE_HOST}/__cfn-response/${encodeURIComponent(key)}?X-Amz-Signature=wire`;
  }

  public cfnResponsesFor(key: string): CapturedCfnResponse[] {
    return this.cfnResponses.get(key) ?? [];
  }

  // --- web documents (fetched by handlers over HTTPS in AWS; rewritten to here by the runner) ----

  /** Serves `body` for `url` (e.g. `https://ip-ranges.amazonaws.com/ip-ranges.json`). */
  public serveDocument(url: string, doc: WebDocument): void {
    this.documents.set(this.documentKey(url), doc);
  }

  /** The local URL a web URL is rewritten to (HTTPS, as the original). */
  public documentUrl(url: string): string {
    return `${this.tlsUrl}/__web/${this.documentKey(url)}`;
  }

  private documentKey(url: string): string {
    const u = new URL(url);
    return `${u.host}${u.pathname}${u.search}`;
  }

  // ------------------------------------------------------------------------------------------------

  private async dispatch(req: http.IncomingMessage | http2.Http2ServerRequest): Promise<WireResponse> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://wire.local');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      // HTTP/2 pseudo-headers (:method, :path, :authority, :scheme) are not request headers
      if (v !== undefined && !k.startsWith(':')) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
    }

    if (url.pathname.startsWith('/__cfn-response/')) {
      const key = decodeURIComponent(url.pathname.slice('/__cfn-response/'.length));
      if (req.method !== 'PUT') return { status: 405, body: 'PUT only' };
      const parsed = JSON.parse(body.toString('utf8')) as CapturedCfnResponse;
      const list = this.cfnResponses.get(key) ?? [];
      list.push({ ...parsed, contentType: headers['content-type'] });
      this.cfnResponses.set(key, list);
      return { status: 200 };
    }
    // A TLS connection the child mapped here from a web host: the Host header names it.
    const host = headers.host ?? String(req.headers[':authority'] ?? '');
    const webHost = host && !/^(127\.0\.0\.1|localhost)(:\d+)?$/.test(host) ? host.replace(/:443$/, '') : undefined;
    if (webHost && webHost !== CFN_RESPONSE_HOST && !url.pathname.startsWith('/__')) {
      const doc = this.documents.get(`${webHost}${url.pathname}${url.search}`);
      if (!doc) return { status: 404, headers: { 'content-type': 'text/plain' }, body: `no document served for ${webHost}${url.pathname}` };
      return { status: doc.status ?? 200, headers: { 'content-type': 'application/json', ...doc.headers }, body: doc.body };
    }
    if (url.pathname.startsWith('/__web/')) {
      const key = url.pathname.slice('/__web/'.length) + url.search;
      const doc = this.documents.get(key);
      if (!doc) return { status: 404, headers: { 'content-type': 'text/plain' }, body: `no document served for ${key}` };
      return { status: doc.status ?? 200, headers: { 'content-type': 'application/json', ...doc.headers }, body: doc.body };
    }

    const { service, region } = parseCredentialScope(headers.authorization);
    const module = this.modules.get(service);
    if (!module) {
      return { status: 400, headers: { 'content-type': 'text/plain' }, body: `wire server: no service module for signing name '${service}'` };
    }
    const wireReq: WireRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers, body, signingName: service, region };
    const action = module.action(wireReq);
    const input = module.decode?.(wireReq, action);

    const hookIndex = this.hooks.findIndex((h) => h.service === service && h.action === action);
    if (hookIndex >= 0) {
      const [hook] = this.hooks.splice(hookIndex, 1);
      await hook.fn();
    }

    const fault = this.faults.find((f) => f.service === service && f.action === action && f.left > 0);
    if (fault) fault.left--;
    const injected = fault ? new AwsError(fault.code, fault.message ?? fault.code, fault.status ?? 400) : undefined;
    if (injected && !fault!.afterApply) {
      this.calls.push({ service, action, input, error: injected.code });
      return errorResponse(module.protocol, injected);
    }
    try {
      const answer = await module.handle(wireReq, action);
      if (injected) {
        this.calls.push({ service, action, input, error: injected.code });
        return errorResponse(module.protocol, injected);
      }
      this.calls.push({ service, action, input, error: answer.status >= 400 ? `HTTP ${answer.status}` : undefined });
      return answer;
    } catch (err) {
      if (err instanceof AwsError) {
        this.calls.push({ service, action, input, error: err.code });
        return errorResponse(module.protocol, err);
      }
      throw err;
    }
  }
}
