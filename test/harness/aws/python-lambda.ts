/**
 * Runs a Python handler (aws-cdk-lib's inline Python custom-resource handlers) on the wire layer:
 * one `python3` process per invocation, the real boto3 client against the wire server, TLS to the
 * response URL through the same host mapping as Node.js handlers (see lambda-child.py).
 */
import { spawn, spawnSync } from 'child_process';
import * as path from 'path';
import { InvokeResult, LogLine, WIRE_CREDENTIALS } from './lambda-runner';
import { WireServer } from './wire-server';

/** The first python3 on this machine that has boto3, or undefined. */
export function pythonWithBoto3(): string | undefined {
  for (const candidate of [process.env.WIRE_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c)) {
    const probe = spawnSync(candidate, ['-c', 'import boto3'], { stdio: 'ignore' });
    if (probe.status === 0) return candidate;
  }
  return undefined;
}

export interface LocalPythonLambdaOptions {
  /** The folder holding the handler module. */
  readonly codeDir: string;
  /** `module.function`. @default 'index.handler' */
  readonly handler?: string;
  readonly environment?: Record<string, string>;
  readonly wire: WireServer;
  /** @default 'wire-python-function' */
  readonly functionName?: string;
  /** @default 30 */
  readonly timeoutSeconds?: number;
  /** @default 'us-east-1' */
  readonly region?: string;
}

export class LocalPythonLambda {
  constructor(private readonly options: LocalPythonLambdaOptions) {}

  public async invoke(event: unknown): Promise<InvokeResult> {
    const o = this.options;
    const python = pythonWithBoto3();
    if (!python) throw new Error('LocalPythonLambda: no python3 with boto3 here (apt-get install python3-boto3)');
    const handler = o.handler ?? 'index.handler';
    const file = path.join(o.codeDir, `${handler.slice(0, handler.lastIndexOf('.'))}.py`);
    const region = o.region ?? 'us-east-1';
    const name = o.functionName ?? 'wire-python-function';
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      TZ: 'UTC',
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_EXECUTION_ENV: 'AWS_Lambda_python3.13',
      AWS_LAMBDA_FUNCTION_NAME: name,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128',
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
      AWS_LAMBDA_LOG_STREAM_NAME: '2026/12/01/[$LATEST]wire',
      LAMBDA_TASK_ROOT: o.codeDir,
      // Trust the wire server's HTTPS listener (it answers as the response URL's host).
      SSL_CERT_FILE: o.wire.certificate.caFile,
      ...WIRE_CREDENTIALS,
      ...o.wire.endpointEnv(),
      ...o.environment,
      WIRE_TLS_PORT: new URL(o.wire.tlsUrl).port,
      WIRE_HANDLER: `${file}::${handler.slice(handler.lastIndexOf('.') + 1)}`,
    };
    const timeoutMs = (o.timeoutSeconds ?? 30) * 1000;
    return new Promise<InvokeResult>((resolve, reject) => {
      const child = spawn(python, [path.join(__dirname, 'lambda-child.py')], { cwd: o.codeDir, env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => { stdout += c; });
      child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
      const timer = setTimeout(() => child.kill(), timeoutMs + 5000);
      child.on('error', reject);
      child.on('close', () => {
        clearTimeout(timer);
        const at = stdout.lastIndexOf('\n__WIRE_RESULT__');
        if (at < 0) return reject(new Error(`LocalPythonLambda ${name}: no result\n${stdout}\n${stderr}`));
        const outcome = JSON.parse(stdout.slice(at + '\n__WIRE_RESULT__'.length).trim());
        const logs: LogLine[] = (stdout.slice(0, at) + '\n' + stderr).split('\n').filter((l) => l.trim()).map((message) => ({ message }));
        resolve(outcome.type === 'result' ? { result: outcome.result, logs } : { error: outcome.error, logs });
      });
      child.stdin.end(JSON.stringify({ event, timeoutMs }));
    });
  }

  public async close(): Promise<void> {
    // One process per invocation: nothing stays running.
  }
}
