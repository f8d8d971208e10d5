/**
 * DynamoDB on the wire: dynalite (an implementation of the DynamoDB API on LevelDB, in memory)
 * behind the shared core, so marshalling, key validation, conditional writes and error shapes are
 * the real protocol's. Tables are created from a synthesized template's key schema.
 */
import * as http from 'http';
import { AddressInfo } from 'net';
import { CreateTableCommand, CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { forward } from './proxy';
import { jsonTarget, WireRequest, WireResponse } from '../protocols';
import { ServiceModule } from '../wire-server';

// dynalite ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (options: Record<string, unknown>) => http.Server;

export class DynamoDbService implements ServiceModule {
  public readonly signingNames = ['dynamodb'];
  public readonly endpointEnvNames = ['DYNAMODB'];
  public readonly protocol = 'json' as const;
  private server?: http.Server;
  private target?: string;

  public async start(): Promise<void> {
    this.server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.target = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  public async stop(): Promise<void> {
    if (!this.server) return;
    (this.server as http.Server & { closeAllConnections?: () => void }).closeAllConnections?.();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  public action(req: WireRequest): string {
    return jsonTarget(req);
  }

  public decode(req: WireRequest): unknown {
    const text = req.body.toString('utf8');
    return text ? JSON.parse(text) : {};
  }

  public handle(req: WireRequest): Promise<WireResponse> {
    if (!this.target) throw new Error('DynamoDbService: start() first');
    return forward(this.target, req);
  }

  /** A client for the test itself (assertions, seeding), talking to dynalite directly. */
  public client(): DynamoDBClient {
    if (!this.target) throw new Error('DynamoDbService: start() first');
    return new DynamoDBClient({ region: 'us-east-1', endpoint: this.target, credentials: { accessKeyId: 'AKIDWIRETEST', secretAccessKey: 'wire' } });
  }

  /** Creates a table from an `AWS::DynamoDB::Table` resource's properties, under `tableName`. */
  public async createTable(tableName: string, properties: Record<string, any>): Promise<void> {
    const input: CreateTableCommandInput = {
      TableName: tableName,
      KeySchema: properties.KeySchema,
      AttributeDefinitions: properties.AttributeDefinitions,
      BillingMode: 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes: properties.GlobalSecondaryIndexes?.map((g: any) => ({
        IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection,
      })),
      LocalSecondaryIndexes: properties.LocalSecondaryIndexes?.map((l: any) => ({
        IndexName: l.IndexName, KeySchema: l.KeySchema, Projection: l.Projection,
      })),
    };
    await this.client().send(new CreateTableCommand(input));
  }
}
