/**
 * The signing-key rotation function with command-level fakes: each of the four steps, retried
 * steps (idempotent per ClientRequestToken), refusals, the key it draws, and the Lambda wiring.
 * The same steps run on the wire in test/wire/agent-workflow/signing-key-rotation.test.ts.
 */
import {
  DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand, ResourceExistsException, ResourceNotFoundException,
  SecretsManagerClient, UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  handle, handler, KEY_ALPHABET, KEY_LENGTH, parseRotationEvent, randomSigningKey, readRotationConfig, resetForTests, RotationDeps,
} from '../../src/agent-workflow/runtime/signing-key-rotation.lambda';

const secretsMock = mockClient(SecretsManagerClient);

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:SigningSecret-AbCdEf';
const CURRENT_ID = '11111111-1111-4111-8111-111111111111';
const TOKEN = '22222222-2222-4222-8222-222222222222';
const CURRENT_KEY = 'c'.repeat(64);
const NEW_KEY = 'N3wKey'.repeat(10) + 'abcd';
const config = readRotationConfig({ SIGNING_SECRET_ARN: ARN });

type LogLine = { level: string; message: string; extra?: Record<string, unknown> };
function makeDeps(key = NEW_KEY): RotationDeps & { logs: LogLine[]; drawn: number } {
  const logs: LogLine[] = [];
  const deps = {
    secrets: new SecretsManagerClient({}),
    randomKey: () => {
      deps.drawn += 1;
      return key;
    },
    log: {
      info: (message: string, extra?: Record<string, unknown>) => logs.push({ level: 'info', message, extra }),
      warn: (message: string, extra?: Record<string, unknown>) => logs.push({ level: 'warn', message, extra }),
      error: (message: string, extra?: Record<string, unknown>) => logs.push({ level: 'error', message, extra }),
    },
    logs,
    drawn: 0,
  };
  return deps;
}

const step = (Step: string, token = TOKEN) => ({ Step, SecretId: ARN, ClientRequestToken: token });
const notFound = () => new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret value", $metadata: {} });

/** The secret as DescribeSecret shows it during a rotation: the current version, and the token AWSPENDING. */
function describes(stages: Record<string, string[]> = { [CURRENT_ID]: ['AWSCURRENT'], [TOKEN]: ['AWSPENDING'] }, enabled = true): void {
  secretsMock.on(DescribeSecretCommand).resolves({ ARN, RotationEnabled: enabled, VersionIdsToStages: stages });
}
function pendingValue(value: string | undefined): void {
  const call = secretsMock.on(GetSecretValueCommand, { SecretId: ARN, VersionId: TOKEN, VersionStage: 'AWSPENDING' });
  if (value === undefined) call.rejects(notFound());
  else call.resolves({ ARN, VersionId: TOKEN, SecretString: value, VersionStages: ['AWSPENDING'] });
}

beforeEach(() => {
  secretsMock.reset();
  secretsMock.on(GetSecretValueCommand, { SecretId: ARN, VersionStage: 'AWSCURRENT' })
    .resolves({ ARN, VersionId: CURRENT_ID, SecretString: CURRENT_KEY, VersionStages: ['AWSCURRENT'] });
});

describe('createSecret', () => {
  test('stores a new random key as the AWSPENDING version named by the token', async () => {
    describes();
    pendingValue(undefined);
    const deps = makeDeps();
    await handle(step('createSecret'), config, deps);
    expect(secretsMock).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: ARN, VersionStage: 'AWSCURRENT' });
    expect(secretsMock).toHaveReceivedCommandTimes(PutSecretValueCommand, 1);
    expect(secretsMock).toHaveReceivedCommandWith(PutSecretValueCommand, {
      SecretId: ARN, ClientRequestToken: TOKEN, SecretString: NEW_KEY, VersionStages: ['AWSPENDING'],
    });
    expect(secretsMock).toHaveReceivedCommandTimes(UpdateSecretVersionStageCommand, 0);
    expect(deps.logs).toContainEqual({ level: 'info', message: 'new signing key stored as AWSPENDING', extra: { step: 'createSecret', versionId: TOKEN } });
    expect(JSON.stringify(deps.logs)).not.toContain(NEW_KEY);
  });

  test('retried after the key was stored: nothing written, no key drawn', async () => {
    describes();
    pendingValue(NEW_KEY);
    const deps = makeDeps();
    await handle(step('createSecret'), config, deps);
    expect(secretsMock).toHaveReceivedCommandTimes(PutSecretValueCommand, 0);
    expect(deps.drawn).toBe(0);
    expect(deps.logs.map((l) => l.message)).toContain('the pending key exists already (a retried step): nothing written');
  });

  test('a concurrent attempt stored its key first (ResourceExistsException): that key stands', async () => {
    describes();
    secretsMock.on(GetSecretValueCommand, { SecretId: ARN, VersionId: TOKEN, VersionStage: 'AWSPENDING' })
      .rejectsOnce(notFound())
      .resolves({ ARN, VersionId: TOKEN, SecretString: 'o'.repeat(64), VersionStages: ['AWSPENDING'] });
    secretsMock.on(PutSecretValueCommand).rejects(new ResourceExistsException({ message: 'version exists with another value', $metadata: {} }));
    const deps = makeDeps();
    await handle(step('createSecret'), config, deps);
    expect(deps.logs.map((l) => l.message)).toContain('the pending key was written by a concurrent attempt: kept');
  });

  test('another failure to store propagates (the rotation step fails)', async () => {
    describes();
    pendingValue(undefined);
    secretsMock.on(PutSecretValueCommand).rejects(Object.assign(new Error('KMS key disabled'), { name: 'KMSInvalidStateException' }));
    await expect(handle(step('createSecret'), config, makeDeps())).rejects.toThrow('KMS key disabled');
  });
});

describe('setSecret and testSecret', () => {
  test('setSecret writes nothing (the key lives only in the secret)', async () => {
    describes();
    const deps = makeDeps();
    await handle(step('setSecret'), config, deps);
    expect(secretsMock).toHaveReceivedCommandTimes(PutSecretValueCommand, 0);
    expect(secretsMock).toHaveReceivedCommandTimes(UpdateSecretVersionStageCommand, 0);
    expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 0);
  });

  test('testSecret: the pending key signs a link that verifies', async () => {
    describes();
    pendingValue(NEW_KEY);
    const deps = makeDeps();
    await handle(step('testSecret'), config, deps);
    expect(deps.logs.map((l) => l.message)).toContain('the pending key signs and verifies a link');
    expect(secretsMock).toHaveReceivedCommandTimes(PutSecretValueCommand, 0);
  });

  test('testSecret: a pending key shorter than 32 characters fails the rotation', async () => {
    describes();
    pendingValue('short');
    await expect(handle(step('testSecret'), config, makeDeps())).rejects.toThrow(/pending key is shorter than 32 characters/);
  });

  test('testSecret without a pending value (Secrets Manager testing a new configuration) passes and writes nothing', async () => {
    describes();
    pendingValue(undefined);
    const deps = makeDeps();
    await handle(step('testSecret'), config, deps);
    expect(deps.logs.map((l) => l.message)).toContain('no pending key to test (a test of the rotation configuration)');
    expect(secretsMock).toHaveReceivedCommandTimes(PutSecretValueCommand, 0);
  });
});

describe('finishSecret', () => {
  test('moves AWSCURRENT from the current version to the token (AWSPREVIOUS follows in Secrets Manager)', async () => {
    describes();
    pendingValue(NEW_KEY);
    const deps = makeDeps();
    await handle(step('finishSecret'), config, deps);
    expect(secretsMock).toHaveReceivedCommandTimes(UpdateSecretVersionStageCommand, 1);
    expect(secretsMock).toHaveReceivedCommandWith(UpdateSecretVersionStageCommand, {
      SecretId: ARN, VersionStage: 'AWSCURRENT', MoveToVersionId: TOKEN, RemoveFromVersionId: CURRENT_ID,
    });
    expect(deps.logs).toContainEqual(expect.objectContaining({ message: 'the new key is AWSCURRENT; the one before is AWSPREVIOUS', extra: expect.objectContaining({ previousVersionId: CURRENT_ID }) }));
  });

  test('retried after it moved the label (the token is AWSCURRENT): nothing to do, for any step', async () => {
    describes({ [CURRENT_ID]: ['AWSPREVIOUS'], [TOKEN]: ['AWSCURRENT', 'AWSPENDING'] });
    for (const s of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) await handle(step(s), config, makeDeps());
    expect(secretsMock).toHaveReceivedCommandTimes(UpdateSecretVersionStageCommand, 0);
    expect(secretsMock).toHaveReceivedCommandTimes(PutSecretValueCommand, 0);
    expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 0);
  });

  test('never makes a version without a usable key current', async () => {
    describes();
    pendingValue(undefined);
    await expect(handle(step('finishSecret'), config, makeDeps())).rejects.toThrow(/has no key: it is not made AWSCURRENT/);
    pendingValue('short');
    await expect(handle(step('finishSecret'), config, makeDeps())).rejects.toThrow(/shorter than 32/);
    expect(secretsMock).toHaveReceivedCommandTimes(UpdateSecretVersionStageCommand, 0);
  });
});

describe('refusals', () => {
  test.each([
    ['another secret', { ...step('createSecret'), SecretId: `${ARN}x` }, /rotates only arn:aws:secretsmanager:.*SigningSecret-AbCdEf, not/],
    ['an unknown step', step('dropSecret'), /Step must be one of createSecret, setSecret, testSecret, finishSecret/],
    ['a short token', step('createSecret', 'abc'), /ClientRequestToken must be a string of 32 to 64 characters/],
    ['no event', undefined, /Step must be one of/],
  ])('%s: refused before anything is read', async (_name, event, message) => {
    describes();
    await expect(handle(event, config, makeDeps())).rejects.toThrow(message);
    expect(secretsMock.calls()).toHaveLength(0);
  });

  test('rotation not enabled, a token the secret does not know, a token not AWSPENDING: refused, nothing written', async () => {
    describes(undefined, false);
    await expect(handle(step('createSecret'), config, makeDeps())).rejects.toThrow(/rotation is not enabled/);
    describes({ [CURRENT_ID]: ['AWSCURRENT'] });
    await expect(handle(step('createSecret'), config, makeDeps())).rejects.toThrow(/has no staging label: it is not being rotated/);
    describes({ [CURRENT_ID]: ['AWSCURRENT'], [TOKEN]: ['AWSPREVIOUS'] });
    await expect(handle(step('finishSecret'), config, makeDeps())).rejects.toThrow(/is not AWSPENDING/);
    expect(secretsMock).toHaveReceivedCommandTimes(PutSecretValueCommand, 0);
    expect(secretsMock).toHaveReceivedCommandTimes(UpdateSecretVersionStageCommand, 0);
  });

  test('parseRotationEvent keeps only what it checked', () => {
    expect(parseRotationEvent({ ...step('testSecret'), RotationToken: 'x', extra: 1 })).toEqual(step('testSecret'));
  });
});

describe('randomSigningKey', () => {
  test('64 characters of letters and digits (the alphabet and length of the generated secret)', () => {
    expect(KEY_LENGTH).toBe(64);
    expect(KEY_ALPHABET).toBe('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789');
    const keys = Array.from({ length: 50 }, () => randomSigningKey());
    for (const k of keys) expect(k).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(new Set(keys).size).toBe(50);
  });
  test('each character is drawn uniformly over the alphabet', () => {
    const draws: number[] = [];
    const key = randomSigningKey((max) => {
      draws.push(max);
      return draws.length % max;
    });
    expect(draws).toEqual(Array(64).fill(62));
    expect(key.slice(0, 3)).toBe('BCD');
    // over many keys every character appears
    const seen = new Set(Array.from({ length: 200 }, () => randomSigningKey()).join(''));
    expect(seen.size).toBe(62);
  });
});

describe('Lambda wiring', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    resetForTests();
  });
  test('reads SIGNING_SECRET_ARN at cold start; a missing one is an error naming it', async () => {
    process.env = { ...saved, POWERTOOLS_LOG_LEVEL: 'SILENT' };
    delete process.env.SIGNING_SECRET_ARN;
    await expect(handler(step('setSecret'))).rejects.toThrow(/Environment variable SIGNING_SECRET_ARN is required/);
  });
  test('runs a step with the real wiring and rethrows a failure (Secrets Manager records the step as failed)', async () => {
    process.env = { ...saved, SIGNING_SECRET_ARN: ARN, POWERTOOLS_LOG_LEVEL: 'SILENT' };
    describes();
    pendingValue(undefined);
    await handler(step('createSecret'));
    const put = secretsMock.commandCalls(PutSecretValueCommand)[0].args[0].input;
    expect(put.SecretString).toMatch(/^[A-Za-z0-9]{64}$/);
    describes(undefined, false);
    await expect(handler(step('createSecret'))).rejects.toThrow(/rotation is not enabled/);
  });
});
