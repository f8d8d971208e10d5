/**
 * Contract of the Secrets Manager fake: requests built by the real SDK (JSON 1.1) parse, secrets are
 * found by name, ARN and partial ARN, staging labels move as rotation moves them, and errors reach the
 * handler under the exception name (and class) it switches on.
 */
import {
  DescribeSecretCommand, GetSecretValueCommand, InvalidParameterException, PutSecretValueCommand, ResourceExistsException,
  ResourceNotFoundException, SecretsManagerClient, SecretsManagerServiceException, UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { CONTRACT_CREDENTIALS, failureOf } from './kit';
import { SecretsManagerService } from '../../harness/aws/services/secrets-manager';
import { WireServer } from '../../harness/aws/wire-server';

const wire = new WireServer();
const secrets = new SecretsManagerService();
const credentials = CONTRACT_CREDENTIALS;
let client: SecretsManagerClient;

beforeAll(async () => {
  wire.register(secrets);
  await wire.start();
  client = new SecretsManagerClient({ region: 'us-east-1', endpoint: wire.url, credentials, maxAttempts: 1 });
});
afterAll(() => wire.stop());

const failure = failureOf;

test('GetSecretValue finds a secret by full ARN, partial ARN and name; AWSCURRENT by default', async () => {
  const arn = secrets.createSecret('arn:aws:secretsmanager:us-east-1:123456789012:secret:SigningSecret3F2A-AbC123', 'k'.repeat(64));
  expect(arn).toBe('arn:aws:secretsmanager:us-east-1:123456789012:secret:SigningSecret3F2A-AbC123');
  for (const id of [arn, 'arn:aws:secretsmanager:us-east-1:123456789012:secret:SigningSecret3F2A', 'SigningSecret3F2A']) {
    const res = await client.send(new GetSecretValueCommand({ SecretId: id }));
    expect(res).toMatchObject({ ARN: arn, Name: 'SigningSecret3F2A', SecretString: 'k'.repeat(64), VersionStages: ['AWSCURRENT'] });
    expect(res.VersionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.CreatedDate).toBeInstanceOf(Date);
  }
  // the call log names the action and keeps the request, without the value
  expect(wire.callsOf('secretsmanager', 'GetSecretValue').pop()?.input).toEqual({ SecretId: 'SigningSecret3F2A' });

  // a name made into an ARN gets the 6-character suffix
  const made = secrets.createSecret('wire/db', 'pw');
  expect(made).toMatch(/^arn:aws:secretsmanager:us-east-1:123456789012:secret:wire\/db-[A-Za-z0-9]{6}$/);
  expect((await client.send(new GetSecretValueCommand({ SecretId: made }))).SecretString).toBe('pw');
  // binary values travel as base64 and come back as bytes
  secrets.createSecret('wire-binary', new Uint8Array([0, 1, 2, 255]));
  expect(Array.from((await client.send(new GetSecretValueCommand({ SecretId: 'wire-binary' }))).SecretBinary ?? [])).toEqual([0, 1, 2, 255]);
});

test('rotation moves AWSCURRENT to the new version and AWSPREVIOUS to the old one; VersionId and VersionStage select', async () => {
  secrets.createSecret('wire-rotating', 'v1', { versionId: '11111111-1111-4111-8111-111111111111' });
  const v2 = secrets.rotate('wire-rotating', 'v2');
  const current = await client.send(new GetSecretValueCommand({ SecretId: 'wire-rotating' }));
  expect(current).toMatchObject({ SecretString: 'v2', VersionId: v2, VersionStages: ['AWSCURRENT'] });
  const previous = await client.send(new GetSecretValueCommand({ SecretId: 'wire-rotating', VersionStage: 'AWSPREVIOUS' }));
  expect(previous).toMatchObject({ SecretString: 'v1', VersionId: '11111111-1111-4111-8111-111111111111', VersionStages: ['AWSPREVIOUS'] });
  expect((await client.send(new GetSecretValueCommand({ SecretId: 'wire-rotating', VersionId: '11111111-1111-4111-8111-111111111111' }))).SecretString).toBe('v1');

  const v3 = secrets.rotate('wire-rotating', 'v3');
  const described = await client.send(new DescribeSecretCommand({ SecretId: 'wire-rotating' }));
  // v1 lost its last label: it is no longer listed
  expect(described.VersionIdsToStages).toEqual({ [v2]: ['AWSPREVIOUS'], [v3]: ['AWSCURRENT'] });
  expect(described.Name).toBe('wire-rotating');
  expect(described.LastChangedDate).toBeInstanceOf(Date);

  const pending = await failure(client.send(new GetSecretValueCommand({ SecretId: 'wire-rotating', VersionStage: 'AWSPENDING' })));
  expect(pending).toMatchObject({ name: 'ResourceNotFoundException', status: 400 });
  const staged = secrets.putVersion('wire-rotating', 'v4-pending', ['AWSPENDING']);
  expect(await client.send(new GetSecretValueCommand({ SecretId: 'wire-rotating', VersionStage: 'AWSPENDING' }))).toMatchObject({ SecretString: 'v4-pending', VersionId: staged });
  expect((await client.send(new GetSecretValueCommand({ SecretId: 'wire-rotating' }))).SecretString).toBe('v3');
  expect((await client.send(new GetSecretValueCommand({ SecretId: 'wire-rotating', VersionId: v3, VersionStage: 'AWSCURRENT' }))).SecretString).toBe('v3');
  expect((await failure(client.send(new GetSecretValueCommand({ SecretId: 'wire-rotating', VersionId: v3, VersionStage: 'AWSPREVIOUS' })))).name)
    .toBe('ResourceNotFoundException');
});

test('PutSecretValue over the wire: a new AWSCURRENT (old one AWSPREVIOUS), idempotent by ClientRequestToken, other labels on request', async () => {
  secrets.createSecret('wire-put', 'first');
  const put = await client.send(new PutSecretValueCommand({ SecretId: 'wire-put', SecretString: 'second' }));
  // the SDK fills ClientRequestToken (an idempotency token): it is the version id
  expect(put.VersionId).toMatch(/^[0-9a-f-]{36}$/);
  expect(put.VersionStages).toEqual(['AWSCURRENT']);
  expect(secrets.versionWithStage('wire-put', 'AWSPREVIOUS')?.secretString).toBe('first');
  expect((await client.send(new GetSecretValueCommand({ SecretId: 'wire-put' }))).SecretString).toBe('second');
  expect(wire.callsOf('secretsmanager', 'PutSecretValue').pop()?.input).toMatchObject({ SecretId: 'wire-put', SecretString: '<redacted>' });

  const token = 'a'.repeat(32);
  const pending = await client.send(new PutSecretValueCommand({ SecretId: 'wire-put', SecretString: 'third', ClientRequestToken: token, VersionStages: ['AWSPENDING'] }));
  expect(pending).toMatchObject({ VersionId: token, VersionStages: ['AWSPENDING'] });
  expect((await client.send(new GetSecretValueCommand({ SecretId: 'wire-put' }))).SecretString).toBe('second');
  // the same request again is ignored; another value under the same token is refused
  await client.send(new PutSecretValueCommand({ SecretId: 'wire-put', SecretString: 'third', ClientRequestToken: token, VersionStages: ['AWSPENDING'] }));
  expect(secrets.secret('wire-put')?.versions).toHaveLength(3);
  const clash = await failure(client.send(new PutSecretValueCommand({ SecretId: 'wire-put', SecretString: 'other', ClientRequestToken: token })));
  expect(clash.name).toBe('ResourceExistsException');
  expect(clash.error).toBeInstanceOf(ResourceExistsException);

  const neither = await failure(client.send(new PutSecretValueCommand({ SecretId: 'wire-put' })));
  expect(neither.error).toBeInstanceOf(InvalidParameterException);
});

test('a rotation as RotateSecret starts it: rotation enabled, an AWSPENDING version id without a value until PutSecretValue fills it', async () => {
  secrets.createSecret('wire-rotation', 'key-1', { versionId: '11111111-1111-4111-8111-111111111111' });
  expect((await client.send(new DescribeSecretCommand({ SecretId: 'wire-rotation' }))).RotationEnabled).toBe(false);
  const token = secrets.startRotation('wire-rotation');
  const described = await client.send(new DescribeSecretCommand({ SecretId: 'wire-rotation' }));
  expect(described.RotationEnabled).toBe(true);
  expect(described.VersionIdsToStages).toEqual({ '11111111-1111-4111-8111-111111111111': ['AWSCURRENT'], [token]: ['AWSPENDING'] });
  // no value yet: neither by version id nor by label
  for (const input of [{ VersionId: token, VersionStage: 'AWSPENDING' }, { VersionStage: 'AWSPENDING' }, { VersionId: token }]) {
    expect((await failure(client.send(new GetSecretValueCommand({ SecretId: 'wire-rotation', ...input })))).error).toBeInstanceOf(ResourceNotFoundException);
  }
  // a second rotation cannot start while this one is unfinished
  expect(() => secrets.startRotation('wire-rotation')).toThrow(/in progress/);

  const put = await client.send(new PutSecretValueCommand({ SecretId: 'wire-rotation', ClientRequestToken: token, SecretString: 'key-2', VersionStages: ['AWSPENDING'] }));
  expect(put).toMatchObject({ VersionId: token, VersionStages: ['AWSPENDING'] });
  expect(await client.send(new GetSecretValueCommand({ SecretId: 'wire-rotation', VersionId: token, VersionStage: 'AWSPENDING' })))
    .toMatchObject({ SecretString: 'key-2', VersionStages: ['AWSPENDING'] });
  // retried with the same value: ignored; with another value: refused
  await client.send(new PutSecretValueCommand({ SecretId: 'wire-rotation', ClientRequestToken: token, SecretString: 'key-2', VersionStages: ['AWSPENDING'] }));
  const clash = await failure(client.send(new PutSecretValueCommand({ SecretId: 'wire-rotation', ClientRequestToken: token, SecretString: 'key-3', VersionStages: ['AWSPENDING'] })));
  expect(clash.error).toBeInstanceOf(ResourceExistsException);
  expect((await client.send(new GetSecretValueCommand({ SecretId: 'wire-rotation' }))).SecretString).toBe('key-1');
});

test('UpdateSecretVersionStage: moving AWSCURRENT needs RemoveFromVersionId naming its holder, and AWSPREVIOUS follows', async () => {
  secrets.createSecret('wire-stages', 'key-1', { versionId: '11111111-1111-4111-8111-111111111111' });
  const v2 = secrets.startRotation('wire-stages');
  await client.send(new PutSecretValueCommand({ SecretId: 'wire-stages', ClientRequestToken: v2, SecretString: 'key-2', VersionStages: ['AWSPENDING'] }));

  const noRemove = await failure(client.send(new UpdateSecretVersionStageCommand({ SecretId: 'wire-stages', VersionStage: 'AWSCURRENT', MoveToVersionId: v2 })));
  expect(noRemove.error).toBeInstanceOf(InvalidParameterException);
  expect((noRemove.error as Error).message).toMatch(/RemoveFromVersionId can't be empty.*11111111-1111-4111-8111-111111111111/);
  const wrongRemove = await failure(client.send(new UpdateSecretVersionStageCommand({
    SecretId: 'wire-stages', VersionStage: 'AWSCURRENT', MoveToVersionId: v2, RemoveFromVersionId: v2,
  })));
  expect(wrongRemove.error).toBeInstanceOf(InvalidParameterException);
  const unknown = await failure(client.send(new UpdateSecretVersionStageCommand({
    SecretId: 'wire-stages', VersionStage: 'AWSCURRENT', MoveToVersionId: '99999999-9999-4999-8999-999999999999', RemoveFromVersionId: v2,
  })));
  expect(unknown.error).toBeInstanceOf(ResourceNotFoundException);

  await client.send(new UpdateSecretVersionStageCommand({
    SecretId: 'wire-stages', VersionStage: 'AWSCURRENT', MoveToVersionId: v2, RemoveFromVersionId: '11111111-1111-4111-8111-111111111111',
  }));
  expect((await client.send(new DescribeSecretCommand({ SecretId: 'wire-stages' }))).VersionIdsToStages)
    .toEqual({ '11111111-1111-4111-8111-111111111111': ['AWSPREVIOUS'], [v2]: ['AWSPENDING', 'AWSCURRENT'] });
  expect((await client.send(new GetSecretValueCommand({ SecretId: 'wire-stages' }))).SecretString).toBe('key-2');
  // the label already there: nothing changes
  await client.send(new UpdateSecretVersionStageCommand({ SecretId: 'wire-stages', VersionStage: 'AWSCURRENT', MoveToVersionId: v2 }));
  expect(secrets.versionWithStage('wire-stages', 'AWSCURRENT')?.versionId).toBe(v2);

  // the next rotation retires key-1: it has no label left, but its version can still be read by id
  const v3 = secrets.startRotation('wire-stages');
  await client.send(new PutSecretValueCommand({ SecretId: 'wire-stages', ClientRequestToken: v3, SecretString: 'key-3', VersionStages: ['AWSPENDING'] }));
  await client.send(new UpdateSecretVersionStageCommand({ SecretId: 'wire-stages', VersionStage: 'AWSCURRENT', MoveToVersionId: v3, RemoveFromVersionId: v2 }));
  expect((await client.send(new DescribeSecretCommand({ SecretId: 'wire-stages' }))).VersionIdsToStages).toEqual({ [v2]: ['AWSPREVIOUS'], [v3]: ['AWSPENDING', 'AWSCURRENT'] });
  expect(await client.send(new GetSecretValueCommand({ SecretId: 'wire-stages', VersionId: '11111111-1111-4111-8111-111111111111' })))
    .toMatchObject({ SecretString: 'key-1', VersionStages: [] });

  // removing a label: only from the version that has it; AWSCURRENT can only move
  await client.send(new UpdateSecretVersionStageCommand({ SecretId: 'wire-stages', VersionStage: 'AWSPENDING', RemoveFromVersionId: v3 }));
  expect(secrets.versionWithStage('wire-stages', 'AWSPENDING')).toBeUndefined();
  expect((await failure(client.send(new UpdateSecretVersionStageCommand({ SecretId: 'wire-stages', VersionStage: 'AWSPENDING', RemoveFromVersionId: v3 })))).error)
    .toBeInstanceOf(InvalidParameterException);
  expect((await failure(client.send(new UpdateSecretVersionStageCommand({ SecretId: 'wire-stages', VersionStage: 'AWSCURRENT', RemoveFromVersionId: v3 })))).error)
    .toBeInstanceOf(InvalidParameterException);
  expect((await failure(client.send(new UpdateSecretVersionStageCommand({ SecretId: 'wire-stages', VersionStage: 'AWSCURRENT' })))).error)
    .toBeInstanceOf(InvalidParameterException);
  expect(wire.callsOf('secretsmanager', 'UpdateSecretVersionStage').length).toBeGreaterThan(0);
});

test('unknown secrets and versions are ResourceNotFoundException (the class handlers catch)', async () => {
  const missing = await failure(client.send(new GetSecretValueCommand({ SecretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf' })));
  expect(missing).toMatchObject({ name: 'ResourceNotFoundException', status: 400 });
  expect(missing.error).toBeInstanceOf(ResourceNotFoundException);
  expect((missing.error as Error).message).toBe("Secrets Manager can't find the specified secret.");
  secrets.createSecret('wire-versions', 'v');
  const noVersion = await failure(client.send(new GetSecretValueCommand({ SecretId: 'wire-versions', VersionId: '00000000-0000-4000-8000-000000000000' })));
  expect(noVersion.error).toBeInstanceOf(ResourceNotFoundException);
  expect((await failure(client.send(new DescribeSecretCommand({ SecretId: 'nope' })))).error).toBeInstanceOf(ResourceNotFoundException);
  // a partial ARN must match the whole name, not a prefix of it
  expect((await failure(client.send(new GetSecretValueCommand({ SecretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:wire-vers' })))).name)
    .toBe('ResourceNotFoundException');
});

test('fault injection: throttling is retried by the default client; an injected error reaches the caller by name', async () => {
  secrets.createSecret('wire-faults', 'value');
  const retrying = new SecretsManagerClient({ region: 'us-east-1', endpoint: wire.url, credentials });
  wire.fail({ service: 'secretsmanager', action: 'GetSecretValue', code: 'ThrottlingException', message: 'Rate exceeded' });
  const res = await retrying.send(new GetSecretValueCommand({ SecretId: 'wire-faults' }));
  expect(res.SecretString).toBe('value');
  expect(res.$metadata.attempts).toBe(2);
  expect(wire.callsOf('secretsmanager', 'GetSecretValue').slice(-2).map((c) => c.error)).toEqual(['ThrottlingException', undefined]);

  wire.fail({ service: 'secretsmanager', action: 'GetSecretValue', code: 'AccessDeniedException', message: 'not authorized to perform: secretsmanager:GetSecretValue' });
  const denied = await failure(client.send(new GetSecretValueCommand({ SecretId: 'wire-faults' })));
  expect(denied).toMatchObject({ name: 'AccessDeniedException', status: 400 });
  expect(denied.error).toBeInstanceOf(SecretsManagerServiceException);
  wire.fail({ service: 'secretsmanager', action: 'GetSecretValue', code: 'InternalServiceError', status: 500 });
  expect(await failure(client.send(new GetSecretValueCommand({ SecretId: 'wire-faults' })))).toMatchObject({ name: 'InternalServiceError', status: 500 });
  retrying.destroy();
});
