/**
 * Contract of the DynamoDB module (dynalite behind the shared core) with the real SDK: marshalling,
 * conditional writes and error names are the real protocol's, and faults injected by the core reach
 * the client under their names.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../../../src/core/runtime/document-client';
import { DynamoDbService } from '../../harness/aws/services/dynamodb';
import { WireServer } from '../../harness/aws/wire-server';

const wire = new WireServer();
const ddb = new DynamoDbService();
const config = { region: 'us-east-1', credentials: { accessKeyId: 'AKIDWIRETEST00000000', secretAccessKey: 'x' }, maxAttempts: 1 };

beforeAll(async () => {
  await ddb.start();
  wire.register(ddb);
  await wire.start();
  await ddb.createTable('state', {
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }],
  });
});
afterAll(async () => {
  await wire.stop();
  await ddb.stop();
});

test('an item with an undefined value: the plain document client refuses it, the handlers\' factory leaves the value out', async () => {
  const item = { pk: 'sync', sk: 'STATE', refusal: undefined, plans: [{ target: 'sg', refusal: undefined }] };
  const plain = DynamoDBDocumentClient.from(new DynamoDBClient({ ...config, endpoint: wire.url }));
  await expect(plain.send(new PutCommand({ TableName: 'state', Item: item }))).rejects.toThrow(/removeUndefinedValues/);
  const client = documentClient({ ...config, endpoint: wire.url });
  await client.send(new PutCommand({ TableName: 'state', Item: item }));
  const got = await client.send(new GetCommand({ TableName: 'state', Key: { pk: 'sync', sk: 'STATE' } }));
  expect(got.Item).toEqual({ pk: 'sync', sk: 'STATE', plans: [{ target: 'sg' }] });
});

test('a failed condition and a wrong key type come back under the names handlers switch on', async () => {
  const client = documentClient({ ...config, endpoint: wire.url });
  const err = await client.send(new PutCommand({ TableName: 'state', Item: { pk: 'sync', sk: 'STATE' }, ConditionExpression: 'attribute_not_exists(pk)' })).catch((e: Error) => e);
  expect(err).toBeInstanceOf(ConditionalCheckFailedException);
  const bad = await client.send(new PutCommand({ TableName: 'state', Item: { pk: 1, sk: 'x' } })).catch((e: Error) => e);
  expect((bad as Error).name).toBe('ValidationException');
  expect((bad as Error).message).toMatch(/Type mismatch for key/);
});

test('faults injected by the core reach the client; the SDK retries throttling by itself', async () => {
  const client = documentClient({ ...config, endpoint: wire.url });
  wire.fail({ service: 'dynamodb', action: 'GetItem', code: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', times: 1 });
  const err = await client.send(new GetCommand({ TableName: 'state', Key: { pk: 'sync', sk: 'STATE' } })).catch((e: Error) => e);
  expect((err as Error).name).toBe('ProvisionedThroughputExceededException');
  const retrying = documentClient({ ...config, maxAttempts: 3, endpoint: wire.url });
  wire.fail({ service: 'dynamodb', action: 'GetItem', code: 'com.amazonaws.dynamodb.v20120810#ThrottlingException', times: 1 });
  const before = wire.callsOf('dynamodb', 'GetItem').length;
  const got = await retrying.send(new GetCommand({ TableName: 'state', Key: { pk: 'sync', sk: 'STATE' } }));
  expect(got.Item?.pk).toBe('sync');
  expect(wire.callsOf('dynamodb', 'GetItem').length - before).toBe(2);
});

test('every handler builds its document client through the one factory (undefined values are never written)', () => {
  const src = path.resolve(__dirname, '../../../src');
  const offenders: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts') && !p.endsWith('document-client.ts') && /DynamoDBDocumentClient\.from\(/.test(fs.readFileSync(p, 'utf8'))) offenders.push(path.relative(src, p));
    }
  };
  walk(src);
  expect(offenders).toEqual([]);
});
