import { ExecutionAlreadyExists, SFNClient, SFNServiceException, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { discriminatorFor, executionNameFor } from '../../src/agent-workflow/runtime/execution-name';
import type * as Starter from '../../src/agent-workflow/runtime/starter.lambda';

const ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:AgentWorkflow';
const sfnMock = mockClient(SFNClient);

// The module checks STATE_MACHINE_ARN when it loads (cold start): set it first.
let starter: typeof Starter;
const STARTER_MODULE = '../../src/agent-workflow/runtime/starter.lambda';
beforeAll(() => {
  process.env.STATE_MACHINE_ARN = ARN;
  starter = jest.requireActual<typeof Starter>(STARTER_MODULE);
});
beforeEach(() => sfnMock.reset());

const VALID_NAME = /^[A-Za-z0-9_-]{1,80}$/;

/** An EventBridge S3 "Object Created" event (documented shape), as EventBridge writes it to SQS. */
function objectCreatedBody(key: string, opts: { versionId?: string; sequencer?: string; detailType?: string } = {}): string {
  const object: Record<string, unknown> = { key, size: 2048, etag: 'd41d8cd98f00b204e9800998ecf8427e', sequencer: opts.sequencer ?? '0062E99A88DC407460' };
  if (opts.versionId) object['version-id'] = opts.versionId;
  return JSON.stringify({
    'version': '0',
    'id': '2d4eba74-fd51-3966-4bfa-b013c9da8ff1',
    'detail-type': opts.detailType ?? 'Object Created',
    'source': 'aws.s3',
    'account': '123456789012',
    'time': '2024-08-02T22:22:00Z',
    'region': 'eu-west-1',
    'resources': ['arn:aws:s3:::acme-input'],
    'detail': {
      'version': '0',
      'bucket': { name: 'acme-input' },
      object,
      'request-id': 'N4N7GDK58NMKJ12R',
      'requester': '123456789012',
      'source-ip-address': '198.51.100.7',
      'reason': 'PutObject',
    },
  });
}

function record(messageId: string, body: string): SQSRecord {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1722637320000',
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: '1722637320001',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:agent-workflow-trigger',
    awsRegion: 'eu-west-1',
  };
}

const sqsEvent = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

function recorder() {
  const info = jest.fn();
  const error = jest.fn();
  return { log: { info, error } as unknown as Starter.StarterLog, info, error };
}

function deps(log = recorder().log): Starter.StarterDeps {
  return { sfn: new SFNClient({}), stateMachineArn: ARN, log };
}

function sfnError(name: string, status = 400): SFNServiceException {
  return new SFNServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: name });
}

describe('starter', () => {
  test('starts one execution with the derived name and the WorkflowRequest input', async () => {
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: `${ARN}:x`, startDate: new Date() });
    const res = await starter.handle(sqsEvent(record('m1', objectCreatedBody('uploads/red+flower.jpg', { versionId: 'v-1' }))), deps());
    expect(res).toEqual({ batchItemFailures: [] });
    const expectedName = executionNameFor('acme-input', 'uploads/red flower.jpg', 'v-1');
    expect(sfnMock).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    const input = sfnMock.commandCalls(StartExecutionCommand)[0].args[0].input;
    expect(input.stateMachineArn).toBe(ARN);
    expect(input.name).toBe(expectedName);
    expect(input.name).toMatch(VALID_NAME);
    expect(JSON.parse(input.input!)).toEqual({ bucket: 'acme-input', key: 'uploads/red flower.jpg', versionId: 'v-1', actorId: null, sessionId: null });
  });

  test('an unversioned bucket: versionId null, name from the sequencer', async () => {
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: `${ARN}:x`, startDate: new Date() });
    await starter.handle(sqsEvent(record('m1', objectCreatedBody('uploads/%E6%97%A5%E6%9C%AC+%F0%9F%93%B7.png', { sequencer: 'SEQ-1' }))), deps());
    const input = sfnMock.commandCalls(StartExecutionCommand)[0].args[0].input;
    expect(JSON.parse(input.input!)).toEqual(expect.objectContaining({ key: 'uploads/日本 📷.png', versionId: null }));
    expect(input.name).toBe(executionNameFor('acme-input', 'uploads/日本 📷.png', discriminatorFor({ versionId: null, sequencer: 'SEQ-1' })));
  });

  test('the same event delivered twice: same name; ExecutionAlreadyExists counts as handled', async () => {
    sfnMock.on(StartExecutionCommand)
      .resolvesOnce({ executionArn: `${ARN}:x`, startDate: new Date() })
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));
    const body = objectCreatedBody('uploads/a.jpg', { versionId: 'v-1' });
    const { log, info, error } = recorder();
    const first = await starter.handle(sqsEvent(record('m1', body)), deps(log));
    const second = await starter.handle(sqsEvent(record('m2', body)), deps(log));
    expect(first.batchItemFailures).toEqual([]);
    expect(second.batchItemFailures).toEqual([]);
    const names = sfnMock.commandCalls(StartExecutionCommand).map((c) => c.args[0].input.name);
    expect(names[0]).toBe(names[1]);
    expect(info).toHaveBeenCalledWith(expect.stringMatching(/Duplicate/), expect.objectContaining({ messageId: 'm2' }));
    expect(error).not.toHaveBeenCalled();
  });

  test('a re-upload (new version) gets a new execution', async () => {
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: `${ARN}:x`, startDate: new Date() });
    await starter.handle(sqsEvent(
      record('m1', objectCreatedBody('uploads/a.jpg', { versionId: 'v-1' })),
      record('m2', objectCreatedBody('uploads/a.jpg', { versionId: 'v-2' })),
    ), deps());
    const names = sfnMock.commandCalls(StartExecutionCommand).map((c) => c.args[0].input.name);
    expect(new Set(names).size).toBe(2);
  });

  test('throttled -> batch item failure (retried by SQS, then DLQ)', async () => {
    sfnMock.on(StartExecutionCommand).rejects(sfnError('ThrottlingException'));
    const { log, error } = recorder();
    const res = await starter.handle(sqsEvent(record('m1', objectCreatedBody('uploads/a.jpg'))), { ...deps(log), sfn: new SFNClient({ maxAttempts: 1 }) });
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(error).toHaveBeenCalledWith(expect.any(String), expect.objectContaining({ messageId: 'm1', error: 'ThrottlingException' }));
  });

  test('any other StartExecution error -> batch item failure', async () => {
    sfnMock.on(StartExecutionCommand).rejects(sfnError('StateMachineDoesNotExist'));
    const res = await starter.handle(sqsEvent(record('m1', objectCreatedBody('uploads/a.jpg'))), deps());
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
  });

  test.each([
    ['not json at all'],
    [JSON.stringify({ Records: [{ s3: { object: { key: 'a' } } }] })],
    [objectCreatedBody('bad%zzescape.jpg')],
  ])('malformed body -> logged error + batch item failure, nothing started: %#', async (body) => {
    const { log, error } = recorder();
    const res = await starter.handle(sqsEvent(record('bad', body)), deps(log));
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'bad' }]);
    expect(sfnMock).toHaveReceivedCommandTimes(StartExecutionCommand, 0);
    expect(error).toHaveBeenCalledWith('Malformed message', expect.objectContaining({ messageId: 'bad', error: expect.any(String) }));
  });

  test('events that are not "Object Created" are ignored, not failed', async () => {
    const { log, info } = recorder();
    const res = await starter.handle(sqsEvent(record('m1', objectCreatedBody('uploads/a.jpg', { detailType: 'Object Deleted' }))), deps(log));
    expect(res.batchItemFailures).toEqual([]);
    expect(sfnMock).toHaveReceivedCommandTimes(StartExecutionCommand, 0);
    expect(info).toHaveBeenCalledWith('Event ignored', expect.objectContaining({ messageId: 'm1', detailType: 'Object Deleted' }));
  });

  test('mixed batch: only the malformed and the throttled records fail', async () => {
    sfnMock.on(StartExecutionCommand)
      .resolves({ executionArn: `${ARN}:x`, startDate: new Date() })
      .on(StartExecutionCommand, { name: executionNameFor('acme-input', 'uploads/dup.jpg', 'v-1') })
      .rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }))
      .on(StartExecutionCommand, { name: executionNameFor('acme-input', 'uploads/throttled.jpg', 'v-1') })
      .rejects(sfnError('ThrottlingException'));
    const res = await starter.handle(sqsEvent(
      record('ok', objectCreatedBody('uploads/ok.jpg', { versionId: 'v-1' })),
      record('dup', objectCreatedBody('uploads/dup.jpg', { versionId: 'v-1' })),
      record('bad', '{"detail-type": "Object Created"'),
      record('throttled', objectCreatedBody('uploads/throttled.jpg', { versionId: 'v-1' })),
      record('ignored', objectCreatedBody('uploads/x.jpg', { detailType: 'Object Restore Completed' })),
    ), { ...deps(), sfn: new SFNClient({ maxAttempts: 1 }) });
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'bad' }, { itemIdentifier: 'throttled' }]);
    expect(sfnMock).toHaveReceivedCommandTimes(StartExecutionCommand, 3);
  });

  test('an empty batch is fine', async () => {
    await expect(starter.handle({ Records: [] }, deps())).resolves.toEqual({ batchItemFailures: [] });
  });
});

describe('starter configuration (cold start)', () => {
  test('readStateMachineArn names the variable', () => {
    expect(() => starter.readStateMachineArn({})).toThrow(/STATE_MACHINE_ARN is not set/);
    expect(() => starter.readStateMachineArn({ STATE_MACHINE_ARN: 'arn:aws:sqs:eu-west-1:123456789012:q' })).toThrow(/STATE_MACHINE_ARN is not a state machine ARN/);
    expect(starter.readStateMachineArn({ STATE_MACHINE_ARN: ARN })).toBe(ARN);
    expect(starter.readStateMachineArn({ STATE_MACHINE_ARN: 'arn:aws-cn:states:cn-north-1:123456789012:stateMachine:Wf:live' })).toContain(':live');
  });

  test('loading the module without STATE_MACHINE_ARN fails with the variable name', () => {
    const saved = process.env.STATE_MACHINE_ARN;
    delete process.env.STATE_MACHINE_ARN;
    try {
      jest.isolateModules(() => {
        expect(() => jest.requireActual(STARTER_MODULE)).toThrow(/STATE_MACHINE_ARN is not set/);
      });
    } finally {
      process.env.STATE_MACHINE_ARN = saved;
    }
  });

  test('handler uses the ARN read at cold start', async () => {
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: `${ARN}:x`, startDate: new Date() });
    await expect(starter.handler(sqsEvent(record('m1', objectCreatedBody('uploads/a.jpg'))))).resolves.toEqual({ batchItemFailures: [] });
    expect(sfnMock).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: ARN });
  });
});
