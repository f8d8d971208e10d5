/**
 * The pipe circuit breaker at the wire: the bundled handler (from the synthesized template, with the
 * environment CloudFormation would give it) runs in a child process with the real
 * @aws-sdk/client-pipes against the local Pipes fake: it stops a RUNNING pipe on ALARM, starts a
 * STOPPED one on OK (auto-restart), survives a conflict by reading the state again, fails loudly when
 * the pipe cannot be stopped, and retries throttled calls.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { PipeCircuitBreaker } from '../../src/pipes-fan-out/circuit-breaker';
import { BREAKER_ENV } from '../../src/pipes-fan-out/runtime/circuit-breaker-contract';
import { LocalLambda } from '../harness/aws/lambda-runner';
import { StackFunction } from '../harness/aws/stack-model';
import { modelOfStack, tempOutdir } from '../harness/aws/synth';
import { WireEnvironment } from '../harness/aws/wire-environment';

jest.setTimeout(60_000);

// The stack model answers GetAtt Arn of a composite alarm with a placeholder: the test gives the
// handler the ARN CloudWatch would (the handler checks it is an alarm ARN).
const TRIP = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:WirePipes-BreakerTripAlarm';

function alarmEvent(state: 'ALARM' | 'OK', alarmArn = TRIP): Record<string, unknown> {
  return {
    'version': '0',
    'id': '2dde0eb1-528b-d2d5-9ca6-6d590caf2329',
    'detail-type': 'CloudWatch Alarm State Change',
    'source': 'aws.cloudwatch',
    'account': '123456789012',
    'time': '2026-12-01T18:00:00Z',
    'region': 'us-east-1',
    'resources': [alarmArn],
    'detail': {
      alarmName: 'WirePipes-BreakerTripAlarm',
      state: { value: state, reason: 'ALARM("inventory-dlq") was TRUE', timestamp: '2026-12-01T18:00:00.000+0000' },
      previousState: { value: state === 'ALARM' ? 'OK' : 'ALARM', timestamp: '2026-12-01T17:00:00.000+0000' },
      configuration: { alarmRule: 'ALARM("inventory-dlq")' },
    },
  };
}

let env: WireEnvironment;
let manual: StackFunction;
let auto: StackFunction;

beforeAll(async () => {
  const app = new App({ outdir: tempOutdir('pipes-breaker') });
  const stack = new Stack(app, 'WirePipes', { env: { account: '123456789012', region: 'us-east-1' } });
  const dlqAlarm = cloudwatch.Alarm.fromAlarmArn(stack, 'DlqAlarm', 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:inventory-dlq');
  new PipeCircuitBreaker(stack, 'Manual', {
    pipeName: 'orders-manual', pipeArn: 'arn:aws:pipes:us-east-1:123456789012:pipe/orders-manual', alarms: [dlqAlarm],
  });
  new PipeCircuitBreaker(stack, 'Auto', {
    pipeName: 'orders-auto', pipeArn: 'arn:aws:pipes:us-east-1:123456789012:pipe/orders-auto', alarms: [dlqAlarm], autoRestart: true,
  });
  const fns = modelOfStack(stack).functions();
  manual = fns.find((f) => f.environment[BREAKER_ENV.pipeName] === 'orders-manual')!;
  auto = fns.find((f) => f.environment[BREAKER_ENV.pipeName] === 'orders-auto')!;
  env = await WireEnvironment.start();
});
afterAll(() => env?.stop());

function breaker(fn: StackFunction): LocalLambda {
  return env.lambda(fn, { environment: { ...fn.environment, [BREAKER_ENV.tripAlarmArn]: TRIP } });
}

test('the template gives the handler its pipe and mode; the bundle is the projen asset', () => {
  expect(manual.environment).toMatchObject({ PIPE_NAME: 'orders-manual', AUTO_RESTART: 'false' });
  expect(auto.environment).toMatchObject({ PIPE_NAME: 'orders-auto', AUTO_RESTART: 'true' });
  expect(manual.runtime).toBe('nodejs24.x');
});

test('ALARM stops a RUNNING pipe (StopPipe on the wire) with one loud ERROR line; a second ALARM is a no-op', async () => {
  env.pipes.createPipe('orders-manual');
  const fn = breaker(manual);
  const first = await fn.invoke(alarmEvent('ALARM'));
  expect(first.error).toBeUndefined();
  expect(first.result).toMatchObject({ action: 'STOPPED', stateBefore: 'RUNNING', stateAfter: 'STOPPING' });
  expect(env.pipes.pipe('orders-manual')).toMatchObject({ currentState: 'STOPPING', desiredState: 'STOPPED' });
  const loud = first.logs.filter((l) => l.level === 'ERROR');
  expect(loud).toHaveLength(1);
  expect(loud[0]).toMatchObject({ pipeName: 'orders-manual', alarm: 'WirePipes-BreakerTripAlarm', service: 'pipes-circuit-breaker' });
  expect(loud[0].message).toMatch(/CIRCUIT BREAKER TRIPPED.*24 hours for DynamoDB Streams.*aws pipes start-pipe --name orders-manual/);
  const emf = first.logs.find((l) => l._aws);
  expect(emf).toMatchObject({ PipeStopped: 1, PipeName: 'orders-manual' });

  const second = await fn.invoke(alarmEvent('ALARM'));
  expect(second.result).toMatchObject({ action: 'ALREADY_STOPPED', stateBefore: 'STOPPED' });
  expect(env.wire.callsOf('pipes', 'StopPipe').filter((c) => (c.input as any).Name === 'orders-manual')).toHaveLength(1);

  // OK without auto-restart: nothing is called, the pipe stays stopped
  const calls = env.wire.calls.length;
  const ok = await fn.invoke(alarmEvent('OK'));
  expect(ok.result).toMatchObject({ action: 'MANUAL_RESTART_REQUIRED' });
  expect(env.wire.calls.length).toBe(calls);
  expect(env.pipes.pipe('orders-manual').currentState).toBe('STOPPED');
});

test('OK with auto-restart starts a STOPPED pipe (StartPipe on the wire); RUNNING is a no-op', async () => {
  env.pipes.createPipe('orders-auto', { state: 'STOPPED' });
  const fn = breaker(auto);
  const started = await fn.invoke(alarmEvent('OK'));
  expect(started.error).toBeUndefined();
  expect(started.result).toMatchObject({ action: 'STARTED', stateBefore: 'STOPPED', stateAfter: 'STARTING' });
  expect(env.pipes.pipe('orders-auto').desiredState).toBe('RUNNING');
  const again = await fn.invoke(alarmEvent('OK'));
  expect(again.result).toMatchObject({ action: 'ALREADY_RUNNING', stateBefore: 'RUNNING' });
  expect(env.wire.callsOf('pipes', 'StartPipe').filter((c) => (c.input as any).Name === 'orders-auto')).toHaveLength(1);
});

test('a StopPipe conflict is settled by reading the state again (another actor stopped it meanwhile)', async () => {
  env.pipes.createPipe('orders-manual', { state: 'RUNNING' });
  env.wire.beforeNext('pipes', 'StopPipe', () => env.pipes.setState('orders-manual', 'STOPPING'));
  const res = await breaker(manual).invoke(alarmEvent('ALARM'));
  expect(res.error).toBeUndefined();
  expect(res.result).toMatchObject({ action: 'ALREADY_STOPPED', stateBefore: 'RUNNING', stateAfter: 'STOPPING' });
  expect(env.wire.callsOf('pipes', 'StopPipe').at(-1)).toMatchObject({ error: 'ConflictException' });
});

test('a pipe that cannot be stopped (UPDATING) fails the invocation with a structured error log', async () => {
  env.pipes.createPipe('orders-manual', { state: 'UPDATING' });
  const res = await breaker(manual).invoke(alarmEvent('ALARM'));
  expect(res.error).toMatchObject({ errorType: 'PipeStateError' });
  expect(res.error!.errorMessage).toMatch(/cannot stop pipe orders-manual: it is UPDATING/);
  const failure = res.logs.find((l) => l.level === 'ERROR' && /circuit breaker failed/.test(l.message));
  expect(failure).toMatchObject({ pipeName: 'orders-manual', error: { name: 'PipeStateError' } });
  expect(res.logs.find((l) => l._aws)).toMatchObject({ CircuitBreakerFailure: 1 });
});

test('a missing pipe fails with NotFoundException', async () => {
  const missing = { ...auto, environment: { ...auto.environment, PIPE_NAME: 'orders-missing' } };
  const res = await breaker(missing).invoke(alarmEvent('ALARM'));
  expect(res.error).toMatchObject({ errorType: 'NotFoundException' });
  expect(res.logs.find((l) => l.level === 'ERROR')).toMatchObject({ pipeName: 'orders-missing', error: { name: 'NotFoundException' } });
});

test('throttled StopPipe calls are retried (the SDK once, then withRetry with backoff) until the call goes through', async () => {
  env.pipes.createPipe('orders-manual', { state: 'RUNNING' });
  env.wire.fail({ service: 'pipes', action: 'StopPipe', code: 'ThrottlingException', message: 'Rate exceeded', status: 429, times: 3 });
  const before = env.wire.callsOf('pipes', 'StopPipe').length;
  const res = await breaker(manual).invoke(alarmEvent('ALARM'));
  expect(res.error).toBeUndefined();
  expect(res.result).toMatchObject({ action: 'STOPPED' });
  const calls = env.wire.callsOf('pipes', 'StopPipe').slice(before);
  expect(calls.map((c) => c.error)).toEqual(['ThrottlingException', 'ThrottlingException', 'ThrottlingException', undefined]);
  expect(res.logs.filter((l) => l.message === 'throttled AWS call, retrying').length).toBeGreaterThanOrEqual(1);
});

test('an event for another alarm is refused without calling Pipes', async () => {
  const calls = env.wire.calls.length;
  const res = await breaker(manual).invoke(alarmEvent('ALARM', 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:other'));
  expect(res.error).toMatchObject({ errorType: 'BreakerInputError' });
  expect(env.wire.calls.length).toBe(calls);
});
