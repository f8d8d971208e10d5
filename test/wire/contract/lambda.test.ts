/** Contract of the Lambda control-plane fake with the real SDK client (@aws-sdk/client-lambda, REST-JSON). */
import {
  DeleteFunctionCommand, GetFunctionCommand, InvalidParameterValueException, LambdaClient, ListAliasesCommand,
  ListFunctionVersionsByCapacityProviderCommand, ListVersionsByFunctionCommand, paginateListFunctionVersionsByCapacityProvider,
  paginateListVersionsByFunction, ResourceConflictException, ResourceNotFoundException, TooManyRequestsException,
} from '@aws-sdk/client-lambda';
import { CONTRACT_CREDENTIALS, failureOf, rejectionOf } from './kit';
import { LambdaService } from '../../harness/aws/services/lambda';
import { WireServer } from '../../harness/aws/wire-server';

const wire = new WireServer();
const lambda = new LambdaService();
let client: LambdaClient;
const ARN = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`;

beforeAll(async () => {
  wire.register(lambda);
  await wire.start();
  client = new LambdaClient({ region: 'us-east-1', endpoint: wire.url, credentials: CONTRACT_CREDENTIALS, maxAttempts: 1 });
});
afterAll(() => wire.stop());

test('the server publishes AWS_ENDPOINT_URL_LAMBDA for handlers', () => {
  expect(wire.endpointEnv()).toMatchObject({ AWS_ENDPOINT_URL_LAMBDA: wire.url });
});

test('ListVersionsByFunction pages with Marker/NextMarker: $LATEST, $LATEST.PUBLISHED, then 1..120 in numeric order', async () => {
  lambda.createFunction('paged', { versions: 120, capacityProviderArn: 'arn:aws:lambda:us-east-1:123456789012:capacity-provider:pool' });
  const first = await client.send(new ListVersionsByFunctionCommand({ FunctionName: 'paged', MaxItems: 50 }));
  expect(first.Versions).toHaveLength(50);
  expect(first.Versions!.slice(0, 4).map((v) => v.Version)).toEqual(['$LATEST', '$LATEST.PUBLISHED', '1', '2']);
  expect(first.Versions![3]).toMatchObject({
    FunctionName: 'paged',
    FunctionArn: `${ARN('paged')}:2`,
    Runtime: 'nodejs24.x',
    MemorySize: 2048,
    CapacityProviderConfig: { LambdaManagedInstancesCapacityProviderConfig: { CapacityProviderArn: 'arn:aws:lambda:us-east-1:123456789012:capacity-provider:pool' } },
  });
  expect(typeof first.NextMarker).toBe('string');
  const all: string[] = [];
  for await (const page of paginateListVersionsByFunction({ client, pageSize: 50 }, { FunctionName: 'paged' })) {
    all.push(...(page.Versions ?? []).map((v) => v.Version!));
  }
  expect(all).toHaveLength(122);
  expect(all.slice(-3)).toEqual(['118', '119', '120']);
  // the default page is 50; the last page has no NextMarker
  const byDefault = await client.send(new ListVersionsByFunctionCommand({ FunctionName: 'paged' }));
  expect(byDefault.Versions).toHaveLength(50);
  const last = await client.send(new ListVersionsByFunctionCommand({ FunctionName: 'paged', MaxItems: 10000 }));
  expect(last.Versions).toHaveLength(122);
  expect(last.NextMarker).toBeUndefined();
  expect(wire.callsOf('lambda', 'ListVersionsByFunction').at(-1)).toMatchObject({ input: { FunctionName: 'paged', MaxItems: '10000' } });
});

test('function names: a name, a partial ARN and a full ARN (percent-encoded in the path) name the same function', async () => {
  lambda.createFunction('named', { versions: 2 });
  for (const name of ['named', '123456789012:function:named', ARN('named')]) {
    const res = await client.send(new ListVersionsByFunctionCommand({ FunctionName: name }));
    expect(res.Versions!.map((v) => v.Version)).toEqual(['$LATEST', '1', '2']);
  }
  // another account's ARN is not this function
  const other = await failureOf(client.send(new ListVersionsByFunctionCommand({ FunctionName: 'arn:aws:lambda:us-east-1:210987654321:function:named' })));
  expect(other).toMatchObject({ name: 'ResourceNotFoundException', status: 404 });
});

test('MaxItems outside 1..10000 is a ValidationException; a forged marker an InvalidParameterValueException', async () => {
  lambda.createFunction('limits', { versions: 1 });
  expect(await failureOf(client.send(new ListVersionsByFunctionCommand({ FunctionName: 'limits', MaxItems: 0 })))).toMatchObject({ name: 'ValidationException', status: 400 });
  const forged = await failureOf(client.send(new ListVersionsByFunctionCommand({ FunctionName: 'limits', Marker: 'not-a-marker' })));
  expect(forged).toMatchObject({ name: 'InvalidParameterValueException', status: 400 });
});

test('ListAliases answers RoutingConfig.AdditionalVersionWeights, filters by FunctionVersion and pages', async () => {
  lambda.createFunction('aliased', { versions: 5 });
  lambda.setAlias('aliased', 'live', '5', { 4: 0.1 });
  lambda.setAlias('aliased', 'canary', '3');
  lambda.setAlias('aliased', 'old', '1');
  const res = await client.send(new ListAliasesCommand({ FunctionName: 'aliased' }));
  expect(res.Aliases!.map((a) => a.Name)).toEqual(['canary', 'live', 'old']);
  expect(res.Aliases![1]).toMatchObject({
    AliasArn: `${ARN('aliased')}:live`, Name: 'live', FunctionVersion: '5', RoutingConfig: { AdditionalVersionWeights: { 4: 0.1 } },
  });
  expect(typeof res.Aliases![1].RevisionId).toBe('string');
  expect((await client.send(new ListAliasesCommand({ FunctionName: 'aliased', FunctionVersion: '3' }))).Aliases!.map((a) => a.Name)).toEqual(['canary']);
  const page1 = await client.send(new ListAliasesCommand({ FunctionName: 'aliased', MaxItems: 2 }));
  expect(page1.Aliases).toHaveLength(2);
  const page2 = await client.send(new ListAliasesCommand({ FunctionName: 'aliased', MaxItems: 2, Marker: page1.NextMarker }));
  expect(page2.Aliases!.map((a) => a.Name)).toEqual(['old']);
  expect(page2.NextMarker).toBeUndefined();
});

test('DeleteFunction with a Qualifier deletes that version only (204)', async () => {
  lambda.createFunction('deletable', { versions: 3 });
  const res = await client.send(new DeleteFunctionCommand({ FunctionName: ARN('deletable'), Qualifier: '2' }));
  expect(res.$metadata.httpStatusCode).toBe(204);
  expect(lambda.versionsOf('deletable')).toEqual(['$LATEST', '1', '3']);
  // a qualifier in the name works too
  await client.send(new DeleteFunctionCommand({ FunctionName: 'deletable:3' }));
  expect(lambda.versionsOf('deletable')).toEqual(['$LATEST', '1']);
});

test('DeleteFunction of an aliased version (primary or weighted) is a ResourceConflictException 409 naming the aliases', async () => {
  lambda.createFunction('guarded', { versions: 4 });
  lambda.setAlias('guarded', 'live', '4', { 3: 0.25 });
  for (const version of ['4', '3']) {
    const err = await rejectionOf<ResourceConflictException>(client.send(new DeleteFunctionCommand({ FunctionName: 'guarded', Qualifier: version })));
    expect(err).toBeInstanceOf(ResourceConflictException);
    expect(err.$metadata.httpStatusCode).toBe(409);
    expect(err.Type).toBe('User');
    expect(err.message).toBe('Unable to delete version because the following aliases reference it: [live]');
  }
  expect(lambda.versionsOf('guarded')).toEqual(['$LATEST', '1', '2', '3', '4']);
  expect(lambda.log.at(-1)).toMatchObject({ action: 'DeleteFunction', qualifier: '3', error: 'ResourceConflictException' });
});

test('DeleteFunction refuses $LATEST, $LATEST.PUBLISHED and an alias name (InvalidParameterValueException 400)', async () => {
  lambda.createFunction('latest', { versions: 1, capacityProviderArn: 'arn:aws:lambda:us-east-1:123456789012:capacity-provider:pool' });
  lambda.setAlias('latest', 'live', '1');
  for (const [qualifier, message] of [
    ['$LATEST', '$LATEST version cannot be deleted without deleting the function.'],
    ['$LATEST.PUBLISHED', '$LATEST version cannot be deleted without deleting the function.'],
    ['live', 'Deletion of aliases is not currently supported.'],
  ]) {
    const err = await rejectionOf<InvalidParameterValueException>(client.send(new DeleteFunctionCommand({ FunctionName: 'latest', Qualifier: qualifier })));
    expect(err).toBeInstanceOf(InvalidParameterValueException);
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(err.message).toBe(message);
  }
  expect(lambda.versionsOf('latest')).toEqual(['$LATEST', '$LATEST.PUBLISHED', '1']);
});

test('a missing function (or version) is a ResourceNotFoundException 404 with the ARN in Message', async () => {
  const err = await rejectionOf<ResourceNotFoundException>(client.send(new ListVersionsByFunctionCommand({ FunctionName: 'nowhere' })));
  expect(err).toBeInstanceOf(ResourceNotFoundException);
  expect(err.$metadata.httpStatusCode).toBe(404);
  expect(err.Message ?? err.message).toBe(`Function not found: ${ARN('nowhere')}`);
  expect(err.Type).toBe('User');
  lambda.createFunction('gone-version', { versions: 1 });
  const version = await failureOf(client.send(new DeleteFunctionCommand({ FunctionName: 'gone-version', Qualifier: '7' })));
  expect(version).toMatchObject({ name: 'ResourceNotFoundException', status: 404 });
  expect(await failureOf(client.send(new ListAliasesCommand({ FunctionName: 'nowhere' })))).toMatchObject({ name: 'ResourceNotFoundException', status: 404 });
});

test('throttling is a TooManyRequestsException 429 with Reason and Retry-After (retryAfterSeconds)', async () => {
  lambda.createFunction('busy', { versions: 1 });
  lambda.throttle('DeleteFunction');
  const err = await rejectionOf<TooManyRequestsException>(client.send(new DeleteFunctionCommand({ FunctionName: 'busy', Qualifier: '1' })));
  expect(err).toBeInstanceOf(TooManyRequestsException);
  expect(err.$metadata.httpStatusCode).toBe(429);
  expect(err).toMatchObject({ Reason: 'CallerRateLimitExceeded', Type: 'User', retryAfterSeconds: '1', message: 'Rate exceeded' });
  // the next call goes through
  await client.send(new DeleteFunctionCommand({ FunctionName: 'busy', Qualifier: '1' }));
  expect(lambda.versionsOf('busy')).toEqual(['$LATEST']);
});

test('GetFunction answers the configuration; DeleteFunction without a qualifier deletes the function', async () => {
  lambda.createFunction('whole', { versions: 2 });
  const got = await client.send(new GetFunctionCommand({ FunctionName: 'whole' }));
  expect(got.Configuration).toMatchObject({ FunctionName: 'whole', Version: '$LATEST', FunctionArn: `${ARN('whole')}:$LATEST` });
  await client.send(new DeleteFunctionCommand({ FunctionName: 'whole' }));
  expect(lambda.hasFunction('whole')).toBe(false);
});

test('ListFunctionVersionsByCapacityProvider lists the published versions of every function on the provider, paged', async () => {
  const provider = 'arn:aws:lambda:us-east-1:123456789012:capacity-provider:shared-pool';
  lambda.createFunction('shared-a', { versions: 30, capacityProviderArn: provider });
  lambda.createFunction('shared-b', { versions: 3, capacityProviderArn: provider });
  lambda.createFunction('elsewhere', { versions: 5 });
  const first = await client.send(new ListFunctionVersionsByCapacityProviderCommand({ CapacityProviderName: 'shared-pool', MaxItems: 10 }));
  expect(first.CapacityProviderArn).toBe(provider);
  expect(first.FunctionVersions).toHaveLength(10);
  expect(first.FunctionVersions![0]).toEqual({ FunctionArn: `${ARN('shared-a')}:$LATEST.PUBLISHED`, State: 'Active' });
  expect(typeof first.NextMarker).toBe('string');
  const all: string[] = [];
  for await (const page of paginateListFunctionVersionsByCapacityProvider({ client, pageSize: 10 }, { CapacityProviderName: 'shared-pool' })) {
    all.push(...page.FunctionVersions!.map((v) => v.FunctionArn!));
  }
  // 31 of shared-a and 4 of shared-b ($LATEST.PUBLISHED and the numbered ones; never $LATEST), none of the other function
  expect(all).toHaveLength(35);
  expect(all.filter((a) => a.includes(':function:shared-b:'))).toEqual([`${ARN('shared-b')}:$LATEST.PUBLISHED`, `${ARN('shared-b')}:1`, `${ARN('shared-b')}:2`, `${ARN('shared-b')}:3`]);
  expect(all.some((a) => a.endsWith(':$LATEST') || a.includes('elsewhere'))).toBe(false);
  expect(wire.callsOf('lambda', 'ListFunctionVersionsByCapacityProvider').at(-1)).toMatchObject({ input: { CapacityProviderName: 'shared-pool' } });

  const missing = await rejectionOf<ResourceNotFoundException>(client.send(new ListFunctionVersionsByCapacityProviderCommand({ CapacityProviderName: 'no-such-pool' })));
  expect(missing).toBeInstanceOf(ResourceNotFoundException);
  expect(missing.$metadata.httpStatusCode).toBe(404);
});
