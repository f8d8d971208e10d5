import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CfnResource, RemovalPolicy, Stack, Stage } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LogicalIdGuard, LogicalIdGuardProps, LogicalIdLockMode } from '../../src';

const ENV = { account: '111122223333', region: 'eu-west-1' };

let dir: string;
let lockFile: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logical-id-guard-'));
  lockFile = path.join(dir, 'logical-ids.lock.json');
});
const afterTest: Array<() => void> = [];
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  afterTest.splice(0).forEach((f) => f());
});

/** A new app with one stack `Svc` built by `build`, guarded in UPDATE mode (unless props say otherwise). */
function appWith(build: (stack: Stack) => void, props: LogicalIdGuardProps = {}): { app: App; guard: LogicalIdGuard } {
  const app = new App({ outdir: path.join(dir, `out-${Math.random().toString(36).slice(2)}`) });
  build(new Stack(app, 'Svc', { env: ENV }));
  const guard = LogicalIdGuard.of(app, { lockFile, mode: LogicalIdLockMode.UPDATE, ...props });
  return { app, guard };
}

/** The validation errors of a synth ('' when it passes). */
function synthErrors(app: App): string {
  try {
    app.synth();
    return '';
  } catch (err) {
    return (err as Error).message;
  }
}

/** Synthesizes `build` once to write the lock; returns the lock text. */
function lockWith(build: (stack: Stack) => void, props: LogicalIdGuardProps = {}): string {
  expect(synthErrors(appWith(build, props).app)).toBe('');
  return fs.readFileSync(lockFile, 'utf8');
}

const readLock = (): any => JSON.parse(fs.readFileSync(lockFile, 'utf8'));

/** The `cdk refactor --override-file` JSON printed in a synth error. */
function overrideFileIn(message: string): any {
  const start = message.indexOf('{\n  "environments"');
  expect(start).toBeGreaterThan(-1);
  let depth = 0;
  for (let i = start; i < message.length; i++) {
    if (message[i] === '{') depth++;
    if (message[i] === '}' && --depth === 0) return JSON.parse(message.slice(start, i + 1));
  }
  throw new Error('unterminated JSON');
}

describe('the lock file', () => {
  const build = (stack: Stack) => {
    new sqs.Queue(stack, 'Orders');
    new dynamodb.Table(stack, 'Customers', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } });
    new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  };

  test('is written on the first synth with the stateful resources only, keyed by stack name and construct path', () => {
    lockWith(build);
    const lock = readLock();
    expect(lock.version).toBe(1);
    expect(Object.keys(lock.stacks)).toEqual(['Svc']);
    expect(lock.stacks.Svc.stackName).toBe('Svc');
    expect(lock.stacks.Svc.resources).toEqual({
      'Customers/Resource': { logicalId: expect.stringMatching(/^Customers[0-9A-F]{8}$/), type: 'AWS::DynamoDB::Table' },
      'Orders/Resource': { logicalId: expect.stringMatching(/^Orders[0-9A-F]{8}$/), type: 'AWS::SQS::Queue' },
    });
  });

  test('is stable: sorted keys at every level, no timestamps, one trailing newline, byte-identical over two synths', () => {
    const first = lockWith(build);
    fs.rmSync(lockFile);
    const second = lockWith(build);
    expect(second).toBe(first);
    expect(first.endsWith('}\n')).toBe(true);
    expect(first.endsWith('\n\n')).toBe(false);
    expect(first).not.toMatch(/\d{4}-\d{2}-\d{2}/);
    const checkSorted = (v: unknown): void => {
      if (!v || typeof v !== 'object' || Array.isArray(v)) return;
      const keys = Object.keys(v);
      expect(keys).toEqual([...keys].sort());
      keys.forEach((k) => checkSorted((v as Record<string, unknown>)[k]));
    };
    checkSorted(JSON.parse(first));
  });

  test('an unchanged app leaves the file untouched (not even rewritten)', () => {
    lockWith(build);
    const before = fs.statSync(lockFile).mtimeMs;
    fs.utimesSync(lockFile, new Date(0), new Date(0));
    expect(synthErrors(appWith(build).app)).toBe('');
    expect(fs.statSync(lockFile).mtimeMs).toBe(0);
    expect(before).toBeGreaterThan(0);
  });

  test('new stateful resources are added in UPDATE mode (the file changes; review sees it)', () => {
    lockWith(build);
    expect(synthErrors(appWith((s) => { build(s); new sqs.Queue(s, 'Refunds'); }).app)).toBe('');
    expect(Object.keys(readLock().stacks.Svc.resources)).toContain('Refunds/Resource');
  });

  test('VERIFY mode never writes: a missing lock and a lock missing new resources fail synth', () => {
    const missing = synthErrors(appWith(build, { mode: LogicalIdLockMode.VERIFY }).app);
    expect(missing).toMatch(/no lock file at .*logical-ids\.lock\.json \(mode VERIFY\)/);
    expect(fs.existsSync(lockFile)).toBe(false);

    const text = lockWith(build);
    const outdated = synthErrors(appWith((s) => { build(s); new sqs.Queue(s, 'Refunds'); }, { mode: LogicalIdLockMode.VERIFY }).app);
    expect(outdated).toMatch(/out of date \(mode VERIFY\): new: Svc\/Refunds\/Resource \(AWS::SQS::Queue\)/);
    expect(fs.readFileSync(lockFile, 'utf8')).toBe(text);
    expect(synthErrors(appWith(build, { mode: LogicalIdLockMode.VERIFY }).app)).toBe('');
  });

  test('a corrupt lock file (e.g. a merge conflict) fails synth with what is wrong', () => {
    fs.writeFileSync(lockFile, '<<<<<<< HEAD\n{}');
    expect(synthErrors(appWith(build).app)).toMatch(/is not valid JSON [\s\S]*a merge conflict\?/);
  });

  test('renderLock() gives what UPDATE mode writes', () => {
    const { app, guard } = appWith(build);
    expect(synthErrors(app)).toBe('');
    expect(guard.renderLock()).toBe(fs.readFileSync(lockFile, 'utf8'));
  });
});

describe('refactors that replace a stateful resource fail synth', () => {
  test('renaming a construct id: the old ID, the new one, pin and refactor remedies', () => {
    lockWith((s) => { new sqs.Queue(s, 'Orders'); });
    const oldId = readLock().stacks.Svc.resources['Orders/Resource'].logicalId;
    const before = fs.readFileSync(lockFile, 'utf8');
    const err = synthErrors(appWith((s) => { new sqs.Queue(s, 'OrderQueue'); }).app);
    expect(err).toContain(`stack 'Svc': Orders/Resource (AWS::SQS::Queue), logical ID ${oldId}, is gone; it most likely moved to Svc/OrderQueue/Resource`);
    expect(err).toContain(`LogicalIdGuard.pin(<the construct at Svc/OrderQueue>, '${oldId}')`);
    expect(err).toContain(`guard.acknowledgeReplacement('Svc', '${oldId}', '<why>')`);
    expect(err).toMatch(/1 locked stateful resource\(s\) would be replaced/);
    // the lock keeps the deployed state
    expect(fs.readFileSync(lockFile, 'utf8')).toBe(before);
  });

  test('a same path with a new logical ID (an overrideLogicalId removed) is named as such', () => {
    lockWith((s) => { (new sqs.Queue(s, 'Orders').node.defaultChild as CfnResource).overrideLogicalId('OrdersQueue'); });
    const err = synthErrors(appWith((s) => { new sqs.Queue(s, 'Orders'); }).app);
    expect(err).toMatch(/stack 'Svc': Orders\/Resource \(AWS::SQS::Queue\): its logical ID changes from OrdersQueue to Orders[0-9A-F]{8}\./);
  });

  test('wrapping a queue in a new construct with a dead-letter queue: the queue is paired, the DLQ named as the other candidate', () => {
    lockWith((s) => { new sqs.Queue(s, 'OrdersQueue'); });
    const err = synthErrors(appWith((s) => {
      const orders = new Construct(s, 'Orders');
      const dlq = new sqs.Queue(orders, 'DeadLetterQueue');
      new sqs.Queue(orders, 'Queue', { deadLetterQueue: { queue: dlq, maxReceiveCount: 3 } });
    }).app);
    expect(err).toMatch(/OrdersQueue\/Resource \(AWS::SQS::Queue\), logical ID OrdersQueue[0-9A-F]{8}, is gone; it most likely moved to Svc\/Orders\/Queue\/Resource/);
    expect(err).toContain('other new AWS::SQS::Queue resources it may be: Svc/Orders/DeadLetterQueue/Resource');
  });

  test('a fixed queueName and a moved construct: the "already exists" error, apart', () => {
    lockWith((s) => { new sqs.Queue(s, 'Orders', { queueName: 'orders' }); });
    expect(readLock().stacks.Svc.resources['Orders/Resource'].physicalName).toBe('orders');
    const err = synthErrors(appWith((s) => { new sqs.Queue(new Construct(s, 'Fulfillment'), 'Orders', { queueName: 'orders' }); }).app);
    expect(err).toContain('most likely moved to Svc/Fulfillment/Orders/Resource');
    expect(err).toMatch(/Svc\/Fulfillment\/Orders\/Resource \(AWS::SQS::Queue\) keeps its fixed physical name 'orders' under a new logical ID/);
    expect(err).toContain('the deploy fails with "orders already exists"');
  });

  test('a fixed name changed together with the logical ID is its own error; a name change alone is a replacement too', () => {
    lockWith((s) => { new dynamodb.Table(s, 'Orders', { tableName: 'orders', partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } }); });
    const both = synthErrors(appWith((s) => {
      new dynamodb.Table(s, 'OrderTable', { tableName: 'orders-v2', partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } });
    }).app);
    expect(both).toContain("changes its fixed physical name ('orders' -> 'orders-v2') together with its logical ID");
    const nameOnly = synthErrors(appWith((s) => {
      new dynamodb.Table(s, 'Orders', { tableName: 'orders-v2', partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } });
    }).app);
    expect(nameOnly).toMatch(/its fixed physical name changes from 'orders' to 'orders-v2'\. The name is a replacement property/);
  });

  test('physical names are locked without the concrete account and region (the lock does not depend on the environment)', () => {
    lockWith((s) => { new sqs.Queue(s, 'Orders', { queueName: `orders-${s.account}-${s.region}` }); });
    expect(readLock().stacks.Svc.resources['Orders/Resource'].physicalName).toBe('orders-${AWS::AccountId}-${AWS::Region}');
  });

  test('deleting a stateful resource fails; acknowledging it passes and the lock drops it', () => {
    lockWith((s) => { new sqs.Queue(s, 'Orders'); new sqs.Queue(s, 'Scratch'); });
    const scratchId = readLock().stacks.Svc.resources['Scratch/Resource'].logicalId;
    const build = (s: Stack) => { new sqs.Queue(s, 'Orders'); new iam.Role(s, 'Role', { assumedBy: new iam.AccountRootPrincipal() }); };
    expect(synthErrors(appWith(build).app)).toContain(`Scratch/Resource (AWS::SQS::Queue), logical ID ${scratchId}, is gone and no new AWS::SQS::Queue took its place`);
    expect(synthErrors(appWith(build, { acknowledgements: [{ stack: 'Svc', resource: scratchId, reason: 'Scratch queue, nothing in flight' }] }).app)).toBe('');
    expect(Object.keys(readLock().stacks.Svc.resources)).toEqual(['Orders/Resource']);
  });

  test('another type under the same logical ID is no match (CloudFormation cannot change a resource\'s type): the old one is gone', () => {
    lockWith((s) => { new sqs.Queue(s, 'Orders'); });
    const err = synthErrors(appWith((s) => { new iam.Role(s, 'Orders', { assumedBy: new iam.AccountRootPrincipal() }); }).app);
    expect(err).toMatch(/Orders\/Resource \(AWS::SQS::Queue\), logical ID Orders[0-9A-F]{8}, is gone and no new AWS::SQS::Queue took its place/);
  });

  test('VERIFY mode: an acknowledged replacement passes the check but the lock must have been updated (run in UPDATE and commit)', () => {
    const text = lockWith((s) => { new sqs.Queue(s, 'Orders'); });
    const { app, guard } = appWith((s) => { new sqs.Queue(s, 'OrderQueue'); }, { mode: LogicalIdLockMode.VERIFY });
    guard.acknowledgeReplacement('Svc', 'Orders/Resource', 'buffer only');
    const err = synthErrors(app);
    expect(err).toMatch(/out of date \(mode VERIFY\): acknowledged: Svc\/Orders\/Resource \(Orders[0-9A-F]{8} -> Svc\/OrderQueue\/Resource, OrderQueue[0-9A-F]{8}\)/);
    expect(err).not.toContain('would be replaced');
    expect(fs.readFileSync(lockFile, 'utf8')).toBe(text);
  });

  test('two stacks with one stack name (one per region) are told apart by construct path', () => {
    const app = new App({ outdir: path.join(dir, 'regions') });
    new sqs.Queue(new Stack(app, 'UsEast1', { stackName: 'Api', env: { account: ENV.account, region: 'us-east-1' } }), 'Orders');
    new sqs.Queue(new Stack(app, 'EuWest1', { stackName: 'Api', env: ENV }), 'Orders');
    LogicalIdGuard.of(app, { lockFile, mode: LogicalIdLockMode.UPDATE });
    expect(synthErrors(app)).toBe('');
    expect(Object.keys(readLock().stacks)).toEqual(['Api (EuWest1)', 'Api (UsEast1)']);
  });

  test('a second stack with the same name re-keys the first in the lock without reporting its resources as moved', () => {
    const first = new App({ outdir: path.join(dir, 'one') });
    new sqs.Queue(new Stack(first, 'EuWest1', { stackName: 'Api', env: ENV }), 'Orders');
    LogicalIdGuard.of(first, { lockFile, mode: LogicalIdLockMode.UPDATE });
    expect(synthErrors(first)).toBe('');
    expect(Object.keys(readLock().stacks)).toEqual(['Api']);
    const lockedId = readLock().stacks.Api.resources['Orders/Resource'].logicalId;

    const both = new App({ outdir: path.join(dir, 'two') });
    new sqs.Queue(new Stack(both, 'EuWest1', { stackName: 'Api', env: ENV }), 'Orders');
    new sqs.Queue(new Stack(both, 'UsEast1', { stackName: 'Api', env: { account: ENV.account, region: 'us-east-1' } }), 'Orders');
    LogicalIdGuard.of(both, { lockFile, mode: LogicalIdLockMode.UPDATE });
    expect(synthErrors(both)).toBe('');
    const stacks = readLock().stacks;
    expect(Object.keys(stacks)).toEqual(['Api (EuWest1)', 'Api (UsEast1)']);
    expect(stacks['Api (EuWest1)'].resources['Orders/Resource'].logicalId).toBe(lockedId);
  });

  test('moving a resource to another stack prints a cross-stack mapping', () => {
    lockWith((s) => { new sqs.Queue(s, 'Orders'); new sqs.Queue(s, 'Keep'); });
    const oldId = readLock().stacks.Svc.resources['Orders/Resource'].logicalId;
    const app = new App({ outdir: path.join(dir, 'x') });
    const svc = new Stack(app, 'Svc', { env: ENV });
    new sqs.Queue(svc, 'Keep');
    new sqs.Queue(new Stack(app, 'Data', { env: ENV }), 'Orders');
    LogicalIdGuard.of(app, { lockFile, mode: LogicalIdLockMode.UPDATE });
    const err = synthErrors(app);
    expect(err).toContain('it most likely moved to Data/Orders/Resource (stack Data)');
    expect(err).toContain('move it back to its old stack');
    expect(overrideFileIn(err).environments[0].resources).toEqual({ [`Svc.${oldId}`]: `Data.${oldId}` });
  });
});

describe('the remedies', () => {
  test('pinning the old ID resolves a move; the lock takes the new path', () => {
    lockWith((s) => { new sqs.Queue(s, 'Orders'); });
    const oldId = readLock().stacks.Svc.resources['Orders/Resource'].logicalId;
    const moved = (s: Stack) => new sqs.Queue(new Construct(s, 'Fulfillment'), 'Orders');
    expect(synthErrors(appWith((s) => { moved(s); }).app)).not.toBe('');
    const { app } = appWith((s) => { LogicalIdGuard.pin(moved(s), oldId); });
    expect(synthErrors(app)).toBe('');
    expect(readLock().stacks.Svc.resources).toEqual({ 'Fulfillment/Orders/Resource': { logicalId: oldId, type: 'AWS::SQS::Queue' } });
    expect((app.synth().getStackByName('Svc').template as any).Resources[oldId].Type).toBe('AWS::SQS::Queue');
  });

  test('pin() accepts the L1 itself and refuses a construct without a CloudFormation default child, or a bad ID', () => {
    const stack = new Stack(new App(), 'S');
    const q = new sqs.Queue(stack, 'Q');
    LogicalIdGuard.pin(q.node.defaultChild!, 'Pinned');
    expect(stack.resolve((q.node.defaultChild as CfnResource).logicalId)).toBe('Pinned');
    expect(() => LogicalIdGuard.pin(new Construct(stack, 'Plain'), 'X')).toThrow(/no CloudFormation element/);
    expect(() => LogicalIdGuard.pin(q, 'not-an-id')).toThrow(/is no logical ID/);
  });

  test('the `cdk refactor --override-file` mapping: environments / account / region / StackName.LogicalId, old to new', () => {
    lockWith((s) => { new sqs.Queue(s, 'Orders'); new dynamodb.Table(s, 'Customers', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } }); });
    const old = readLock().stacks.Svc.resources;
    let queue: sqs.Queue | undefined;
    let table: dynamodb.Table | undefined;
    const { app } = appWith((s) => {
      const domain = new Construct(s, 'Domain');
      queue = new sqs.Queue(domain, 'Orders');
      table = new dynamodb.Table(domain, 'Customers', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } });
    });
    const err = synthErrors(app);
    expect(err).toContain('cdk refactor --unstable=refactor --override-file refactor-overrides.json');
    const idOf = (c: Construct) => Stack.of(c).resolve((c.node.defaultChild as CfnResource).logicalId);
    expect(overrideFileIn(err)).toEqual({
      environments: [{
        account: ENV.account,
        region: ENV.region,
        resources: {
          [`Svc.${old['Orders/Resource'].logicalId}`]: `Svc.${idOf(queue!)}`,
          [`Svc.${old['Customers/Resource'].logicalId}`]: `Svc.${idOf(table!)}`,
        },
      }],
    });
  });

  test('an environment-agnostic stack gets <account>/<region> placeholders in the mapping', () => {
    const agnostic = (build: (s: Stack) => void, mode = LogicalIdLockMode.UPDATE) => {
      const app = new App({ outdir: path.join(dir, `a${Math.random()}`) });
      build(new Stack(app, 'Svc'));
      LogicalIdGuard.of(app, { lockFile, mode });
      return synthErrors(app);
    };
    expect(agnostic((s) => { new sqs.Queue(s, 'Orders'); })).toBe('');
    const file = overrideFileIn(agnostic((s) => { new sqs.Queue(s, 'Queue'); }));
    expect(file.environments[0]).toMatchObject({ account: '<account>', region: '<region>' });
  });

  test('an acknowledgement with a reason lets the replacement through and the lock takes the new ID', () => {
    lockWith((s) => { new sqs.Queue(s, 'Orders'); });
    const { app, guard } = appWith((s) => { new sqs.Queue(s, 'OrderQueue'); });
    guard.acknowledgeReplacement('Svc', 'Orders/Resource', 'The queue only buffers retries; an empty new one is fine.');
    expect(synthErrors(app)).toBe('');
    expect(Object.keys(readLock().stacks.Svc.resources)).toEqual(['OrderQueue/Resource']);
  });

  test('`*` acknowledges every replacement and deletion of one stack (a stack rebuilt on purpose), and only of that stack', () => {
    lockWith((s) => { new sqs.Queue(s, 'Orders'); new sqs.Queue(s, 'Refunds'); });
    const rebuilt = (s: Stack) => { new iam.Role(s, 'Role', { assumedBy: new iam.AccountRootPrincipal() }); };
    expect(synthErrors(appWith(rebuilt, { acknowledgements: [{ stack: 'Other', resource: '*', reason: 'rebuilt' }] }).app)).toMatch(/2 locked stateful/);
    expect(synthErrors(appWith(rebuilt, { acknowledgements: [{ stack: 'Svc', resource: '*', reason: 'rebuilt from backups' }] }).app)).toBe('');
    expect(readLock().stacks).toEqual({});
  });

  test('an acknowledgement without a reason is an error', () => {
    const { guard } = appWith((s) => { new sqs.Queue(s, 'Orders'); });
    expect(() => guard.acknowledgeReplacement('Svc', 'Orders/Resource', '')).toThrow(/reason.*empty reason is not an acknowledgement/);
    expect(() => guard.acknowledgeReplacement('Svc', 'Orders/Resource', '   ')).toThrow(/reason/);
    expect(() => appWith(() => undefined, { acknowledgements: [{ stack: 'Svc', resource: 'X', reason: '' }] })).toThrow(/reason/);
  });

  test('a stale acknowledgement (matching no replacement) is reported as a warning', () => {
    lockWith((s) => { new sqs.Queue(s, 'Orders'); });
    const { app, guard } = appWith((s) => { new sqs.Queue(s, 'Orders'); });
    guard.acknowledgeReplacement('Svc', 'OrdersGone', 'moved with cdk refactor');
    expect(synthErrors(app)).toBe('');
    const messages = app.synth().getStackByName('Svc').messages.map((m) => `${m.level} ${String(m.entry.data)}`);
    expect(messages.some((m) => m.startsWith('warning') && m.includes('acknowledgement of Svc/OrdersGone') && m.includes('matches no replacement'))).toBe(true);
  });
});

describe('what is tracked', () => {
  test('moving non-stateful resources (an IAM role, a Lambda function) passes and leaves the lock as it was', () => {
    const fn = (scope: Construct) => new lambda.Function(scope, 'Fn', {
      runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => 1;'),
    });
    const text = lockWith((s) => { new sqs.Queue(s, 'Orders'); new iam.Role(s, 'Role', { assumedBy: new iam.AccountRootPrincipal() }); fn(s); });
    const { app } = appWith((s) => {
      new sqs.Queue(s, 'Orders');
      const moved = new Construct(s, 'Moved');
      new iam.Role(moved, 'Role', { assumedBy: new iam.AccountRootPrincipal() });
      fn(moved);
    });
    expect(synthErrors(app)).toBe('');
    expect(fs.readFileSync(lockFile, 'utf8')).toBe(text);
  });

  test('any resource with DeletionPolicy Retain, RetainExceptOnCreate or Snapshot is tracked, whatever its type', () => {
    // Every type that supports Snapshot is tracked by default anyway, so a DocumentDB instance stands in (its
    // template warning "Snapshot is not supported here" is printed by aws-cdk-lib; silence it).
    const quiet = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    afterTest.push(() => quiet.mockRestore());
    lockWith((s) => {
      new iam.Role(s, 'KeptRole', { assumedBy: new iam.AccountRootPrincipal() }).applyRemovalPolicy(RemovalPolicy.RETAIN);
      new CfnResource(s, 'Snap', { type: 'AWS::DocDB::DBInstance', properties: { DBClusterIdentifier: 'c', DBInstanceClass: 'db.r5.large' } }).applyRemovalPolicy(RemovalPolicy.SNAPSHOT);
      new CfnResource(s, 'Raw', { type: 'AWS::EC2::EIP' }).addOverride('DeletionPolicy', 'RetainExceptOnCreate');
      new iam.Role(s, 'Role', { assumedBy: new iam.AccountRootPrincipal() });
    });
    expect(readLock().stacks.Svc.resources).toEqual({
      'KeptRole/Resource': { logicalId: expect.stringMatching(/^KeptRole/), type: 'AWS::IAM::Role' },
      'Raw': { logicalId: 'Raw', type: 'AWS::EC2::EIP' },
      'Snap': { logicalId: 'Snap', type: 'AWS::DocDB::DBInstance' },
    });
    const err = synthErrors(appWith((s) => {
      new iam.Role(new Construct(s, 'Moved'), 'KeptRole', { assumedBy: new iam.AccountRootPrincipal() }).applyRemovalPolicy(RemovalPolicy.RETAIN);
      new CfnResource(s, 'Snap', { type: 'AWS::DocDB::DBInstance', properties: { DBClusterIdentifier: 'c', DBInstanceClass: 'db.r5.large' } }).applyRemovalPolicy(RemovalPolicy.SNAPSHOT);
      new CfnResource(s, 'Raw', { type: 'AWS::EC2::EIP' }).addOverride('DeletionPolicy', 'RetainExceptOnCreate');
    }).app);
    expect(err).toMatch(/KeptRole\/Resource \(AWS::IAM::Role\), logical ID KeptRole[0-9A-F]{8}, is gone; it most likely moved to Svc\/Moved\/KeptRole\/Resource/);
  });

  test('retained Lambda versions (new ID per code change, by design) are not tracked', () => {
    lockWith((s) => {
      const f = new lambda.Function(s, 'Fn', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = 1') });
      void f.currentVersion;
    });
    expect(Object.values(readLock().stacks.Svc?.resources ?? {}).map((r: any) => r.type)).not.toContain('AWS::Lambda::Version');
  });

  test('the type list can be extended: statefulTypes adds to the defaults; ignoredTypes removes', () => {
    const build = (s: Stack) => { new route53.HostedZone(s, 'Zone', { zoneName: 'example.com' }); new sqs.Queue(s, 'Orders'); };
    lockWith(build);
    expect(Object.keys(readLock().stacks.Svc.resources)).toEqual(['Orders/Resource']);
    fs.rmSync(lockFile);
    lockWith(build, { statefulTypes: ['AWS::Route53::HostedZone'] });
    expect(Object.keys(readLock().stacks.Svc.resources)).toEqual(['Orders/Resource', 'Zone/Resource']);
    const err = synthErrors(appWith((s) => {
      new route53.HostedZone(s, 'PublicZone', { zoneName: 'example.com' });
      new sqs.Queue(s, 'Orders');
    }, { statefulTypes: ['AWS::Route53::HostedZone'] }).app);
    expect(err).toContain('Zone/Resource (AWS::Route53::HostedZone)');
    fs.rmSync(lockFile);
    lockWith(build, { ignoredTypes: ['AWS::SQS::Queue'] });
    expect(readLock().stacks).toEqual({});
    expect(() => appWith(build, { statefulTypes: ['HostedZone'] })).toThrow(/is no CloudFormation type/);
  });
});

describe('scopes and modes', () => {
  test('a Stage: its stacks keyed by stack name, other stages ignored', () => {
    const app = new App({ outdir: path.join(dir, 'stage') });
    const prod = new Stage(app, 'Prod', { env: ENV });
    new sqs.Queue(new Stack(prod, 'Api'), 'Orders');
    new dynamodb.Table(new Stack(prod, 'Data'), 'Customers', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } });
    new sqs.Queue(new Stack(new Stage(app, 'Dev', { env: ENV }), 'Api'), 'Orders');
    LogicalIdGuard.of(prod, { lockFile, mode: LogicalIdLockMode.UPDATE });
    expect(synthErrors(app)).toBe('');
    expect(Object.keys(readLock().stacks)).toEqual(['Prod-Api', 'Prod-Data']);

    const moved = new App({ outdir: path.join(dir, 'stage2') });
    const prod2 = new Stage(moved, 'Prod', { env: ENV });
    new sqs.Queue(new Stack(prod2, 'Api'), 'OrderQueue');
    new dynamodb.Table(new Stack(prod2, 'Data'), 'Customers', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } });
    LogicalIdGuard.of(prod2, { lockFile, mode: LogicalIdLockMode.UPDATE });
    const err = synthErrors(moved);
    expect(err).toContain("stack 'Prod-Api': Orders/Resource (AWS::SQS::Queue)");
    expect(overrideFileIn(err).environments[0].resources).toEqual({
      [`Prod-Api.${readLock().stacks['Prod-Api'].resources['Orders/Resource'].logicalId}`]: expect.stringMatching(/^Prod-Api\.OrderQueue[0-9A-F]{8}$/),
    });
  });

  test('a Stack: only that stack is locked', () => {
    const app = new App({ outdir: path.join(dir, 'stack') });
    const api = new Stack(app, 'Api');
    new sqs.Queue(api, 'Orders');
    new sqs.Queue(new Stack(app, 'Other'), 'Orders');
    LogicalIdGuard.of(api, { lockFile, mode: LogicalIdLockMode.UPDATE });
    expect(synthErrors(app)).toBe('');
    expect(Object.keys(readLock().stacks)).toEqual(['Api']);
  });

  test('of() returns the scope\'s guard; props twice, or a scope that is no App/Stage/Stack, are errors', () => {
    const { app, guard } = appWith(() => undefined);
    expect(LogicalIdGuard.of(app)).toBe(guard);
    expect(() => LogicalIdGuard.of(app, { lockFile })).toThrow(/already has a LogicalIdGuard/);
    expect(() => LogicalIdGuard.of(new Construct(new Stack(app, 'S2'), 'C'))).toThrow(/must be an App, a Stage or a Stack/);
  });

  describe('default mode', () => {
    const saved = { ...process.env };
    afterEach(() => { process.env = { ...saved }; });
    const build = (s: Stack) => { new sqs.Queue(s, 'Orders'); };
    const run = (context?: Record<string, string>) => {
      const app = new App({ outdir: path.join(dir, `m${Math.random()}`), context });
      build(new Stack(app, 'Svc', { env: ENV }));
      LogicalIdGuard.of(app, { lockFile });
      return synthErrors(app);
    };

    test('UPDATE when the CDK CLI runs the app outside CI', () => {
      delete process.env.CI;
      delete process.env.CODEBUILD_BUILD_ID;
      process.env.CDK_CLI_VERSION = '2.1148.1';
      expect(run()).toBe('');
      expect(fs.existsSync(lockFile)).toBe(true);
    });

    test('VERIFY in CI (a forgotten lock file fails the build), and outside the CLI (tests, scripts)', () => {
      process.env.CDK_CLI_VERSION = '2.1148.1';
      process.env.CI = 'true';
      expect(run()).toMatch(/no lock file/);
      delete process.env.CI;
      delete process.env.CDK_CLI_VERSION;
      delete process.env.CODEBUILD_BUILD_ID;
      expect(run()).toMatch(/no lock file/);
      expect(fs.existsSync(lockFile)).toBe(false);
    });

    test('the context key decides over the environment; a bad value is an error', () => {
      process.env.CI = 'true';
      expect(run({ 'logical-id-guard:mode': 'update' })).toBe('');
      expect(fs.existsSync(lockFile)).toBe(true);
      expect(run({ 'logical-id-guard:mode': 'sometimes' })).toMatch(/must be 'update' or 'verify'/);
    });
  });
});
