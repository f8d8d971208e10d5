/**
 * Runs a handler as its bundled asset (the index.js users deploy) in a child process with a
 * Lambda-like environment: the function's environment variables, AWS_REGION, fake credentials,
 * `AWS_ENDPOINT_URL_<SERVICE>` pointing at the wire server, a context with getRemainingTimeInMillis.
 * The AWS SDK v3 clients are the real ones (from node_modules, as the runtime provides them), so
 * serialization, deserialization, error parsing and retries all run. One child is one warm execution
 * environment: module-level caches live across invocations until `coldStart()`.
 */
import { ChildProcess, fork } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { WireServer } from './wire-server';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** Fake credentials: the SDK signs with them; the wire server reads only the credential scope. */
export const WIRE_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'AKIDWIRETEST00000000', AWS_SECRET_ACCESS_KEY: 'wire-secret', AWS_SESSION_TOKEN: 'wire-session' };

export interface LocalLambdaOptions {
  /** The folder holding the bundled index.js (cdk.out/asset.<hash> or assets/<path>). */
  readonly assetDir: string;
  /** `file.export`, as in the function's Handler property. @default 'index.handler' */
  readonly handler?: string;
  /** The function's environment variables, resolved. */
  readonly environment?: Record<string, string>;
  readonly wire: WireServer;
  /** @default 'wire-function' */
  readonly functionName?: string;
  /** @default 30 */
  readonly timeoutSeconds?: number;
  /** @default 128 */
  readonly memoryMb?: number;
  /** @default 'us-east-1' */
  readonly region?: string;
  /**
   * URL prefixes the handler's fetch is rewritten from and to, most specific first (to send a
   * document URL to a closed port or an untrusted server).
   * @default none: every TLS connection to a host off this machine reaches the wire server, which
   * answers as that host
   */
  readonly webRewrites?: Record<string, string>;
}

/** One structured log line (Powertools JSON), or `{ message: text }` for a plain line. */
export type LogLine = Record<string, any>;

export interface InvokeResult {
  /** What the handler returned (undefined when it threw). */
  readonly result?: any;
  /** What the handler threw, as the Lambda runtime reports it. */
  readonly error?: { errorType: string; errorMessage: string; stack?: string };
  /** The log lines of this invocation, parsed. */
  readonly logs: LogLine[];
}

export class LocalLambda {
  private child?: ChildProcess;
  private ready?: Promise<void>;
  private nextId = 1;
  private readonly buffers = { stdout: '', stderr: '' };
  private lines: string[] = [];
  private readonly pending = new Map<number, { resolve: (r: InvokeResult) => void; reject: (e: Error) => void; answer?: any; markers: number }>();
  public readonly stderr: string[] = [];

  constructor(private readonly options: LocalLambdaOptions) {
    const handler = options.handler ?? 'index.handler';
    const file = path.join(options.assetDir, `${handler.slice(0, handler.lastIndexOf('.'))}.js`);
    if (!fs.existsSync(file)) throw new Error(`LocalLambda: no bundled handler at ${file} (run 'npx projen bundle')`);
  }

  /** Invokes the handler once (starting the execution environment on first use). */
  public async invoke(event: unknown): Promise<InvokeResult> {
    await this.start();
    const id = this.nextId++;
    this.lines = [];
    const timeoutMs = (this.options.timeoutSeconds ?? 30) * 1000;
    return new Promise<InvokeResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`LocalLambda ${this.options.functionName ?? ''}: timed out after ${timeoutMs} ms\n${this.stderr.join('')}`));
        void this.coldStart();
      }, timeoutMs + 5000);
      this.pending.set(id, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
        markers: 0,
      });
      this.child!.send({ type: 'invoke', id, event, timeoutMs, functionArn: this.functionArn() });
    });
  }

  /** Ends the execution environment: the next invoke starts a new one (module state is lost). */
  public async coldStart(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    this.ready = undefined;
    if (child && child.exitCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill();
      await exited;
    }
  }

  public async close(): Promise<void> {
    await this.coldStart();
  }

  private functionArn(): string {
    return `arn:aws:lambda:${this.options.region ?? 'us-east-1'}:123456789012:function:${this.options.functionName ?? 'wire-function'}`;
  }

  private start(): Promise<void> {
    if (this.ready) return this.ready;
    const o = this.options;
    const region = o.region ?? 'us-east-1';
    const name = o.functionName ?? 'wire-function';
    const handler = o.handler ?? 'index.handler';
    const file = path.join(o.assetDir, `${handler.slice(0, handler.lastIndexOf('.'))}.js`);
    // Off-machine TLS connections reach the wire server (WIRE_TLS_PORT); explicit rewrites come first.
    const rewrites = o.webRewrites ?? {};
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      // The runtime provides the AWS SDK v3; here it comes from the repository's node_modules.
      NODE_PATH: path.join(REPO_ROOT, 'node_modules'),
      TZ: 'UTC',
      // Trust the wire server's HTTPS listener (response URLs, documents), and nothing else extra.
      NODE_EXTRA_CA_CERTS: o.wire.certificate.caFile,
      LANG: 'en_US.UTF-8',
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      AWS_LAMBDA_FUNCTION_NAME: name,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(o.memoryMb ?? 128),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
      AWS_LAMBDA_LOG_STREAM_NAME: '2026/12/01/[$LATEST]wire',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      LAMBDA_TASK_ROOT: o.assetDir,
      _HANDLER: handler,
      ...WIRE_CREDENTIALS,
      ...o.wire.endpointEnv(),
      ...o.environment,
      WIRE_HANDLER: `${file}::${handler.slice(handler.lastIndexOf('.') + 1)}`,
      WIRE_WEB_REWRITES: JSON.stringify(rewrites),
      WIRE_TLS_PORT: new URL(o.wire.tlsUrl).port,
    };
    this.child = fork(path.join(__dirname, 'lambda-child.js'), [], {
      cwd: o.assetDir,
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: [],
    });
    const child = this.child;
    child.stdout!.setEncoding('utf8');
    // In Lambda both streams go to the function's log; Powertools writes errors to stderr.
    child.stdout!.on('data', (chunk: string) => this.onOutput('stdout', chunk));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      this.stderr.push(chunk);
      this.onOutput('stderr', chunk);
    });
    this.ready = new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.on('message', (msg: any) => {
        if (msg?.type === 'ready') return resolve();
        const p = this.pending.get(msg?.id);
        if (!p) return;
        p.answer = msg;
        this.settle(msg.id);
      });
      child.once('exit', (code, signal) => {
        for (const [id, p] of this.pending) {
          this.pending.delete(id);
          p.reject(new Error(`LocalLambda ${name}: the execution environment exited (${code ?? signal})\n${this.stderr.join('')}`));
        }
        reject(new Error(`LocalLambda ${name}: exited before it was ready (${code ?? signal})\n${this.stderr.join('')}`));
      });
    });
    return this.ready;
  }

  /** Collects log lines; the child ends each invocation with a marker on both streams. */
  private onOutput(stream: 'stdout' | 'stderr', chunk: string): void {
    this.buffers[stream] += chunk;
    let nl: number;
    while ((nl = this.buffers[stream].indexOf('\n')) >= 0) {
      const line = this.buffers[stream].slice(0, nl);
      this.buffers[stream] = this.buffers[stream].slice(nl + 1);
      const marker = /^__WIRE_DONE__(\d+)$/.exec(line);
      if (marker) {
        const p = this.pending.get(Number(marker[1]));
        if (p) {
          p.markers++;
          this.settle(Number(marker[1]));
        }
      } else if (line.trim()) {
        this.lines.push(line);
      }
    }
  }

  private settle(id: number): void {
    const p = this.pending.get(id);
    if (!p || p.markers < 2 || !p.answer) return;
    this.pending.delete(id);
    const logs = this.lines.map((l) => {
      try {
        const parsed = JSON.parse(l);
        return typeof parsed === 'object' && parsed ? parsed : { message: l };
      } catch {
        return { message: l };
      }
    });
    this.lines = [];
    p.resolve(p.answer.type === 'result' ? { result: p.answer.result, logs } : { error: p.answer.error, logs });
  }
}
