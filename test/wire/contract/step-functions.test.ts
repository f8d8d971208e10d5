/**
 * Contract of the Step Functions fake against the real SDK v3 client: requests the SDK builds parse
 * and do what Step Functions does, and every error the fake answers deserializes to the exception
 * class (and `name`) the handlers switch on.
 */
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  HistoryEvent,
  InvalidArn,
  InvalidExecutionInput,
  InvalidName,
  InvalidOutput,
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  SFNServiceException,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  TaskDoesNotExist,
  TaskTimedOut,
  ValidationException,
} from '@aws-sdk/client-sfn';
import { CONTRACT_CREDENTIALS, rejectionOf } from './kit';
import { StepFunctionsService, TASK_TIMED_OUT_MESSAGE } from '../../harness/aws/services/step-functions';
import { WireServer } from '../../harness/aws/wire-server';

const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:agent-workflow';
const credentials = CONTRACT_CREDENTIALS;

let wire: WireServer;
let sfn: StepFunctionsService;
let client: SFNClient;
/** No SDK retries: one request, one answer. */
let once: SFNClient;

beforeAll(async () => {
  sfn = new StepFunctionsService();
  wire = new WireServer().register(sfn);
  await wire.start();
  client = new SFNClient({ region: 'us-east-1', endpoint: wire.url, credentials });
  once = new SFNClient({ region: 'us-east-1', endpoint: wire.url, credentials, maxAttempts: 1 });
});

afterAll(async () => {
  client.destroy();
  once.destroy();
  await wire.stop();
});

/** The error a call rejects with (fails the test when it resolves). */
const rejection = (promise: Promise<unknown>) => rejectionOf<SFNServiceException>(promise);

describe('StartExecution', () => {
  test('starts an execution and records name, input and state machine', async () => {
    const input = JSON.stringify({ bucket: 'b', key: 'k' });
    const res = await client.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'run-1', input }));
    expect(res.executionArn).toBe('arn:aws:states:us-east-1:123456789012:execution:agent-workflow:run-1');
    expect(res.startDate).toBeInstanceOf(Date);
    expect(Math.abs(res.startDate!.getTime() - Date.now())).toBeLessThan(5000);
    const recorded = sfn.execution('run-1');
    expect(recorded).toMatchObject({ name: 'run-1', input, stateMachineArn: MACHINE, status: 'RUNNING', startCount: 1 });
    const call = wire.callsOf('states', 'StartExecution').at(-1);
    expect(call?.input).toEqual({ stateMachineArn: MACHINE, name: 'run-1', input });
  });

  test('same name and same input while running: the original execution, no new one', async () => {
    const input = JSON.stringify({ n: 2 });
    const first = await client.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'run-2', input }));
    const again = await client.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'run-2', input }));
    expect(again.executionArn).toBe(first.executionArn);
    expect(again.startDate!.getTime()).toBe(first.startDate!.getTime());
    expect(sfn.execution('run-2')?.startCount).toBe(2);
    expect(sfn.executions.filter((e) => e.name === 'run-2')).toHaveLength(1);
  });

  test('same name, different input: ExecutionAlreadyExists', async () => {
    await client.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'run-3', input: '{"a":1}' }));
    const err = await rejection(once.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'run-3', input: '{"a":2}' })));
    expect(err).toBeInstanceOf(ExecutionAlreadyExists);
    expect(err.name).toBe('ExecutionAlreadyExists');
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(sfn.execution('run-3')?.input).toBe('{"a":1}');
  });

  test('same name and input after the execution closed: ExecutionAlreadyExists', async () => {
    const res = await client.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'run-4', input: '{}' }));
    sfn.closeExecution(res.executionArn!, { status: 'SUCCEEDED', output: '{"ok":true}' });
    const err = await rejection(once.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'run-4', input: '{}' })));
    expect(err).toBeInstanceOf(ExecutionAlreadyExists);
  });

  test('the same name on another state machine is another execution', async () => {
    const other = 'arn:aws:states:us-east-1:123456789012:stateMachine:other';
    await client.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'shared', input: '{}' }));
    const res = await client.send(new StartExecutionCommand({ stateMachineArn: other, name: 'shared', input: '{"x":1}' }));
    expect(res.executionArn).toBe('arn:aws:states:us-east-1:123456789012:execution:other:shared');
  });

  test('no input is "{}", no name is a generated one', async () => {
    const res = await client.send(new StartExecutionCommand({ stateMachineArn: MACHINE }));
    const recorded = sfn.execution(res.executionArn!);
    expect(recorded?.input).toBe('{}');
    expect(recorded?.name).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('input that is not JSON: InvalidExecutionInput; a bad name: InvalidName; not an ARN: InvalidArn', async () => {
    expect(await rejection(once.send(new StartExecutionCommand({ stateMachineArn: MACHINE, input: '{not json' })))).toBeInstanceOf(InvalidExecutionInput);
    expect(await rejection(once.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'has space', input: '{}' })))).toBeInstanceOf(InvalidName);
    expect(await rejection(once.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'a/b', input: '{}' })))).toBeInstanceOf(InvalidName);
    expect(await rejection(once.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'x'.repeat(81), input: '{}' })))).toBeInstanceOf(InvalidName);
    expect(await rejection(once.send(new StartExecutionCommand({ stateMachineArn: 'arn:aws:sns:us-east-1:123456789012:topic', input: '{}' })))).toBeInstanceOf(InvalidArn);
  });

  test('input over 256 KiB (UTF-8 bytes): ValidationException', async () => {
    // 87,382 three-byte characters: under 262144 characters, over 262144 bytes.
    const input = JSON.stringify({ s: '€'.repeat(87382) });
    const err = await rejection(once.send(new StartExecutionCommand({ stateMachineArn: MACHINE, input })));
    expect(err).toBeInstanceOf(ValidationException);
  });

  test('registered machines: an unknown ARN is StateMachineDoesNotExist; a version ARN runs the machine', async () => {
    const own = new StepFunctionsService().registerStateMachine(MACHINE);
    const server = new WireServer().register(own);
    await server.start();
    const c = new SFNClient({ region: 'us-east-1', endpoint: server.url, credentials, maxAttempts: 1 });
    try {
      const err = await rejection(c.send(new StartExecutionCommand({ stateMachineArn: `${MACHINE}-missing`, input: '{}' })));
      expect(err).toBeInstanceOf(StateMachineDoesNotExist);
      expect(err.name).toBe('StateMachineDoesNotExist');
      const res = await c.send(new StartExecutionCommand({ stateMachineArn: `${MACHINE}:3`, name: 'v3', input: '{}' }));
      expect(res.executionArn).toBe('arn:aws:states:us-east-1:123456789012:execution:agent-workflow:v3');
      expect(own.execution('v3')).toMatchObject({ stateMachineArn: MACHINE, stateMachineVersionArn: `${MACHINE}:3` });
    } finally {
      c.destroy();
      await server.stop();
    }
  });
});

describe('DescribeExecution', () => {
  test('reports the execution as started, then as closed', async () => {
    const started = await client.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'describe-me', input: '{"q":1}' }));
    const running = await client.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
    expect(running).toMatchObject({ executionArn: started.executionArn, stateMachineArn: MACHINE, name: 'describe-me', status: 'RUNNING', input: '{"q":1}' });
    expect(running.startDate?.getTime()).toBe(started.startDate?.getTime());
    expect(running.stopDate).toBeUndefined();

    sfn.closeExecution(started.executionArn!, { status: 'FAILED', error: 'Approval.Rejected', cause: 'no' });
    const failed = await client.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
    expect(failed).toMatchObject({ status: 'FAILED', error: 'Approval.Rejected', cause: 'no', redriveStatus: 'REDRIVABLE' });
    expect(failed.stopDate).toBeInstanceOf(Date);
  });

  test('unknown execution: ExecutionDoesNotExist; not an execution ARN: InvalidArn', async () => {
    const missing = 'arn:aws:states:us-east-1:123456789012:execution:agent-workflow:nope';
    expect(await rejection(once.send(new DescribeExecutionCommand({ executionArn: missing })))).toBeInstanceOf(ExecutionDoesNotExist);
    expect(await rejection(once.send(new DescribeExecutionCommand({ executionArn: MACHINE })))).toBeInstanceOf(InvalidArn);
  });
});

describe('DescribeExecution of an execution a task token was issued for', () => {
  test('a token issued for an execution the fake did not start registers it: RUNNING, input "{}"', async () => {
    const arn = 'arn:aws:states:us-east-1:123456789012:execution:agent-workflow:staged-1';
    sfn.issueTaskToken({ executionArn: arn });
    const described = await client.send(new DescribeExecutionCommand({ executionArn: arn }));
    expect(described).toMatchObject({ executionArn: arn, stateMachineArn: MACHINE, name: 'staged-1', status: 'RUNNING', input: '{}' });
    expect(described.startDate).toBeInstanceOf(Date);
  });
});

describe('GetExecutionHistory', () => {
  const arnOf = (name: string) => `arn:aws:states:us-east-1:123456789012:execution:agent-workflow:${name}`;
  type PageOptions = Partial<{ reverseOrder: boolean; maxResults: number; nextToken: string; includeExecutionData: boolean }>;
  const pageOf = (executionArn: string, more: PageOptions = {}) =>
    client.send(new GetExecutionHistoryCommand({ executionArn, ...more }));
  const types = (events: HistoryEvent[] | undefined) => (events ?? []).map((e) => e.type);

  test('a started execution, a callback task answered with SendTaskSuccess, the execution closed: the events with their details, oldest first', async () => {
    const started = await client.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'history-1', input: '{"key":"claims/1.jpg"}' }));
    const token = sfn.issueTaskToken({ executionArn: started.executionArn, stateName: 'Request Approval', heartbeatSeconds: 3600 });
    const output = JSON.stringify({ outcome: 'APPROVED', approvalId: 'a-1' });
    await client.send(new SendTaskSuccessCommand({ taskToken: token, output }));
    sfn.closeExecution(started.executionArn!, { status: 'SUCCEEDED', output: '{"done":true}' });

    const res = await pageOf(started.executionArn!);
    expect(res.nextToken).toBeUndefined();
    const events = res.events!;
    expect(types(events)).toEqual([
      'ExecutionStarted', 'TaskStateEntered', 'TaskScheduled', 'TaskStarted', 'TaskSubmitted', 'TaskSucceeded', 'TaskStateExited', 'ExecutionSucceeded',
    ]);
    expect(events.map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(events.map((e) => e.previousEventId)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const e of events) expect(e.timestamp).toBeInstanceOf(Date);
    expect(events[0].executionStartedEventDetails).toMatchObject({ input: '{"key":"claims/1.jpg"}', inputDetails: { truncated: false } });
    expect(events[1].stateEnteredEventDetails).toMatchObject({ name: 'Request Approval' });
    expect(events[2].taskScheduledEventDetails).toMatchObject({ resourceType: 'lambda', resource: 'invoke.waitForTaskToken', region: 'us-east-1', heartbeatInSeconds: 3600 });
    expect(JSON.parse(events[2].taskScheduledEventDetails!.parameters!)).toMatchObject({ Payload: { taskToken: token } });
    expect(events[5].taskSucceededEventDetails).toEqual({ resourceType: 'lambda', resource: 'invoke.waitForTaskToken', output, outputDetails: { truncated: false } });
    expect(events[6].stateExitedEventDetails).toMatchObject({ name: 'Request Approval', output });
    expect(events[7].executionSucceededEventDetails).toMatchObject({ output: '{"done":true}' });
    expect(sfn.history(started.executionArn!).map((e) => e.type)).toEqual(types(events));
  });

  test('SendTaskFailure is a TaskFailed with error and cause; a timed-out task a TaskTimedOut; a failed execution an ExecutionFailed', async () => {
    const arn = arnOf('history-2');
    const rejected = sfn.issueTaskToken({ executionArn: arn });
    await client.send(new SendTaskFailureCommand({ taskToken: rejected, error: 'ApprovalRejected', cause: '{"outcome":"REJECTED"}' }));
    const late = sfn.issueTaskToken({ executionArn: arn, heartbeatSeconds: 60 });
    sfn.timeOutTask(late);
    sfn.closeExecution(arn, { status: 'FAILED', error: 'ApprovalTimedOut', cause: 'nobody answered' });
    const events = (await pageOf(arn)).events!;
    const failed = events.find((e) => e.type === 'TaskFailed')!;
    expect(failed.taskFailedEventDetails).toEqual({ resourceType: 'lambda', resource: 'invoke.waitForTaskToken', error: 'ApprovalRejected', cause: '{"outcome":"REJECTED"}' });
    expect(events.find((e) => e.type === 'TaskTimedOut')!.taskTimedOutEventDetails).toMatchObject({ resourceType: 'lambda', error: 'States.Timeout' });
    expect(events.at(-1)).toMatchObject({ type: 'ExecutionFailed', executionFailedEventDetails: { error: 'ApprovalTimedOut', cause: 'nobody answered' } });
  });

  test('a heartbeat timeout found when the history is read is a TaskTimedOut (States.HeartbeatTimeout)', async () => {
    const clocked = new StepFunctionsService();
    const server = new WireServer().register(clocked);
    await server.start();
    const c = new SFNClient({ region: 'us-east-1', endpoint: server.url, credentials, maxAttempts: 1 });
    try {
      const arn = arnOf('history-heartbeat');
      clocked.issueTaskToken({ executionArn: arn, heartbeatSeconds: 60 });
      clocked.advanceTime(61);
      const events = (await c.send(new GetExecutionHistoryCommand({ executionArn: arn }))).events!;
      expect(events.at(-1)).toMatchObject({ type: 'TaskTimedOut', taskTimedOutEventDetails: { error: 'States.HeartbeatTimeout' } });
    } finally {
      c.destroy();
      await server.stop();
    }
  });

  test('reverseOrder: newest first', async () => {
    const arn = arnOf('history-3');
    const token = sfn.issueTaskToken({ executionArn: arn });
    await client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }));
    const forward = (await pageOf(arn)).events!;
    const backward = (await pageOf(arn, { reverseOrder: true })).events!;
    expect(backward.map((e) => e.id)).toEqual(forward.map((e) => e.id).reverse());
    expect(backward[0].type).toBe('TaskStateExited');
  });

  test('paging: 100 events by default, maxResults up to 1000, nextToken until the last page; each page in order', async () => {
    const arn = arnOf('history-long');
    sfn.ensureExecution(arn);
    sfn.addStateEvents(arn, 2_499); // 2,500 events with ExecutionStarted
    const first = await pageOf(arn);
    expect(first.events).toHaveLength(100);
    expect(first.nextToken).toEqual(expect.any(String));

    const ids: number[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await pageOf(arn, { reverseOrder: true, maxResults: 1000, nextToken });
      ids.push(...page.events!.map((e) => e.id!));
      nextToken = page.nextToken;
      pages++;
    } while (nextToken);
    expect(pages).toBe(3);
    expect(ids).toEqual(Array.from({ length: 2500 }, (_, i) => 2500 - i));
  });

  test('a nextToken used with other arguments, or not one of ours: InvalidToken (HTTP 400); maxResults over 1000: ValidationException', async () => {
    const arn = arnOf('history-long');
    const { nextToken } = await pageOf(arn, { maxResults: 10 });
    const other = await rejection(once.send(new GetExecutionHistoryCommand({ executionArn: arn, maxResults: 10, reverseOrder: true, nextToken })));
    expect(other).toBeInstanceOf(InvalidToken);
    expect(other.$metadata.httpStatusCode).toBe(400);
    expect(await rejection(once.send(new GetExecutionHistoryCommand({ executionArn: arn, nextToken: 'bm90LWEtdG9rZW4=' })))).toBeInstanceOf(InvalidToken);
    expect(await rejection(once.send(new GetExecutionHistoryCommand({ executionArn: arn, maxResults: 1001 })))).toBeInstanceOf(ValidationException);
  });

  test('includeExecutionData: false leaves out input and output', async () => {
    const arn = arnOf('history-4');
    const token = sfn.issueTaskToken({ executionArn: arn });
    await client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"secret":1}' }));
    const events = (await pageOf(arn, { includeExecutionData: false })).events!;
    const succeeded = events.find((e) => e.type === 'TaskSucceeded')!;
    expect(succeeded.taskSucceededEventDetails).toEqual({ resourceType: 'lambda', resource: 'invoke.waitForTaskToken', outputDetails: { truncated: false } });
    expect(events[0].executionStartedEventDetails?.input).toBeUndefined();
    expect(JSON.stringify(events)).not.toContain('secret');
  });

  test('unknown execution: ExecutionDoesNotExist; not an execution ARN: InvalidArn', async () => {
    expect(await rejection(once.send(new GetExecutionHistoryCommand({ executionArn: arnOf('never') })))).toBeInstanceOf(ExecutionDoesNotExist);
    expect(await rejection(once.send(new GetExecutionHistoryCommand({ executionArn: MACHINE })))).toBeInstanceOf(InvalidArn);
  });

  test('a refused answer (TaskTimedOut) adds nothing to the history', async () => {
    const arn = arnOf('history-5');
    const token = sfn.issueTaskToken({ executionArn: arn });
    await client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }));
    const before = sfn.history(arn).length;
    expect(await rejection(once.send(new SendTaskFailureCommand({ taskToken: token, error: 'E' })))).toBeInstanceOf(TaskTimedOut);
    expect(sfn.history(arn)).toHaveLength(before);
  });
});

describe('task tokens', () => {
  test('a token looks like a real one: opaque base64, hundreds of characters, each unique', () => {
    const a = sfn.issueTaskToken();
    const b = sfn.issueTaskToken();
    expect(a).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    expect(a.length).toBeGreaterThan(500);
    expect(a.length).toBeLessThanOrEqual(2048);
    expect(a).not.toBe(b);
  });

  test('SendTaskSuccess closes the task with its output; a second answer is TaskTimedOut', async () => {
    const token = sfn.issueTaskToken();
    const output = JSON.stringify({ outcome: 'APPROVED', comment: 'ok' });
    await client.send(new SendTaskSuccessCommand({ taskToken: token, output }));
    expect(sfn.task(token)).toMatchObject({ status: 'SUCCEEDED', output });
    expect(sfn.task(token).answeredAt).toBeInstanceOf(Date);

    const again = await rejection(once.send(new SendTaskSuccessCommand({ taskToken: token, output })));
    expect(again).toBeInstanceOf(TaskTimedOut);
    expect(again.name).toBe('TaskTimedOut');
    expect(again.message).toBe(TASK_TIMED_OUT_MESSAGE);
    const failure = await rejection(once.send(new SendTaskFailureCommand({ taskToken: token, error: 'E' })));
    expect(failure).toBeInstanceOf(TaskTimedOut);
    // the first answer stands
    expect(sfn.task(token)).toMatchObject({ status: 'SUCCEEDED', output });
    expect(sfn.task(token).calls.map((c) => [c.action, c.error])).toEqual([
      ['SendTaskSuccess', undefined], ['SendTaskSuccess', 'TaskTimedOut'], ['SendTaskFailure', 'TaskTimedOut'],
    ]);
  });

  test('SendTaskFailure keeps error and cause', async () => {
    const token = sfn.issueTaskToken();
    await client.send(new SendTaskFailureCommand({ taskToken: token, error: 'Approval.Rejected', cause: '{"outcome":"REJECTED"}' }));
    expect(sfn.task(token)).toMatchObject({ status: 'FAILED', error: 'Approval.Rejected', cause: '{"outcome":"REJECTED"}' });
  });

  test('SendTaskHeartbeat is recorded and keeps a heartbeat-timed task alive', async () => {
    const clocked = new StepFunctionsService();
    const server = new WireServer().register(clocked);
    await server.start();
    const c = new SFNClient({ region: 'us-east-1', endpoint: server.url, credentials, maxAttempts: 1 });
    try {
      const token = clocked.issueTaskToken({ heartbeatSeconds: 300 });
      clocked.advanceTime(200);
      await c.send(new SendTaskHeartbeatCommand({ taskToken: token }));
      clocked.advanceTime(200); // 400 s since issue, 200 s since the heartbeat
      await c.send(new SendTaskHeartbeatCommand({ taskToken: token }));
      expect(clocked.task(token).heartbeats).toHaveLength(2);
      expect(clocked.task(token).status).toBe('OPEN');
      clocked.advanceTime(301);
      expect(await rejection(c.send(new SendTaskHeartbeatCommand({ taskToken: token })))).toBeInstanceOf(TaskTimedOut);
      expect(clocked.task(token).status).toBe('TIMED_OUT');
    } finally {
      c.destroy();
      await server.stop();
    }
  });

  test('a task past its TimeoutSeconds is TaskTimedOut', async () => {
    const clocked = new StepFunctionsService();
    const server = new WireServer().register(clocked);
    await server.start();
    const c = new SFNClient({ region: 'us-east-1', endpoint: server.url, credentials, maxAttempts: 1 });
    try {
      const token = clocked.issueTaskToken({ timeoutSeconds: 60 });
      clocked.advanceTime(61);
      expect(await rejection(c.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })))).toBeInstanceOf(TaskTimedOut);
    } finally {
      c.destroy();
      await server.stop();
    }
  });

  test('timeOutTask and closeExecution make every later call TaskTimedOut', async () => {
    const timedOut = sfn.issueTaskToken();
    sfn.timeOutTask(timedOut);
    expect(await rejection(once.send(new SendTaskSuccessCommand({ taskToken: timedOut, output: '{}' })))).toBeInstanceOf(TaskTimedOut);
    expect(await rejection(once.send(new SendTaskHeartbeatCommand({ taskToken: timedOut })))).toBeInstanceOf(TaskTimedOut);

    const started = await client.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'with-task', input: '{}' }));
    const linked = sfn.issueTaskToken({ executionArn: started.executionArn });
    const unrelated = sfn.issueTaskToken();
    sfn.closeExecution(started.executionArn!, { status: 'ABORTED' });
    expect(sfn.task(linked).status).toBe('CLOSED');
    expect(await rejection(once.send(new SendTaskFailureCommand({ taskToken: linked, error: 'E' })))).toBeInstanceOf(TaskTimedOut);
    await client.send(new SendTaskSuccessCommand({ taskToken: unrelated, output: '{}' }));
  });

  test('a well-formed token whose task is gone: TaskDoesNotExist', async () => {
    expect(await rejection(once.send(new SendTaskSuccessCommand({ taskToken: sfn.unknownTaskToken(), output: '{}' })))).toBeInstanceOf(TaskDoesNotExist);
    const forgotten = sfn.issueTaskToken();
    sfn.forgetTask(forgotten);
    const err = await rejection(once.send(new SendTaskHeartbeatCommand({ taskToken: forgotten })));
    expect(err).toBeInstanceOf(TaskDoesNotExist);
    expect(err.name).toBe('TaskDoesNotExist');
  });

  test('a malformed or tampered token: InvalidToken', async () => {
    const token = sfn.issueTaskToken();
    const tampered = `${token.slice(0, 100)}${token[100] === 'A' ? 'B' : 'A'}${token.slice(101)}`;
    for (const bad of ['not-a-token', token.slice(0, 200), tampered]) {
      const err = await rejection(once.send(new SendTaskSuccessCommand({ taskToken: bad, output: '{}' })));
      expect(err).toBeInstanceOf(InvalidToken);
      expect(err.name).toBe('InvalidToken');
    }
    // the real token still works: nothing was answered by the bad ones
    expect(sfn.task(token).status).toBe('OPEN');
  });

  test('a token over 2048 characters or empty: ValidationException', async () => {
    expect(await rejection(once.send(new SendTaskSuccessCommand({ taskToken: 'A'.repeat(2049), output: '{}' })))).toBeInstanceOf(ValidationException);
    expect(await rejection(once.send(new SendTaskHeartbeatCommand({ taskToken: '' })))).toBeInstanceOf(ValidationException);
  });

  test('output that is not JSON: InvalidOutput, and the task stays open', async () => {
    const token = sfn.issueTaskToken();
    const err = await rejection(once.send(new SendTaskSuccessCommand({ taskToken: token, output: 'APPROVED' })));
    expect(err).toBeInstanceOf(InvalidOutput);
    expect(err.name).toBe('InvalidOutput');
    expect(sfn.task(token).status).toBe('OPEN');
  });

  test('output over 256 KiB in UTF-8 bytes: ValidationException; exactly 256 KiB is accepted', async () => {
    const token = sfn.issueTaskToken();
    const over = JSON.stringify({ s: 'é'.repeat(131070) }); // 131,078 characters, 262,150 bytes
    const err = await rejection(once.send(new SendTaskSuccessCommand({ taskToken: token, output: over })));
    expect(err).toBeInstanceOf(ValidationException);
    expect(err.message).toContain("'output'");
    expect(sfn.task(token).status).toBe('OPEN');
    const exact = JSON.stringify({ s: 'x'.repeat(262144 - 8) });
    expect(Buffer.byteLength(exact)).toBe(262144);
    await client.send(new SendTaskSuccessCommand({ taskToken: token, output: exact }));
    expect(sfn.task(token).output).toBe(exact);
  });

  test('SendTaskFailure: error over 256 or cause over 32768 characters: ValidationException', async () => {
    const token = sfn.issueTaskToken();
    expect(await rejection(once.send(new SendTaskFailureCommand({ taskToken: token, error: 'e'.repeat(257) })))).toBeInstanceOf(ValidationException);
    expect(await rejection(once.send(new SendTaskFailureCommand({ taskToken: token, cause: 'c'.repeat(32769) })))).toBeInstanceOf(ValidationException);
    expect(sfn.task(token).status).toBe('OPEN');
  });
});

describe('fault injection', () => {
  test('ThrottlingException on SendTaskSuccess reaches the caller, and nothing is applied', async () => {
    const token = sfn.issueTaskToken();
    wire.fail({ service: 'states', action: 'SendTaskSuccess', code: 'ThrottlingException', message: 'Rate exceeded' });
    const err = await rejection(once.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })));
    expect(err.name).toBe('ThrottlingException');
    expect(err.message).toBe('Rate exceeded');
    expect(err).toBeInstanceOf(SFNServiceException);
    expect(sfn.task(token).status).toBe('OPEN');
    expect(wire.callsOf('states', 'SendTaskSuccess').at(-1)?.error).toBe('ThrottlingException');
  });

  test('the SDK retries an injected throttle and the retry succeeds', async () => {
    const token = sfn.issueTaskToken();
    const before = wire.callsOf('states', 'SendTaskHeartbeat').length;
    wire.fail({ service: 'states', action: 'SendTaskHeartbeat', code: 'ThrottlingException' });
    await client.send(new SendTaskHeartbeatCommand({ taskToken: token }));
    const calls = wire.callsOf('states', 'SendTaskHeartbeat').slice(before);
    expect(calls.map((c) => c.error)).toEqual(['ThrottlingException', undefined]);
    expect(sfn.task(token).heartbeats).toHaveLength(1);
  });

  test('afterApply: the answer is applied, the caller sees the error, a retry meets TaskTimedOut, and the history shows the answer', async () => {
    const executionArn = 'arn:aws:states:us-east-1:123456789012:execution:agent-workflow:after-apply';
    const token = sfn.issueTaskToken({ executionArn });
    wire.fail({ service: 'states', action: 'SendTaskSuccess', code: 'InternalServerError', status: 500, afterApply: true });
    const err = await rejection(once.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"a":1}' })));
    expect(err.name).toBe('InternalServerError');
    expect(err.$metadata.httpStatusCode).toBe(500);
    expect(sfn.task(token)).toMatchObject({ status: 'SUCCEEDED', output: '{"a":1}' });
    expect(await rejection(once.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"a":1}' })))).toBeInstanceOf(TaskTimedOut);
    const [latest] = (await client.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 2 }))).events!.slice(1);
    expect(latest).toMatchObject({ type: 'TaskSucceeded', taskSucceededEventDetails: { output: '{"a":1}' } });
  });

  test('a 500 before applying: nothing applied, nothing in the history', async () => {
    const executionArn = 'arn:aws:states:us-east-1:123456789012:execution:agent-workflow:before-apply';
    const token = sfn.issueTaskToken({ executionArn });
    wire.fail({ service: 'states', action: 'SendTaskSuccess', code: 'InternalServerError', status: 500 });
    expect((await rejection(once.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })))).name).toBe('InternalServerError');
    expect(sfn.task(token).status).toBe('OPEN');
    expect(sfn.history(executionArn).map((e) => e.type)).not.toContain('TaskSucceeded');
  });
});
