/**
 * The version pruner's run loop and entry point with a command-level mock of the Lambda client
 * (aws-sdk-client-mock) holding a small stateful model of the functions: pagination over 100+
 * versions and several alias pages, conflicts, throttling, dry run, a missing function, and the
 * CloudFormation custom-resource lifecycle answered at the ResponseURL.
 */
import {
  DeleteFunctionCommand, LambdaClient, ListAliasesCommand, ListFunctionVersionsByCapacityProviderCommand, ListVersionsByFunctionCommand,
  ResourceConflictException, ResourceNotFoundException, ServiceException, TooManyRequestsException,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import type { StructuredLog } from '../../src/core/runtime/log';
import { PRUNE_PAYLOAD_SOURCE, PRUNER_METRIC } from '../../src/managed-instance-lambda/runtime/version-pruner-contract';
import { handler } from '../../src/managed-instance-lambda/runtime/version-pruner.lambda';
import {
  handlePrunerEvent, PrunerConfig, PrunerDeps, PrunerInputError, runPrune,
} from '../../src/managed-instance-lambda/runtime/version-pruning';

const lambda = mockClient(LambdaClient);

interface FakeAlias { Name: string; FunctionVersion: string; weights?: Record<string, number> }
interface Model { versions: Map<string, string[]>; aliases: Map<string, FakeAlias[]>; providers: Map<string, string[]> }
interface Logged { level: string; message: string; extra?: Record<string, unknown> }

let model: Model;

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
const notFound = (name: string) => new ResourceNotFoundException({ message: `Function not found: ${name}`, Message: `Function not found: ${name}`, Type: 'User', $metadata: { httpStatusCode: 404 } });

function fakeLambda(): void {
  lambda.reset();
  lambda.on(ListVersionsByFunctionCommand).callsFake((input) => {
    const all = model.versions.get(input.FunctionName);
    if (!all) throw notFound(input.FunctionName);
    const start = input.Marker ? Number(input.Marker) : 0;
    const end = start + (input.MaxItems ?? 50);
    return {
      Versions: all.slice(start, end).map((Version) => ({ Version, FunctionName: input.FunctionName })),
      NextMarker: end < all.length ? String(end) : undefined,
    };
  });
  lambda.on(ListAliasesCommand).callsFake((input) => {
    const all = model.aliases.get(input.FunctionName) ?? [];
    const start = input.Marker ? Number(input.Marker) : 0;
    const end = start + Math.min(input.MaxItems ?? 50, 2); // tiny pages: paging is exercised
    return {
      Aliases: all.slice(start, end).map((a) => ({
        Name: a.Name, FunctionVersion: a.FunctionVersion, RoutingConfig: a.weights ? { AdditionalVersionWeights: a.weights } : undefined,
      })),
      NextMarker: end < all.length ? String(end) : undefined,
    };
  });
  lambda.on(ListFunctionVersionsByCapacityProviderCommand).callsFake((input) => {
    const fns = model.providers.get(input.CapacityProviderName!);
    if (!fns) throw new ResourceNotFoundException({ message: 'Capacity provider not found', Type: 'User', $metadata: { httpStatusCode: 404 } });
    const all = fns.flatMap((f) => (model.versions.get(f) ?? []).filter((v) => v !== '$LATEST').map((v) => ({ FunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${f}:${v}`, State: 'Active' })));
    const start = input.Marker ? Number(input.Marker) : 0;
    const end = start + (input.MaxItems ?? 50);
    return { CapacityProviderArn: `arn:aws:lambda:us-east-1:123456789012:capacity-provider:${input.CapacityProviderName}`, FunctionVersions: all.slice(start, end), NextMarker: end < all.length ? String(end) : undefined };
  });
  lambda.on(DeleteFunctionCommand).callsFake((input) => {
    const all = model.versions.get(input.FunctionName);
    if (!all || !all.includes(input.Qualifier!)) throw notFound(`${input.FunctionName}:${input.Qualifier}`);
    const aliased = (model.aliases.get(input.FunctionName) ?? [])
      .filter((a) => a.FunctionVersion === input.Qualifier || Object.keys(a.weights ?? {}).includes(input.Qualifier!));
    if (aliased.length) {
      throw new ResourceConflictException({ message: `Unable to delete version because the following aliases reference it: [${aliased.map((a) => a.Name)}]`, Type: 'User', $metadata: { httpStatusCode: 409 } });
    }
    model.versions.set(input.FunctionName, all.filter((v) => v !== input.Qualifier));
    return { StatusCode: 204 };
  });
}

function setup(config: Partial<PrunerConfig> = {}) {
  const logs: Logged[] = [];
  const counts: Record<string, number> = {};
  const headroom: Array<{ provider: string; headroom: number; versions: number }> = [];
  const sleeps: number[] = [];
  const log: StructuredLog = {
    info: (message, extra) => logs.push({ level: 'info', message, extra }),
    warn: (message, extra) => logs.push({ level: 'warn', message, extra }),
    error: (message, extra) => logs.push({ level: 'error', message, extra }),
  };
  const deps: PrunerDeps = {
    lambda: new LambdaClient({ region: 'us-east-1' }),
    sleep: async (ms) => { sleeps.push(ms); },
    log,
    metrics: {
      count: (name, value) => { counts[name] = (counts[name] ?? 0) + value; },
      headroom: (provider, h, versions) => headroom.push({ provider, headroom: h, versions }),
    },
    random: () => 0.5,
  };
  return { config: { versionsToKeep: 5, dryRun: false, ...config }, deps, logs, counts, headroom, sleeps };
}

const deletesOf = (fn: string) => lambda.commandCalls(DeleteFunctionCommand)
  .filter((c) => c.args[0].input.FunctionName === fn).map((c) => c.args[0].input.Qualifier);

beforeEach(() => {
  model = { versions: new Map(), aliases: new Map(), providers: new Map() };
  fakeLambda();
});

test('pages through 130 versions and 3 pages of aliases; keeps the newest 5, the aliased (weighted too); deletes the rest oldest first', async () => {
  model.versions.set('router', ['$LATEST', '$LATEST.PUBLISHED', ...range(1, 130)]);
  model.aliases.set('router', [
    { Name: 'a-live', FunctionVersion: '130', weights: { 7: 0.1 } },
    { Name: 'b-old', FunctionVersion: '3' },
    { Name: 'c-tip', FunctionVersion: '$LATEST' },
    { Name: 'd-mid', FunctionVersion: '60' },
    { Name: 'e-dup', FunctionVersion: '60' },
  ]);
  const s = setup();
  const out = await runPrune([{ functionName: 'router', capacityProvider: 'pool' }], s.config, s.deps);

  const lists = lambda.commandCalls(ListVersionsByFunctionCommand).map((c) => c.args[0].input.Marker);
  expect(lists).toEqual([undefined, '50', '100']);
  expect(lambda.commandCalls(ListAliasesCommand)).toHaveLength(3);
  expect(model.versions.get('router')).toEqual(['$LATEST', '$LATEST.PUBLISHED', '3', '7', '60', '126', '127', '128', '129', '130']);
  const deleted = deletesOf('router');
  expect(deleted).toHaveLength(122);
  expect(deleted.slice(0, 4)).toEqual(['1', '2', '4', '5']);
  expect(out.targets[0]).toMatchObject({ status: 'PRUNED', versionsCounted: 9, conflicts: [] });
  expect(out.targets[0].kept.sort()).toEqual(['126', '127', '128', '129', '130', '3', '60', '7']);
  expect(s.counts).toMatchObject({ [PRUNER_METRIC.versionsDeleted]: 122, [PRUNER_METRIC.versionsKept]: 8, [PRUNER_METRIC.failures]: 0 });
  expect(s.headroom).toEqual([{ provider: 'pool', headroom: 91, versions: 9 }]);
  // every version a delete was attempted for was listed and unprotected
  expect(deleted).not.toContain('7');
  expect(deleted.some((v) => v!.startsWith('$'))).toBe(false);
});

test('headroom sums the targets of one capacity provider; a function without one publishes none', async () => {
  model.versions.set('a', ['$LATEST', '$LATEST.PUBLISHED', ...range(1, 10)]);
  model.versions.set('b', ['$LATEST', '$LATEST.PUBLISHED', ...range(1, 3)]);
  model.versions.set('plain', ['$LATEST', ...range(1, 12)]);
  const s = setup({ versionsToKeep: 4 });
  const out = await runPrune([
    { functionName: 'a', capacityProvider: 'pool' }, { functionName: 'b', capacityProvider: 'pool', versionsToKeep: 2 }, { functionName: 'plain' },
  ], s.config, s.deps);
  // a: 4 + $LATEST.PUBLISHED; b: 2 + $LATEST.PUBLISHED
  expect(s.headroom).toEqual([{ provider: 'pool', headroom: 92, versions: 8 }]);
  expect(out.headroom).toEqual({ pool: 92 });
  expect(model.versions.get('plain')).toEqual(['$LATEST', '9', '10', '11', '12']);
});

test('headroom counts every function on the provider (ListFunctionVersionsByCapacityProvider, paged), not only the targets', async () => {
  model.versions.set('a', ['$LATEST', '$LATEST.PUBLISHED', ...range(1, 10)]);
  model.versions.set('b', ['$LATEST', '$LATEST.PUBLISHED', ...range(1, 3)]);
  // another team's function on the same provider, unknown to this pruner
  model.versions.set('stranger', ['$LATEST', '$LATEST.PUBLISHED', ...range(1, 60)]);
  model.providers.set('pool', ['a', 'b', 'stranger']);
  const s = setup({ versionsToKeep: 4 });
  const out = await runPrune([{ functionName: 'a', capacityProvider: 'pool' }, { functionName: 'b', capacityProvider: 'pool', versionsToKeep: 2 }], s.config, s.deps);
  // a: 4 + $LATEST.PUBLISHED; b: 2 + $LATEST.PUBLISHED; stranger: 60 + $LATEST.PUBLISHED
  expect(s.headroom).toEqual([{ provider: 'pool', headroom: 100 - 69, versions: 69 }]);
  expect(out.headroom).toEqual({ pool: 31 });
  expect(lambda.commandCalls(ListFunctionVersionsByCapacityProviderCommand).length).toBe(2); // 61 + 5 + 3 = 69 over pages of 50
  expect(model.versions.get('stranger')).toHaveLength(62);
  expect(s.logs.filter((l) => /could not be listed/.test(l.message))).toEqual([]);
});

test('a provider that cannot be listed falls back to the targets\' versions, with a WARN line', async () => {
  model.versions.set('a', ['$LATEST', '$LATEST.PUBLISHED', ...range(1, 10)]);
  const s = setup({ versionsToKeep: 4 });
  await runPrune([{ functionName: 'a', capacityProvider: 'unlisted' }], s.config, s.deps);
  expect(s.headroom).toEqual([{ provider: 'unlisted', headroom: 95, versions: 5 }]);
  expect(s.logs.find((l) => l.level === 'warn' && /capacity provider unlisted could not be listed/.test(l.message))).toBeDefined();
});

test('a ResourceConflictException on a delete skips that version, logs and counts it, and goes on', async () => {
  model.versions.set('router', ['$LATEST', ...range(1, 10)]);
  // another actor points an alias at version 2 after the listing
  let listed = false;
  lambda.on(ListAliasesCommand).callsFake(() => {
    listed = true;
    return { Aliases: [] };
  });
  const s = setup({ versionsToKeep: 3 });
  model.aliases.set('router', []);
  const deleteFake = (input: { FunctionName: string; Qualifier?: string }) => {
    if (listed) model.aliases.set('router', [{ Name: 'hotfix', FunctionVersion: '2' }]);
    const aliased = (model.aliases.get('router') ?? []).some((a) => a.FunctionVersion === input.Qualifier);
    if (aliased) throw new ResourceConflictException({ message: 'Unable to delete version because the following aliases reference it: [hotfix]', Type: 'User', $metadata: {} });
    model.versions.set('router', model.versions.get('router')!.filter((v) => v !== input.Qualifier));
    return {};
  };
  lambda.on(DeleteFunctionCommand).callsFake(deleteFake);
  const out = await runPrune([{ functionName: 'router' }], s.config, s.deps);
  expect(out.targets[0]).toMatchObject({ status: 'PRUNED', conflicts: ['2'], deleted: ['1', '3', '4', '5', '6', '7'] });
  expect(model.versions.get('router')).toEqual(['$LATEST', '2', '8', '9', '10']);
  expect(s.counts[PRUNER_METRIC.deleteConflicts]).toBe(1);
  expect(s.logs.find((l) => l.level === 'warn' && /version 2 of router was not deleted/.test(l.message))?.extra).toMatchObject({ version: '2' });
  expect(out.failures).toBe(0);
});

test('throttled calls are retried with backoff; a version already gone (404) counts as deleted', async () => {
  model.versions.set('router', ['$LATEST', ...range(1, 4)]);
  const throttle = () => new TooManyRequestsException({ message: 'Rate exceeded', Reason: 'CallerRateLimitExceeded', Type: 'User', $metadata: { httpStatusCode: 429 } });
  const list = lambda.on(ListVersionsByFunctionCommand);
  list.rejectsOnce(throttle()).rejectsOnce(throttle()).resolves({ Versions: ['$LATEST', '1', '2', '3', '4'].map((Version) => ({ Version })) });
  lambda.on(DeleteFunctionCommand, { Qualifier: '1' }).rejectsOnce(throttle()).resolves({});
  lambda.on(DeleteFunctionCommand, { Qualifier: '2' }).rejects(notFound('router:2'));
  const s = setup({ versionsToKeep: 2 });
  const out = await runPrune([{ functionName: 'router' }], s.config, s.deps);
  expect(out.targets[0]).toMatchObject({ status: 'PRUNED', deleted: ['1', '2'] });
  expect(lambda.commandCalls(ListVersionsByFunctionCommand)).toHaveLength(3);
  expect(deletesOf('router')).toEqual(['1', '1', '2']);
  expect(s.sleeps).toEqual([200, 400, 200]);
  expect(s.logs.filter((l) => l.message === 'throttled AWS call, retrying')).toHaveLength(3);
});

test('throttled past the retries: that target FAILS (counted, ERROR logged), the other targets are still pruned', async () => {
  model.versions.set('busy', ['$LATEST', ...range(1, 9)]);
  model.versions.set('calm', ['$LATEST', ...range(1, 9)]);
  lambda.on(ListVersionsByFunctionCommand, { FunctionName: 'busy' }).rejects(new TooManyRequestsException({ message: 'Rate exceeded', $metadata: {} }));
  const s = setup({ versionsToKeep: 2 });
  const out = await runPrune([{ functionName: 'busy', capacityProvider: 'pool' }, { functionName: 'calm', capacityProvider: 'pool' }], s.config, s.deps);
  expect(out.targets.map((t) => t.status)).toEqual(['FAILED', 'PRUNED']);
  expect(model.versions.get('calm')).toEqual(['$LATEST', '8', '9']);
  expect(s.counts[PRUNER_METRIC.failures]).toBe(1);
  // the provider's headroom is unknown: not published
  expect(s.headroom).toEqual([]);
  expect(s.logs.find((l) => l.level === 'error' && /1 of 2 target/.test(l.message))).toBeDefined();
});

test('an unexpected error on a delete stops that target (the rest is left for the next run)', async () => {
  model.versions.set('router', ['$LATEST', ...range(1, 6)]);
  lambda.on(DeleteFunctionCommand, { Qualifier: '2' }).rejects(new ServiceException({ message: 'internal', $metadata: {} }));
  const s = setup({ versionsToKeep: 2 });
  const out = await runPrune([{ functionName: 'router' }], s.config, s.deps);
  expect(out.targets[0]).toMatchObject({ status: 'FAILED', deleted: ['1'], error: 'ServiceException: internal' });
  expect(deletesOf('router')).toEqual(['1', '2']);
});

test('dry run: plans and logs, deletes nothing, counts what it would delete', async () => {
  model.versions.set('router', ['$LATEST', ...range(1, 20)]);
  const s = setup({ dryRun: true });
  const out = await runPrune([{ functionName: 'router', capacityProvider: 'pool' }], s.config, s.deps);
  expect(lambda.commandCalls(DeleteFunctionCommand)).toHaveLength(0);
  expect(out).toMatchObject({ dryRun: true, deleted: 0 });
  expect(out.targets[0]).toMatchObject({ status: 'PLANNED', deleted: range(1, 15), versionsCounted: 20 });
  expect(s.counts[PRUNER_METRIC.versionsPlanned]).toBe(15);
  expect(s.counts[PRUNER_METRIC.versionsDeleted]).toBeUndefined();
  expect(s.headroom).toEqual([{ provider: 'pool', headroom: 80, versions: 20 }]);
  expect(s.logs.find((l) => /dry run: 15 version\(s\) of router would be deleted/.test(l.message))?.extra).toMatchObject({ wouldDelete: range(1, 15) });
});

test('a target function that does not exist is logged as a structured error and reported; the others are pruned', async () => {
  model.versions.set('here', ['$LATEST', ...range(1, 8)]);
  const s = setup({ versionsToKeep: 2 });
  const out = await runPrune([{ functionName: 'gone' }, { functionName: 'here' }], s.config, s.deps);
  expect(out.targets[0]).toMatchObject({ functionName: 'gone', status: 'NOT_FOUND' });
  expect(out.targets[1]).toMatchObject({ functionName: 'here', status: 'PRUNED' });
  expect(out.failures).toBe(1);
  expect(s.counts[PRUNER_METRIC.failures]).toBe(1);
  expect(s.logs.find((l) => l.level === 'error' && /function gone does not exist/.test(l.message))?.extra).toMatchObject({ functionName: 'gone' });
});

describe('events', () => {
  const cfn = (type: string, props: Record<string, unknown>, physical?: string) => ({
    RequestType: type,
    ResponseURL: 'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x?X-Amz-Signature=abc',
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/app/1',
    RequestId: 'req-1',
    LogicalResourceId: 'AfterDeployRun',
    ResourceType: 'Custom::LambdaVersionPruner',
    ...(physical ? { PhysicalResourceId: physical } : {}),
    ResourceProperties: { ServiceToken: 'arn:...', ...props },
  });
  const answers: any[] = [];
  const put = async (url: string, body: string) => {
    answers.push({ url, ...JSON.parse(body) });
    return { status: 200 };
  };
  beforeEach(() => { answers.length = 0; });

  test('Create prunes and answers SUCCESS with the counts; the physical id is stable across Update', async () => {
    model.versions.set('router', ['$LATEST', ...range(1, 12)]);
    const s = setup();
    await handlePrunerEvent(cfn('Create', { Targets: [{ functionName: 'router', versionsToKeep: '3' }], VersionsToKeep: '5', DryRun: 'false' }), s.config, s.deps, put);
    expect(answers).toEqual([expect.objectContaining({
      Status: 'SUCCESS', PhysicalResourceId: 'AfterDeployRun-version-pruner', RequestId: 'req-1', Data: { Deleted: '9', Conflicts: '0', Failures: '0' },
    })]);
    expect(model.versions.get('router')).toEqual(['$LATEST', '10', '11', '12']);
    model.versions.set('router', ['$LATEST', ...range(10, 14)]);
    await handlePrunerEvent(cfn('Update', { Targets: [{ functionName: 'router', versionsToKeep: '3' }] }, 'AfterDeployRun-version-pruner'), s.config, s.deps, put);
    expect(answers[1]).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'AfterDeployRun-version-pruner', Data: { Deleted: '2' } });
  });

  test('a pruning failure during Update still answers SUCCESS (no rollback), with the reason, an ERROR line and the failure count', async () => {
    const s = setup();
    await handlePrunerEvent(cfn('Update', { Targets: [{ functionName: 'gone' }] }, 'p'), s.config, s.deps, put);
    expect(answers[0]).toMatchObject({ Status: 'SUCCESS', Data: { Failures: '1' } });
    expect(answers[0].Reason).toMatch(/1 target failure\(s\).*gone: ResourceNotFoundException/);
    expect(s.counts[PRUNER_METRIC.failures]).toBe(1);
  });

  test('Delete changes nothing and answers SUCCESS', async () => {
    model.versions.set('router', ['$LATEST', ...range(1, 12)]);
    const s = setup();
    await handlePrunerEvent(cfn('Delete', { Targets: [{ functionName: 'router' }] }, 'p'), s.config, s.deps, put);
    expect(answers).toEqual([expect.objectContaining({ Status: 'SUCCESS', PhysicalResourceId: 'p' })]);
    expect(lambda.calls()).toHaveLength(0);
  });

  test('a malformed request answers FAILED naming the bad property, without calling Lambda', async () => {
    const s = setup();
    await handlePrunerEvent(cfn('Create', { Targets: [{ functionName: 'router:3' }] }), s.config, s.deps, put);
    expect(answers[0]).toMatchObject({ Status: 'FAILED' });
    expect(answers[0].Reason).toMatch(/PrunerInputError: Targets\[0\]\.functionName must be an unqualified/);
    await handlePrunerEvent(cfn('Update', {}, 'p'), s.config, s.deps, put);
    expect(answers[1]).toMatchObject({ Status: 'FAILED' });
    expect(lambda.calls()).toHaveLength(0);
  });

  test('the scheduled payload runs the pruner; any other event is refused (thrown: the async retries and the DLQ keep it)', async () => {
    model.versions.set('router', ['$LATEST', ...range(1, 7)]);
    const s = setup();
    const out = await handlePrunerEvent({ source: PRUNE_PAYLOAD_SOURCE, targets: [{ functionName: 'router' }] }, s.config, s.deps, put);
    expect(out).toMatchObject({ deleted: 2 });
    await expect(handlePrunerEvent({ 'source': 'aws.events', 'detail-type': 'Scheduled Event' }, s.config, s.deps, put)).rejects.toBeInstanceOf(PrunerInputError);
    expect(answers).toEqual([]);
  });
});

describe('the entry point', () => {
  const env = { ...process.env };
  afterAll(() => { process.env = env; });

  // The entry point reads its configuration at the first invocation (cold start): set it before.
  test('reads its configuration, answers CloudFormation over fetch (empty content type) and rethrows a malformed payload', async () => {
    process.env.VERSIONS_TO_KEEP = '2';
    process.env.DRY_RUN = 'false';
    process.env.AWS_REGION = 'us-east-1';
    model.versions.set('router', ['$LATEST', ...range(1, 5)]);
    const fetchSpy = jest.spyOn(global, 'fetch').mockResolvedValue(new Response('', { status: 200 }));
    try {
      await handler({
        RequestType: 'Create', ResponseURL: 'https://example.com/r', StackId: 's', RequestId: 'r', LogicalResourceId: 'L', ResourceProperties: { Targets: [{ functionName: 'router' }] },
      });
      expect(model.versions.get('router')).toEqual(['$LATEST', '4', '5']);
      expect(fetchSpy).toHaveBeenCalledTimes(1);
      const [url, init] = fetchSpy.mock.calls[0];
      expect(url).toBe('https://example.com/r');
      expect(init).toMatchObject({ method: 'PUT', headers: { 'content-type': '' } });
      expect(JSON.parse(String(init!.body))).toMatchObject({ Status: 'SUCCESS', Data: { Deleted: '3' } });
      await expect(handler({ hello: 'world' })).rejects.toThrow(/expected a CloudFormation custom-resource event or a payload with source/);
    } finally {
      fetchSpy.mockRestore();
    }
  });
});

test('a run about to time out stops deleting and leaves the rest (and the next targets) for the next run, answering in time', async () => {
  model.versions.set('router', ['$LATEST', '$LATEST.PUBLISHED', ...range(1, 20)]);
  model.versions.set('worker', ['$LATEST', '$LATEST.PUBLISHED', ...range(1, 20)]);
  const s = setup({ versionsToKeep: 5 });
  // the check before router and 3 deletes of it fit; then less than 30 seconds are left
  let left = 4;
  const deps = { ...s.deps, remainingMs: () => (left-- > 0 ? 120_000 : 10_000) };
  const out = await runPrune([{ functionName: 'router', capacityProvider: 'pool' }, { functionName: 'worker', capacityProvider: 'pool' }], s.config, deps);
  expect(out.targets[0]).toMatchObject({ status: 'PRUNED', deleted: ['1', '2', '3'] });
  expect(out.targets[1]).toMatchObject({ functionName: 'worker', deleted: [], versionsCounted: -1 });
  expect(deletesOf('worker')).toEqual([]);
  expect(model.versions.get('worker')).toHaveLength(22);
  expect(s.logs.filter((l) => l.level === 'warn' && /about to time out/.test(l.message))).toHaveLength(2);
  // the provider's headroom is not published from a partial listing
  expect(s.headroom).toEqual([]);
  expect(s.counts[PRUNER_METRIC.failures]).toBe(0);
});
