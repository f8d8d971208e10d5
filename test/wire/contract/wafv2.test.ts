/** Contract of the WAFv2 and CloudFormation fakes with the real SDK clients. */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetIPSetCommand, UpdateIPSetCommand, WAFV2Client } from '@aws-sdk/client-wafv2';
import { CONTRACT_CREDENTIALS, failureOf } from './kit';
import { CloudFormationService } from '../../harness/aws/services/cloudformation';
import { WafV2Service } from '../../harness/aws/services/wafv2';
import { WireServer } from '../../harness/aws/wire-server';

const wire = new WireServer();
const waf = new WafV2Service();
const cfn = new CloudFormationService();
const credentials = CONTRACT_CREDENTIALS;
let client: WAFV2Client;

beforeAll(async () => {
  wire.register(waf).register(cfn);
  await wire.start();
  client = new WAFV2Client({ region: 'us-east-1', endpoint: wire.url, credentials, maxAttempts: 1 });
});
afterAll(() => wire.stop());

const nameOf = async (p: Promise<unknown>): Promise<string> => (await failureOf(p)).name;

test('GetIPSet / UpdateIPSet with lock tokens; UpdateIPSet replaces the description', async () => {
  waf.createIpSet('11111111-2222-3333-4444-555555555555', { name: 'set', description: 'kept' });
  const got = await client.send(new GetIPSetCommand({ Id: '11111111-2222-3333-4444-555555555555', Name: 'set', Scope: 'REGIONAL' }));
  expect(got.IPSet).toMatchObject({ Name: 'set', Description: 'kept', Addresses: [], IPAddressVersion: 'IPV4' });
  const upd = await client.send(new UpdateIPSetCommand({ Id: '11111111-2222-3333-4444-555555555555', Name: 'set', Scope: 'REGIONAL', LockToken: got.LockToken!, Addresses: ['10.0.0.0/8'] }));
  expect(upd.NextLockToken).not.toBe(got.LockToken);
  expect(waf.ipSet('11111111-2222-3333-4444-555555555555')).toMatchObject({ addresses: ['10.0.0.0/8'], description: undefined });

  expect(await nameOf(client.send(new UpdateIPSetCommand({ Id: '11111111-2222-3333-4444-555555555555', Name: 'set', Scope: 'REGIONAL', LockToken: got.LockToken!, Addresses: [] }))))
    .toBe('WAFOptimisticLockException');
  expect(await nameOf(client.send(new GetIPSetCommand({ Id: '11111111-2222-3333-4444-555555555555', Name: 'other', Scope: 'REGIONAL' })))).toBe('WAFNonexistentItemException');
  expect(await nameOf(client.send(new UpdateIPSetCommand({ Id: '11111111-2222-3333-4444-555555555555', Name: 'set', Scope: 'REGIONAL', LockToken: upd.NextLockToken!, Addresses: ['2600::/32'] }))))
    .toBe('WAFInvalidParameterException');
  waf.maxAddresses = 1;
  try {
    expect(await nameOf(client.send(new UpdateIPSetCommand({ Id: '11111111-2222-3333-4444-555555555555', Name: 'set', Scope: 'REGIONAL', LockToken: upd.NextLockToken!, Addresses: ['10.0.0.0/8', '11.0.0.0/8'] }))))
      .toBe('WAFLimitsExceededException');
  } finally {
    waf.maxAddresses = 10_000;
  }
  wire.fail({ service: 'wafv2', action: 'GetIPSet', code: 'WAFInternalErrorException', status: 500 });
  expect(await nameOf(client.send(new GetIPSetCommand({ Id: '11111111-2222-3333-4444-555555555555', Name: 'set', Scope: 'REGIONAL' })))).toBe('WAFInternalErrorException');
});

test('CloudFormation DescribeStacks answers the status the test sets; an unknown stack is a ValidationError', async () => {
  const cf = new CloudFormationClient({ region: 'us-east-1', endpoint: wire.url, credentials, maxAttempts: 1 });
  cfn.setStack('arn:aws:cloudformation:us-east-1:123456789012:stack/S/1', 'S', 'DELETE_IN_PROGRESS');
  const res = await cf.send(new DescribeStacksCommand({ StackName: 'arn:aws:cloudformation:us-east-1:123456789012:stack/S/1' }));
  expect(res.Stacks?.[0]).toMatchObject({ StackName: 'S', StackStatus: 'DELETE_IN_PROGRESS' });
  expect(res.Stacks?.[0].CreationTime).toBeInstanceOf(Date);
  const err = await cf.send(new DescribeStacksCommand({ StackName: 'nope' })).catch((e: Error) => e);
  expect((err as Error).name).toBe('ValidationError');
  expect((err as Error).message).toBe('Stack with id nope does not exist');
});
