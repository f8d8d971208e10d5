/**
 * The version pruner at the wire: the bundled handler (the projen asset
 * assets/managed-instance-lambda/runtime/version-pruner.lambda/index.js, staged by the synthesized
 * template, with the environment CloudFormation would give it) runs in a child process with the real
 * @aws-sdk/client-lambda against the local Lambda control-plane fake: it prunes 120 seeded versions to
 * the newest N plus the aliased ones, skips a version an alias moves to mid-run, retries throttled
 * calls, deletes nothing in a dry run, reports a missing function, and goes through the CloudFormation
 * Create/Update/Delete lifecycle of its after-deploy custom resource.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { PRUNER_ENV } from '../../src/managed-instance-lambda/runtime/version-pruner-contract';
import { VersionPruner } from '../../src/managed-instance-lambda/version-pruner';
import { deployExampleOffline } from '../harness/aws/example-deploy';
import { LocalLambda } from '../harness/aws/lambda-runner';
import { OfflineStack } from '../harness/aws/offline-stack';
import { StackFunction, StackModel } from '../harness/aws/stack-model';
import { modelOfStack, tempOutdir } from '../harness/aws/synth';
import { WireEnvironment } from '../harness/aws/wire-environment';

jest.setTimeout(120_000);

const POOL_ARN = 'arn:aws:lambda:us-east-1:123456789012:capacity-provider:agent-pool';
const BUNDLE = path.join(__dirname, '..', '..', 'assets', 'managed-instance-lambda', 'runtime', 'version-pruner.lambda', 'index.js');

let env: WireEnvironment;
let model: StackModel;
let pruner: StackFunction;
let schedulePayload: Record<string, any>;
let router: string;
let worker: string;
let crId: string;

beforeAll(async () => {
  const app = new App({ outdir: tempOutdir('version-pruner') });
  const stack = new Stack(app, 'WirePruner', { env: { account: '123456789012', region: 'us-east-1' } });
  const code = lambda.Code.fromInline('exports.handler = async () => 1;');
  const routerFn = new lambda.Function(stack, 'Router', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code });
  const workerFn = new lambda.Function(stack, 'Worker', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code });
  const pool = lambda.CapacityProvider.fromCapacityProviderArn(stack, 'Pool', POOL_ARN);
  const p = VersionPruner.of(stack, { versionsToKeep: 5 });
  p.addFunction(routerFn, { capacityProvider: pool, version: routerFn.currentVersion });
  p.addFunction(workerFn, { versionsToKeep: 3 });
  p.addFunction(lambda.Function.fromFunctionArn(stack, 'Legacy', 'arn:aws:lambda:us-east-1:123456789012:function:legacy-gone'));
  model = modelOfStack(stack);
  pruner = model.functions().find((f) => f.environment[PRUNER_ENV.versionsToKeep] !== undefined)!;
  const rule = model.ofType('AWS::Events::Rule')[0][1];
  schedulePayload = JSON.parse(model.resolve(rule.Targets[0].Input));
  router = model.physicalName(stack.getLogicalId(routerFn.node.defaultChild as lambda.CfnFunction));
  worker = model.physicalName(stack.getLogicalId(workerFn.node.defaultChild as lambda.CfnFunction));
  crId = model.customResources().find((c) => c.type === 'Custom::LambdaVersionPruner')!.logicalId;
  env = await WireEnvironment.start();
});
afterAll(() => env?.stop());

/** Seeds the two functions: 120 versions and aliases on the router (one weighted), 10 on the worker. */
function seed(): void {
  env.lambdaApi.createFunction(router, { versions: 120, capacityProviderArn: POOL_ARN });
  env.lambdaApi.setAlias(router, 'live', '118', { 60: 0.1 });
  env.lambdaApi.setAlias(router, 'pinned', '7');
  env.lambdaApi.createFunction(worker, { versions: 10 });
}

function handler(environment: Record<string, string> = {}): LocalLambda {
  return env.lambda(pruner, { environment: { ...pruner.environment, ...environment } });
}

const emf = (logs: any[], metric: string) => logs.filter((l) => l._aws && metric in l);

test('the template gives the handler its settings and the projen bundle; the schedule carries the targets', () => {
  expect(pruner.environment).toMatchObject({ VERSIONS_TO_KEEP: '5', DRY_RUN: 'false' });
  expect(pruner.runtime).toBe('nodejs24.x');
  expect(fs.readFileSync(path.join(pruner.assetDir, 'index.js'), 'utf8')).toBe(fs.readFileSync(BUNDLE, 'utf8'));
  expect(schedulePayload).toEqual({
    source: 'cdk-production-patterns.version-pruner',
    targets: [
      { functionName: `arn:aws:lambda:us-east-1:123456789012:function:${router}`, capacityProvider: 'agent-pool' },
      { functionName: `arn:aws:lambda:us-east-1:123456789012:function:${worker}`, versionsToKeep: 3 },
      { functionName: 'arn:aws:lambda:us-east-1:123456789012:function:legacy-gone' },
    ],
  });
});

test('a scheduled run prunes 120 versions to the newest 5 plus the aliased ones, reports the missing function, publishes the metrics', async () => {
  seed();
  const res = await handler().invoke(schedulePayload);
  expect(res.error).toBeUndefined();
  expect(env.lambdaApi.versionsOf(router)).toEqual(['$LATEST', '$LATEST.PUBLISHED', '7', '60', '116', '117', '118', '119', '120']);
  expect(env.lambdaApi.versionsOf(worker)).toEqual(['$LATEST', '8', '9', '10']);
  expect(res.result).toMatchObject({ deleted: 113 + 7, conflicts: 0, failures: 1, headroom: { 'agent-pool': 92 } });
  expect(res.result.targets.map((t: any) => t.status)).toEqual(['PRUNED', 'PRUNED', 'NOT_FOUND']);
  // listed in pages of 50 (123 versions with $LATEST and $LATEST.PUBLISHED: 3 pages)
  expect(env.lambdaApi.log.filter((l) => l.action === 'ListVersionsByFunction' && l.functionName.endsWith(router))).toHaveLength(3);
  // the missing function: a structured ERROR line naming it
  const missing = res.logs.find((l) => l.level === 'ERROR' && /legacy-gone does not exist/.test(l.message));
  expect(missing).toMatchObject({ service: 'version-pruner', functionName: 'arn:aws:lambda:us-east-1:123456789012:function:legacy-gone' });
  expect(missing!.error).toMatch(/^ResourceNotFoundException: Function not found/);
  // EMF metrics
  expect(emf(res.logs, 'VersionsDeleted')[0]).toMatchObject({ VersionsDeleted: 120, VersionsKept: 10, DeleteConflicts: 0, PruneFailures: 1, service: 'version-pruner' });
  expect(emf(res.logs, 'VersionHeadroom')[0]).toMatchObject({ VersionHeadroom: 92, CapacityProvider: 'agent-pool' });
  expect(emf(res.logs, 'VersionsOnCapacityProvider')[0]).toMatchObject({ VersionsOnCapacityProvider: 8, CapacityProvider: 'agent-pool' });
  expect(emf(res.logs, 'VersionHeadroom')[0]._aws.CloudWatchMetrics[0]).toMatchObject({
    Namespace: 'CdkProductionPatterns/ManagedInstanceLambda', Dimensions: [expect.arrayContaining(['service', 'CapacityProvider'])],
  });
  // a second run finds nothing to delete
  const again = await handler().invoke(schedulePayload);
  expect(again.result).toMatchObject({ deleted: 0 });
});

test('an alias moved onto a version mid-run: DeleteFunction answers 409, that version is skipped and counted, the rest is pruned', async () => {
  seed();
  // just before the first delete (version 1), another deployment points "hotfix" at version 30
  env.lambdaApi.beforeNext('DeleteFunction', (name) => {
    if (name === router) env.lambdaApi.setAlias(router, 'hotfix', '30');
  });
  const res = await handler().invoke(schedulePayload);
  expect(res.error).toBeUndefined();
  expect(env.lambdaApi.versionsOf(router)).toEqual(['$LATEST', '$LATEST.PUBLISHED', '7', '30', '60', '116', '117', '118', '119', '120']);
  expect(res.result.targets[0]).toMatchObject({ status: 'PRUNED', conflicts: ['30'] });
  expect(env.lambdaApi.log.filter((l) => l.error === 'ResourceConflictException').map((l) => l.qualifier)).toContain('30');
  const warn = res.logs.find((l) => l.level === 'WARN' && /version 30 of .* was not deleted/.test(l.message));
  expect(warn).toMatchObject({ version: '30' });
  expect(warn!.error).toMatch(/ResourceConflictException: Unable to delete version because the following aliases reference it: \[hotfix\]/);
  expect(emf(res.logs, 'DeleteConflicts')[0]).toMatchObject({ DeleteConflicts: 1 });
});

test('throttled listing and deletes (429 TooManyRequestsException) are retried until they go through', async () => {
  seed();
  env.lambdaApi.throttle('ListVersionsByFunction', 3);
  env.lambdaApi.throttle('DeleteFunction', 2);
  const before = env.lambdaApi.log.length;
  const res = await handler().invoke(schedulePayload);
  expect(res.error).toBeUndefined();
  expect(env.lambdaApi.versionsOf(router)).toEqual(['$LATEST', '$LATEST.PUBLISHED', '7', '60', '116', '117', '118', '119', '120']);
  const throttled = env.lambdaApi.log.slice(before).filter((l) => l.error === 'TooManyRequestsException');
  expect(throttled.map((l) => l.action)).toEqual(['ListVersionsByFunction', 'ListVersionsByFunction', 'ListVersionsByFunction', 'DeleteFunction', 'DeleteFunction']);
  expect(res.logs.filter((l) => l.message === 'throttled AWS call, retrying').length).toBeGreaterThanOrEqual(1);
  expect(res.result.failures).toBe(1); // only the missing function
});

test('dry run: lists and plans, deletes nothing, counts what it would delete', async () => {
  seed();
  const before = env.lambdaApi.log.length;
  const res = await handler({ DRY_RUN: 'true' }).invoke(schedulePayload);
  expect(res.error).toBeUndefined();
  expect(env.lambdaApi.versionsOf(router)).toHaveLength(122);
  expect(env.lambdaApi.log.slice(before).filter((l) => l.action === 'DeleteFunction')).toEqual([]);
  expect(res.result).toMatchObject({ dryRun: true, deleted: 0, headroom: { 'agent-pool': 100 - 121 } });
  expect(emf(res.logs, 'VersionsPlannedForDeletion')[0]).toMatchObject({ VersionsPlannedForDeletion: 113 + 7 });
  expect(res.logs.find((l) => /dry run: 113 version\(s\) of .* would be deleted/.test(l.message))).toBeDefined();
});

test('a malformed event fails the invocation loudly (the async retries and the DLQ keep it)', async () => {
  const res = await handler().invoke({ 'source': 'aws.events', 'detail-type': 'Scheduled Event' });
  expect(res.error).toMatchObject({ errorType: 'PrunerInputError' });
  expect(res.logs.find((l) => l.level === 'ERROR' && l.message === 'version pruner failed')).toBeDefined();
  expect(emf(res.logs, 'PruneFailures')[0]).toMatchObject({ PruneFailures: 1 });
});

test('the after-deploy custom resource: Create and Update prune and answer SUCCESS; Delete changes nothing and answers SUCCESS', async () => {
  seed();
  const stack = new OfflineStack(env, model);
  try {
    const created = await stack.request(crId, 'Create');
    expect(created.error).toBeUndefined();
    expect(created.response).toMatchObject({ Status: 'SUCCESS', Data: { Deleted: '120', Conflicts: '0', Failures: '1' } });
    expect(created.response!.Reason).toMatch(/1 target failure\(s\).*legacy-gone: ResourceNotFoundException/);
    expect(created.response!.contentType).toBe('');
    expect(env.lambdaApi.versionsOf(worker)).toEqual(['$LATEST', '8', '9', '10']);

    // a new deployment publishes versions 121..125 and changes a real property: the worker keeps 2
    env.lambdaApi.publishVersions(router, 5);
    const props = stack.currentProperties(crId)!;
    const targets = props.Targets.map((t: any) => (t.functionName.endsWith(worker) ? { ...t, versionsToKeep: '2' } : t));
    const updated = await stack.request(crId, 'Update', { ...props, Targets: targets });
    expect(updated.response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: created.response!.PhysicalResourceId, Data: { Deleted: String(4 + 1) } });
    expect(updated.cleanup).toBeUndefined();
    expect(env.lambdaApi.versionsOf(router)).toEqual(['$LATEST', '$LATEST.PUBLISHED', '7', '60', '118', '121', '122', '123', '124', '125']);
    expect(env.lambdaApi.versionsOf(worker)).toEqual(['$LATEST', '9', '10']);

    const calls = env.lambdaApi.log.length;
    env.lambdaApi.publishVersions(worker, 3);
    const deleted = await stack.request(crId, 'Delete');
    expect(deleted.response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: created.response!.PhysicalResourceId });
    expect(env.lambdaApi.log.length).toBe(calls);
    expect(env.lambdaApi.versionsOf(worker)).toEqual(['$LATEST', '9', '10', '11', '12', '13']);
  } finally {
    await stack.close();
  }
});

test('a malformed custom-resource request answers FAILED without touching any function', async () => {
  const stack = new OfflineStack(env, model);
  try {
    const calls = env.lambdaApi.log.length;
    const props = model.resolve(model.resources[crId].Properties);
    const res = await stack.request(crId, 'Create', { ...props, Targets: [{ functionName: `${router}:7` }] });
    expect(res.response).toMatchObject({ Status: 'FAILED' });
    expect(res.response!.Reason).toMatch(/Targets\[0\]\.functionName must be an unqualified function name or ARN/);
    expect(env.lambdaApi.log.length).toBe(calls);
  } finally {
    await stack.close();
  }
});

test('the offline deploy of an app with a pruner: Create, Update and Delete answer SUCCESS and the lifecycle checks find no problem', async () => {
  const result = await deployExampleOffline('version-pruner', (props) => {
    const app = new App(props);
    const stack = new Stack(app, 'PrunerApp', { env: { account: '123456789012', region: 'us-east-1' } });
    const code = lambda.Code.fromInline('exports.handler = async () => 1;');
    const api = new lambda.Function(stack, 'Api', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code });
    const pool = lambda.CapacityProvider.fromCapacityProviderArn(stack, 'Pool', POOL_ARN);
    const p = VersionPruner.of(stack, { versionsToKeep: 4 });
    p.addFunction(api, { capacityProvider: pool, version: api.currentVersion });
    p.addFunction(lambda.Function.fromFunctionName(stack, 'Batch', 'nightly-batch'), { versionsToKeep: 2 });
    return app;
  });
  const row = result.resources.find((r) => r.type === 'Custom::LambdaVersionPruner');
  expect(row).toMatchObject({ create: 'SUCCESS', update: 'SUCCESS', delete: 'SUCCESS', problems: [] });
});

// Last: it leaves another function on the pool.
test('the headroom counts every function on the provider (ListFunctionVersionsByCapacityProvider on the wire), not only the targets', async () => {
  seed();
  env.lambdaApi.createFunction('other-team-fn', { versions: 40, capacityProviderArn: POOL_ARN });
  const before = env.lambdaApi.log.length;
  const res = await handler().invoke(schedulePayload);
  expect(res.error).toBeUndefined();
  // the router's 8 (as above) and the other function's 40 + $LATEST.PUBLISHED, which the pruner does not touch
  expect(res.result.headroom).toEqual({ 'agent-pool': 100 - 8 - 41 });
  expect(emf(res.logs, 'VersionsOnCapacityProvider')[0]).toMatchObject({ VersionsOnCapacityProvider: 49, CapacityProvider: 'agent-pool' });
  expect(env.lambdaApi.versionsOf('other-team-fn')).toHaveLength(42);
  const listings = env.lambdaApi.log.slice(before).filter((l) => l.action === 'ListFunctionVersionsByCapacityProvider');
  expect(listings.map((l) => l.functionName)).toEqual(['agent-pool']); // 49 versions: one page of 50
});
