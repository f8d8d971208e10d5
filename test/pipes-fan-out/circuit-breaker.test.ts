/** The circuit-breaker handler with a command-level mock of the Pipes client (aws-sdk-client-mock). */
import {
  ConflictException, DescribePipeCommand, NotFoundException, PipesClient, StartPipeCommand, StopPipeCommand, ThrottlingException,
} from '@aws-sdk/client-pipes';
import { mockClient } from 'aws-sdk-client-mock';
import type { StructuredLog } from '../../src/core/runtime/log';
import {
  BreakerConfig, BreakerDeps, BreakerInputError, parseAlarmEvent, parseBreakerConfig, PipeStateError, runBreaker,
} from '../../src/pipes-fan-out/runtime/circuit-breaker';
import { BREAKER_ENV } from '../../src/pipes-fan-out/runtime/circuit-breaker-contract';

const TRIP = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:orders-breaker-trip';
const pipes = mockClient(PipesClient);

function alarmEvent(state: string, alarmArn = TRIP): Record<string, unknown> {
  return {
    'version': '0',
    'id': 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
    'detail-type': 'CloudWatch Alarm State Change',
    'source': 'aws.cloudwatch',
    'account': '123456789012',
    'time': '2026-12-01T18:00:00Z',
    'region': 'us-east-1',
    'resources': [alarmArn],
    'detail': {
      alarmName: 'orders-breaker-trip',
      state: { value: state, reason: 'ALARM(inventory-dlq) was TRUE', timestamp: '2026-12-01T18:00:00.000+0000' },
      previousState: { value: state === 'ALARM' ? 'OK' : 'ALARM', reason: '', timestamp: '2026-12-01T17:00:00.000+0000' },
      configuration: { alarmRule: 'ALARM("inventory-dlq")' },
    },
  };
}

interface Logged { level: string; message: string; extra?: Record<string, unknown> }

interface Setup { config: BreakerConfig; deps: BreakerDeps; logs: Logged[]; counts: string[]; sleeps: number[] }

function setup(config: Partial<BreakerConfig> = {}): Setup {
  const logs: Logged[] = [];
  const counts: string[] = [];
  const sleeps: number[] = [];
  const log: StructuredLog = {
    info: (message, extra) => logs.push({ level: 'info', message, extra }),
    warn: (message, extra) => logs.push({ level: 'warn', message, extra }),
    error: (message, extra) => logs.push({ level: 'error', message, extra }),
  };
  return {
    config: { pipeName: 'orders-pipe', autoRestart: false, tripAlarmArn: TRIP, ...config },
    deps: {
      pipes: new PipesClient({ region: 'us-east-1' }),
      sleep: async (ms) => { sleeps.push(ms); },
      log,
      count: (m) => counts.push(m),
      random: () => 0.5,
    },
    logs,
    counts,
    sleeps,
  };
}

const describeAnswer = (state: string) => ({ Name: 'orders-pipe', CurrentState: state as any, DesiredState: 'RUNNING' as any });
const throttled = () => new ThrottlingException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } });
const conflict = () => new ConflictException({ message: 'Pipe is not in a state that allows this', resourceId: 'orders-pipe', resourceType: 'pipe', $metadata: {} });

beforeEach(() => pipes.reset());

describe('ALARM: stop the pipe', () => {
  test('a RUNNING pipe is stopped, with a loud ERROR line naming the pipe, the alarm and the retention', async () => {
    const { config, deps, logs, counts } = setup();
    pipes.on(DescribePipeCommand).resolves(describeAnswer('RUNNING'));
    pipes.on(StopPipeCommand).resolves({ Name: 'orders-pipe', CurrentState: 'STOPPING', DesiredState: 'STOPPED' });
    const outcome = await runBreaker(alarmEvent('ALARM'), config, deps);
    expect(outcome).toEqual({ action: 'STOPPED', pipeName: 'orders-pipe', alarmName: 'orders-breaker-trip', stateBefore: 'RUNNING', stateAfter: 'STOPPING' });
    expect(pipes.commandCalls(StopPipeCommand).map((c) => c.args[0].input)).toEqual([{ Name: 'orders-pipe' }]);
    expect(pipes.commandCalls(StartPipeCommand)).toHaveLength(0);
    expect(counts).toEqual(['PipeStopped']);
    const loud = logs.filter((l) => l.level === 'error');
    expect(loud).toHaveLength(1);
    expect(loud[0].message).toMatch(/CIRCUIT BREAKER TRIPPED: pipe orders-pipe stopped because alarm orders-breaker-trip is in ALARM/);
    expect(loud[0].message).toMatch(/24 hours for DynamoDB Streams/);
    expect(loud[0].message).toMatch(/aws pipes start-pipe --name orders-pipe/);
    expect(loud[0].extra).toMatchObject({ pipeName: 'orders-pipe', alarm: 'orders-breaker-trip', alarmArn: TRIP, autoRestart: false });
  });

  test.each(['STOPPED', 'STOPPING'])('a %s pipe is left alone (no StopPipe)', async (state) => {
    const { config, deps, counts } = setup();
    pipes.on(DescribePipeCommand).resolves(describeAnswer(state));
    const outcome = await runBreaker(alarmEvent('ALARM'), config, deps);
    expect(outcome).toMatchObject({ action: 'ALREADY_STOPPED', stateBefore: state });
    expect(pipes.commandCalls(StopPipeCommand)).toHaveLength(0);
    expect(counts).toEqual([]);
  });

  test('a ConflictException because the pipe was stopped meanwhile is a no-op', async () => {
    const { config, deps, counts } = setup();
    pipes.on(DescribePipeCommand).resolvesOnce(describeAnswer('RUNNING')).resolves(describeAnswer('STOPPING'));
    pipes.on(StopPipeCommand).rejects(conflict());
    await expect(runBreaker(alarmEvent('ALARM'), config, deps)).resolves.toMatchObject({ action: 'ALREADY_STOPPED', stateAfter: 'STOPPING' });
    expect(counts).toEqual([]);
  });

  test('a ConflictException in any other state (UPDATING) is a PipeStateError naming the pipe and its state', async () => {
    const { config, deps } = setup();
    pipes.on(DescribePipeCommand).resolves(describeAnswer('UPDATING'));
    pipes.on(StopPipeCommand).rejects(conflict());
    const err = await runBreaker(alarmEvent('ALARM'), config, deps).catch((e) => e);
    expect(err).toBeInstanceOf(PipeStateError);
    expect(err.message).toMatch(/cannot stop pipe orders-pipe: it is UPDATING/);
    expect(err.currentState).toBe('UPDATING');
  });

  test('throttled DescribePipe and StopPipe are retried with backoff, each retry logged', async () => {
    const { config, deps, logs, sleeps } = setup();
    pipes.on(DescribePipeCommand).rejectsOnce(throttled()).resolves(describeAnswer('RUNNING'));
    pipes.on(StopPipeCommand).rejectsOnce(throttled()).rejectsOnce(throttled()).resolves({ CurrentState: 'STOPPING' });
    await expect(runBreaker(alarmEvent('ALARM'), config, deps)).resolves.toMatchObject({ action: 'STOPPED' });
    expect(pipes.commandCalls(StopPipeCommand)).toHaveLength(3);
    expect(sleeps).toEqual([200, 200, 400]); // 0.5 x min(20 s, 200 ms x 2^attempt), attempt counted per call
    expect(logs.filter((l) => l.level === 'warn' && l.message === 'throttled AWS call, retrying').map((l) => l.extra?.operation))
      .toEqual(['DescribePipe', 'StopPipe', 'StopPipe']);
  });

  test('throttling that never ends fails after 6 attempts with the ThrottlingException', async () => {
    const { config, deps } = setup();
    pipes.on(DescribePipeCommand).resolves(describeAnswer('RUNNING'));
    pipes.on(StopPipeCommand).rejects(throttled());
    await expect(runBreaker(alarmEvent('ALARM'), config, deps)).rejects.toThrow(ThrottlingException);
    expect(pipes.commandCalls(StopPipeCommand)).toHaveLength(6);
  });

  test('a pipe that does not exist fails with NotFoundException (no retry)', async () => {
    const { config, deps } = setup();
    pipes.on(DescribePipeCommand).rejects(new NotFoundException({ message: 'Pipe orders-pipe does not exist.', $metadata: {} }));
    await expect(runBreaker(alarmEvent('ALARM'), config, deps)).rejects.toThrow(NotFoundException);
    expect(pipes.commandCalls(DescribePipeCommand)).toHaveLength(1);
  });
});

describe('OK: start again only with auto-restart', () => {
  test('without autoRestart nothing is called, and the warning says how to restart by hand', async () => {
    const { config, deps, logs } = setup();
    await expect(runBreaker(alarmEvent('OK'), config, deps)).resolves.toMatchObject({ action: 'MANUAL_RESTART_REQUIRED' });
    expect(pipes.calls()).toHaveLength(0);
    expect(logs[0]).toMatchObject({ level: 'warn' });
    expect(logs[0].message).toMatch(/aws pipes start-pipe --name orders-pipe/);
  });

  test('with autoRestart a STOPPED pipe is started', async () => {
    const { config, deps, counts } = setup({ autoRestart: true });
    pipes.on(DescribePipeCommand).resolves(describeAnswer('STOPPED'));
    pipes.on(StartPipeCommand).resolves({ CurrentState: 'STARTING' });
    await expect(runBreaker(alarmEvent('OK'), config, deps)).resolves
      .toMatchObject({ action: 'STARTED', stateBefore: 'STOPPED', stateAfter: 'STARTING' });
    expect(pipes.commandCalls(StartPipeCommand).map((c) => c.args[0].input)).toEqual([{ Name: 'orders-pipe' }]);
    expect(pipes.commandCalls(StopPipeCommand)).toHaveLength(0);
    expect(counts).toEqual(['PipeStarted']);
  });

  test.each(['RUNNING', 'STARTING'])('with autoRestart a %s pipe is left alone', async (state) => {
    const { config, deps } = setup({ autoRestart: true });
    pipes.on(DescribePipeCommand).resolves(describeAnswer(state));
    await expect(runBreaker(alarmEvent('OK'), config, deps)).resolves.toMatchObject({ action: 'ALREADY_RUNNING' });
    expect(pipes.commandCalls(StartPipeCommand)).toHaveLength(0);
  });

  test('a throttled StartPipe is retried', async () => {
    const { config, deps } = setup({ autoRestart: true });
    pipes.on(DescribePipeCommand).resolves(describeAnswer('STOPPED'));
    pipes.on(StartPipeCommand).rejectsOnce(throttled()).resolves({ CurrentState: 'STARTING' });
    await expect(runBreaker(alarmEvent('OK'), config, deps)).resolves.toMatchObject({ action: 'STARTED' });
    expect(pipes.commandCalls(StartPipeCommand)).toHaveLength(2);
  });

  test('a StartPipe conflict while the pipe is still STOPPING fails (retried by Lambda, then alarmed)', async () => {
    const { config, deps } = setup({ autoRestart: true });
    pipes.on(DescribePipeCommand).resolves(describeAnswer('STOPPING'));
    pipes.on(StartPipeCommand).rejects(conflict());
    await expect(runBreaker(alarmEvent('OK'), config, deps)).rejects.toThrow(/cannot start pipe orders-pipe: it is STOPPING/);
  });

  test('INSUFFICIENT_DATA does nothing', async () => {
    const { config, deps } = setup({ autoRestart: true });
    await expect(runBreaker(alarmEvent('INSUFFICIENT_DATA'), config, deps)).resolves.toMatchObject({ action: 'IGNORED' });
    expect(pipes.calls()).toHaveLength(0);
  });
});

describe('input and configuration are checked', () => {
  test('an event of another alarm is refused', async () => {
    const { config, deps } = setup();
    await expect(runBreaker(alarmEvent('ALARM', 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:other'), config, deps))
      .rejects.toThrow(BreakerInputError);
    expect(pipes.calls()).toHaveLength(0);
  });

  test.each([
    [undefined, /expected an EventBridge event/],
    [{ 'source': 'aws.events', 'detail-type': 'Scheduled Event' }, /expected source 'aws.cloudwatch'/],
    [{ 'source': 'aws.cloudwatch', 'detail-type': 'CloudWatch Alarm State Change', 'resources': [], 'detail': {} }, /names no alarm/],
    [{ ...alarmEvent('ALARM'), detail: { state: { value: 'BROKEN' } } }, /must be ALARM, OK or INSUFFICIENT_DATA/],
  ])('malformed event %#', (event, message) => {
    expect(() => parseAlarmEvent(event)).toThrow(message);
  });

  test('the configuration names the variable that is wrong', () => {
    const env = { [BREAKER_ENV.pipeName]: 'orders-pipe', [BREAKER_ENV.autoRestart]: 'false', [BREAKER_ENV.tripAlarmArn]: TRIP };
    expect(parseBreakerConfig(env)).toEqual({ pipeName: 'orders-pipe', autoRestart: false, tripAlarmArn: TRIP });
    expect(() => parseBreakerConfig({ ...env, PIPE_NAME: undefined })).toThrow(/PIPE_NAME is required/);
    expect(() => parseBreakerConfig({ ...env, PIPE_NAME: 'no spaces' })).toThrow(/PIPE_NAME must be a pipe name/);
    expect(() => parseBreakerConfig({ ...env, AUTO_RESTART: 'yes' })).toThrow(/AUTO_RESTART must be 'true' or 'false'/);
    expect(() => parseBreakerConfig({ ...env, TRIP_ALARM_ARN: 'arn:aws:sns:us-east-1:123456789012:t' })).toThrow(/TRIP_ALARM_ARN must be a CloudWatch alarm ARN/);
  });
});

describe('the entry point', () => {
  const saved = { ...process.env };
  afterEach(() => { process.env = { ...saved }; });

  test('logs a structured error and throws when the breaker fails (the function error alarm fires)', async () => {
    process.env = { ...saved, PIPE_NAME: 'orders-pipe', AUTO_RESTART: 'false', TRIP_ALARM_ARN: TRIP, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'secret' };
    pipes.on(DescribePipeCommand).resolves(describeAnswer('UPDATING'));
    pipes.on(StopPipeCommand).rejects(conflict());
    const lines: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: any) => { lines.push(String(chunk)); return true; });
    const stderrSpy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: any) => { lines.push(String(chunk)); return true; });
    const errSpy = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => { lines.push(args.map(String).join(' ')); });
    const logSpy = jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => { lines.push(args.map(String).join(' ')); });
    try {
      // The same module registry as the mock (isolateModules would load a second, unmocked client).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { handler } = require('../../src/pipes-fan-out/runtime/circuit-breaker.lambda') as { handler: (event: unknown) => Promise<unknown> };
      await expect(handler(alarmEvent('ALARM'))).rejects.toThrow(/cannot stop pipe orders-pipe: it is UPDATING/);
    } finally {
      spy.mockRestore();
      stderrSpy.mockRestore();
      errSpy.mockRestore();
      logSpy.mockRestore();
    }
    const text = lines.join('\n');
    expect(text).toMatch(/circuit breaker failed for pipe orders-pipe/);
    expect(text).toMatch(/PipeStateError/);
    expect(text).toMatch(/"CircuitBreakerFailure":1/);
  });
});
