/**
 * S3 through s3rver (an independent S3 implementation on the file system), behind the shared core:
 * a second opinion on the handlers whose S3 use it covers (plain PutObject / GetObject). Handlers
 * that need versioning or copy-source versions use S3Service instead.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { forward } from './proxy';
import { WIRE_CREDENTIALS } from '../lambda-runner';
import { WireRequest, WireResponse } from '../protocols';
import { ServiceModule } from '../wire-server';

// s3rver ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => { run(): Promise<{ port: number }>; close(): Promise<void> };

export class S3rverService implements ServiceModule {
  public readonly signingNames = ['s3'];
  public readonly endpointEnvNames = ['S3'];
  public readonly protocol = 'rest-xml' as const;
  /** The folder s3rver keeps buckets in (one sub-folder per bucket). */
  public readonly directory = fs.mkdtempSync(path.join(os.tmpdir(), 'wire-s3rver-'));
  private server?: { close(): Promise<void> };
  private target?: string;

  constructor(private readonly buckets: string[]) {}

  public async start(): Promise<void> {
    // s3rver checks access key ids against its own registry (SigV4 signatures it does not verify):
    // add the wire layer's key pair.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const accounts = require('s3rver/lib/models/account') as { DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void } };
    accounts.DUMMY_ACCOUNT.createKeyPair(WIRE_CREDENTIALS.AWS_ACCESS_KEY_ID, WIRE_CREDENTIALS.AWS_SECRET_ACCESS_KEY);
    const server = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory: this.directory,
      configureBuckets: this.buckets.map((name) => ({ name })),
    });
    const address = await server.run();
    this.server = server;
    this.target = `http://127.0.0.1:${address.port}`;
  }

  public async stop(): Promise<void> {
    await this.server?.close();
    fs.rmSync(this.directory, { recursive: true, force: true });
  }

  public action(req: WireRequest): string {
    return `${req.method} ${req.path.split('/').filter(Boolean).length > 1 ? 'object' : 'bucket'}`;
  }

  public handle(req: WireRequest): Promise<WireResponse> {
    if (!this.target) throw new Error('S3rverService: start() first');
    return forward(this.target, req, { keepHost: true });
  }
}
