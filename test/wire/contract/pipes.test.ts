/** Contract of the EventBridge Pipes fake with the real SDK client (@aws-sdk/client-pipes, REST-JSON). */
import {
  ConflictException, DescribePipeCommand, NotFoundException, PipesClient, StartPipeCommand, StopPipeCommand, ThrottlingException,
} from '@aws-sdk/client-pipes';
import { CONTRACT_CREDENTIALS, failureOf, rejectionOf } from './kit';
import { PipesService } from '../../harness/aws/services/pipes';
import { WireServer } from '../../harness/aws/wire-server';

const wire = new WireServer();
const pipes = new PipesService();
let client: PipesClient;

beforeAll(async () => {
  wire.register(pipes);
  await wire.start();
  client = new PipesClient({ region: 'us-east-1', endpoint: wire.url, credentials: CONTRACT_CREDENTIALS, maxAttempts: 1 });
});
afterAll(() => wire.stop());
afterEach(() => { pipes.describesToSettle = 1; });

test('the server publishes AWS_ENDPOINT_URL_PIPES for handlers', () => {
  expect(wire.endpointEnv()).toMatchObject({ AWS_ENDPOINT_URL_PIPES: wire.url });
});

test('DescribePipe answers the pipe with its states and epoch-second timestamps as Dates', async () => {
  pipes.createPipe('describe-me', { source: 'arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026' });
  const res = await client.send(new DescribePipeCommand({ Name: 'describe-me' }));
  expect(res).toMatchObject({
    Name: 'describe-me',
    Arn: 'arn:aws:pipes:us-east-1:123456789012:pipe/describe-me',
    CurrentState: 'RUNNING',
    DesiredState: 'RUNNING',
    Source: 'arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026',
  });
  expect(res.CreationTime).toBeInstanceOf(Date);
  expect(Math.abs(res.CreationTime!.getTime() - Date.now())).toBeLessThan(60_000);
  expect(wire.callsOf('pipes', 'DescribePipe').at(-1)).toMatchObject({ input: { Name: 'describe-me' } });
});

test('StopPipe: RUNNING -> STOPPING (desired STOPPED) -> STOPPED on the next DescribePipe', async () => {
  pipes.createPipe('stop-me');
  const stop = await client.send(new StopPipeCommand({ Name: 'stop-me' }));
  expect(stop).toMatchObject({ Name: 'stop-me', CurrentState: 'STOPPING', DesiredState: 'STOPPED', Arn: 'arn:aws:pipes:us-east-1:123456789012:pipe/stop-me' });
  expect(stop.LastModifiedTime).toBeInstanceOf(Date);
  expect((await client.send(new DescribePipeCommand({ Name: 'stop-me' }))).CurrentState).toBe('STOPPED');
  expect(wire.callsOf('pipes', 'StopPipe').at(-1)).toMatchObject({ input: { Name: 'stop-me' }, error: undefined });
});

test('StartPipe: STOPPED -> STARTING -> RUNNING, settling after a configurable number of DescribePipe calls', async () => {
  pipes.createPipe('start-me', { state: 'STOPPED' });
  pipes.describesToSettle = 2;
  const start = await client.send(new StartPipeCommand({ Name: 'start-me' }));
  expect(start).toMatchObject({ CurrentState: 'STARTING', DesiredState: 'RUNNING' });
  expect((await client.send(new DescribePipeCommand({ Name: 'start-me' }))).CurrentState).toBe('STARTING');
  expect((await client.send(new DescribePipeCommand({ Name: 'start-me' }))).CurrentState).toBe('RUNNING');
});

test('ConflictException (409): stopping a pipe that is not RUNNING, starting one that is not STOPPED', async () => {
  pipes.createPipe('busy', { state: 'STOPPED' });
  const stopStopped = await rejectionOf<ConflictException>(client.send(new StopPipeCommand({ Name: 'busy' })));
  expect(stopStopped).toBeInstanceOf(ConflictException);
  expect(stopStopped.name).toBe('ConflictException');
  expect(stopStopped.$metadata.httpStatusCode).toBe(409);
  expect(stopStopped.message).toBe('Pipe busy cannot be stopped in state STOPPED: it must be RUNNING.');

  pipes.setState('busy', 'RUNNING');
  expect(await failureOf(client.send(new StartPipeCommand({ Name: 'busy' })))).toMatchObject({ name: 'ConflictException', status: 409 });
  await client.send(new StopPipeCommand({ Name: 'busy' }));
  // still STOPPING (no DescribePipe yet): neither verb is accepted
  expect((await failureOf(client.send(new StopPipeCommand({ Name: 'busy' })))).name).toBe('ConflictException');
  expect((await failureOf(client.send(new StartPipeCommand({ Name: 'busy' })))).name).toBe('ConflictException');
  for (const state of ['UPDATING', 'CREATING', 'START_FAILED'] as const) {
    pipes.setState('busy', state);
    expect((await failureOf(client.send(new StopPipeCommand({ Name: 'busy' })))).name).toBe('ConflictException');
    expect((await failureOf(client.send(new StartPipeCommand({ Name: 'busy' })))).name).toBe('ConflictException');
  }
  expect(wire.callsOf('pipes', 'StopPipe').at(-1)?.error).toBe('ConflictException');
});

test('NotFoundException (404) for a pipe that does not exist; ValidationException (400) for a bad name', async () => {
  const missing = await rejectionOf<NotFoundException>(client.send(new DescribePipeCommand({ Name: 'nope' })));
  expect(missing).toBeInstanceOf(NotFoundException);
  expect(missing.$metadata.httpStatusCode).toBe(404);
  expect(missing.message).toBe('Pipe nope does not exist.');
  expect(await failureOf(client.send(new StopPipeCommand({ Name: 'nope' })))).toMatchObject({ name: 'NotFoundException', status: 404 });
  expect(await failureOf(client.send(new StartPipeCommand({ Name: 'nope' })))).toMatchObject({ name: 'NotFoundException', status: 404 });
  expect(await failureOf(client.send(new DescribePipeCommand({ Name: 'no spaces' })))).toMatchObject({ name: 'ValidationException', status: 400 });
});

test('an injected ThrottlingException (429) reaches the SDK as that exception', async () => {
  pipes.createPipe('throttled');
  wire.fail({ service: 'pipes', action: 'StopPipe', code: 'ThrottlingException', message: 'Rate exceeded', status: 429 });
  const err = await rejectionOf<ThrottlingException>(client.send(new StopPipeCommand({ Name: 'throttled' })));
  expect(err).toBeInstanceOf(ThrottlingException);
  expect(err.$metadata.httpStatusCode).toBe(429);
  expect(pipes.pipe('throttled').currentState).toBe('RUNNING');
  await client.send(new StopPipeCommand({ Name: 'throttled' }));
  expect(pipes.pipe('throttled').currentState).toBe('STOPPING');
});
