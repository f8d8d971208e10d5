/**
 * Contract of the EventBridge fake against the real SDK v3 client: PutEvents requests the SDK builds
 * parse and are answered as EventBridge answers them (entry errors in the 200 answer, request errors
 * as exceptions), and injected faults reach the caller as the SDK's exception classes.
 */
import {
  EventBridgeClient,
  EventBridgeServiceException,
  PutEventsCommand,
  PutEventsRequestEntry,
  ThrottlingException,
} from '@aws-sdk/client-eventbridge';
import { CONTRACT_CREDENTIALS, rejectionOf } from './kit';
import { EventBridgeService } from '../../harness/aws/services/eventbridge';
import { WireServer } from '../../harness/aws/wire-server';

const BUS = 'agent-workflow-events';
const credentials = CONTRACT_CREDENTIALS;

let wire: WireServer;
let events: EventBridgeService;
let client: EventBridgeClient;
/** No SDK retries: one request, one answer. */
let once: EventBridgeClient;

beforeAll(async () => {
  events = new EventBridgeService().createEventBus(BUS);
  wire = new WireServer().register(events);
  await wire.start();
  client = new EventBridgeClient({ region: 'us-east-1', endpoint: wire.url, credentials });
  once = new EventBridgeClient({ region: 'us-east-1', endpoint: wire.url, credentials, maxAttempts: 1 });
});

afterAll(async () => {
  client.destroy();
  once.destroy();
  await wire.stop();
});

const rejection = (promise: Promise<unknown>) => rejectionOf<EventBridgeServiceException>(promise);

function entry(overrides: Partial<PutEventsRequestEntry> = {}): PutEventsRequestEntry {
  return {
    EventBusName: BUS,
    Source: 'cdk-production-patterns.agent-workflow',
    DetailType: 'Approval Requested',
    Detail: JSON.stringify({ workflow: 'wf', approvalId: 'a1', stage: 'primary' }),
    ...overrides,
  };
}

describe('PutEvents', () => {
  test('accepts an entry and keeps the event with its parsed detail and envelope', async () => {
    const time = new Date('2026-03-01T12:00:00Z');
    const res = await client.send(new PutEventsCommand({ Entries: [entry({ Time: time, Resources: ['arn:aws:s3:::b/k'] })] }));
    expect(res.FailedEntryCount).toBe(0);
    expect(res.Entries).toHaveLength(1);
    expect(res.Entries![0].EventId).toMatch(/^[0-9a-f-]{36}$/);
    const [kept] = events.events(BUS).filter((e) => e.eventId === res.Entries![0].EventId);
    expect(kept).toMatchObject({
      eventBusName: BUS,
      source: 'cdk-production-patterns.agent-workflow',
      detailType: 'Approval Requested',
      detail: { workflow: 'wf', approvalId: 'a1', stage: 'primary' },
      resources: ['arn:aws:s3:::b/k'],
    });
    expect(kept.time.toISOString()).toBe(time.toISOString());
    expect(kept.envelope).toMatchObject({
      'version': '0',
      'id': kept.eventId,
      'detail-type': 'Approval Requested',
      'account': '123456789012',
      'region': 'us-east-1',
      'time': '2026-03-01T12:00:00Z',
    });
  });

  test('the bus may be named by ARN; no EventBusName is the default bus', async () => {
    const byArn = await client.send(new PutEventsCommand({ Entries: [entry({ EventBusName: events.eventBusArn(BUS), DetailType: 'By ARN' })] }));
    const byDefault = await client.send(new PutEventsCommand({ Entries: [entry({ EventBusName: undefined, DetailType: 'On default' })] }));
    expect(events.events(BUS).find((e) => e.eventId === byArn.Entries![0].EventId)?.requestedBus).toBe(events.eventBusArn(BUS));
    expect(events.events(events.eventBusArn(BUS)).map((e) => e.detailType)).toContain('By ARN');
    expect(events.events('default').map((e) => e.eventId)).toEqual([byDefault.Entries![0].EventId]);
  });

  test('an entry without Source, DetailType or Detail fails alone (200, FailedEntryCount), in request order', async () => {
    const before = events.events(BUS).length;
    const res = await once.send(new PutEventsCommand({
      Entries: [
        entry({ Source: undefined }),
        entry({ DetailType: 'Kept' }),
        entry({ DetailType: undefined }),
        entry({ Detail: undefined }),
        entry({ Detail: '"just a string"' }),
        entry({ Detail: '[1,2]' }),
        entry({ Detail: '{not json' }),
      ],
    }));
    expect(res.$metadata.httpStatusCode).toBe(200);
    expect(res.FailedEntryCount).toBe(6);
    expect(res.Entries!.map((e) => [e.ErrorCode, e.ErrorMessage])).toEqual([
      ['InvalidArgument', 'Parameter Source is not valid. Reason: Source is a required argument.'],
      [undefined, undefined],
      ['InvalidArgument', 'Parameter DetailType is not valid. Reason: DetailType is a required argument.'],
      ['InvalidArgument', 'Parameter Detail is not valid. Reason: Detail is a required argument.'],
      ['MalformedDetail', 'Detail is malformed.'],
      ['MalformedDetail', 'Detail is malformed.'],
      ['MalformedDetail', 'Detail is malformed.'],
    ]);
    expect(res.Entries![1].EventId).toBeDefined();
    expect(res.Entries![0].EventId).toBeUndefined();
    expect(events.events(BUS).slice(before).map((e) => e.detailType)).toEqual(['Kept']);
  });

  test('a DetailType over 128 characters fails its entry with InvalidArgument', async () => {
    const res = await once.send(new PutEventsCommand({ Entries: [entry({ DetailType: 'd'.repeat(129) })] }));
    expect(res.FailedEntryCount).toBe(1);
    expect(res.Entries![0].ErrorCode).toBe('InvalidArgument');
  });

  test('more than 10 entries: ValidationException, nothing kept', async () => {
    const before = events.events().length;
    const err = await rejection(once.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry()) })));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toContain('Member must have length less than or equal to 10');
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(events.events()).toHaveLength(before);
    const ten = await client.send(new PutEventsCommand({ Entries: Array.from({ length: 10 }, () => entry()) }));
    expect(ten.FailedEntryCount).toBe(0);
  });

  test('no entries: ValidationException', async () => {
    const err = await rejection(once.send(new PutEventsCommand({ Entries: [] })));
    expect(err.name).toBe('ValidationException');
  });

  test('entries over 256 KB in total: ValidationException for the whole request; exactly 256 KB is accepted', async () => {
    const fixed = Buffer.byteLength('cdk-production-patterns.agent-workflow') + Buffer.byteLength('Approval Requested');
    const detailOf = (bytes: number): string => JSON.stringify({ s: 'x'.repeat(bytes - 8) });
    // two entries of half the budget each, then one byte more
    const half = 262144 / 2 - fixed;
    const exact = [entry({ Detail: detailOf(half) }), entry({ Detail: detailOf(half) })];
    const res = await client.send(new PutEventsCommand({ Entries: exact }));
    expect(res.FailedEntryCount).toBe(0);
    const over = [entry({ Detail: detailOf(half) }), entry({ Detail: detailOf(half + 1) })];
    const err = await rejection(once.send(new PutEventsCommand({ Entries: over })));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toBe('Total size of the entries in the request is over the limit.');
    // Time counts 14 bytes
    const withTime = [entry({ Detail: detailOf(half) }), entry({ Detail: detailOf(half - 13), Time: new Date() })];
    expect((await rejection(once.send(new PutEventsCommand({ Entries: withTime })))).name).toBe('ValidationException');
  });

  test('an unknown bus: accepted and dropped, as EventBridge does', async () => {
    const res = await client.send(new PutEventsCommand({ Entries: [entry({ EventBusName: 'no-such-bus' }), entry({ DetailType: 'Real' })] }));
    expect(res.FailedEntryCount).toBe(0);
    expect(res.Entries!.every((e) => e.EventId)).toBe(true);
    expect(events.events('no-such-bus')).toEqual([]);
    expect(events.dropped.map((e) => e.eventBusName)).toContain('no-such-bus');
    expect(events.events(BUS).at(-1)?.detailType).toBe('Real');
  });

  test("unknownBus: 'fail' makes it an entry error ResourceNotFoundException", async () => {
    const strict = new EventBridgeService({ unknownBus: 'fail' }).createEventBus(BUS);
    const server = new WireServer().register(strict);
    await server.start();
    const c = new EventBridgeClient({ region: 'us-east-1', endpoint: server.url, credentials, maxAttempts: 1 });
    try {
      const res = await c.send(new PutEventsCommand({
        Entries: [entry({ EventBusName: 'no-such-bus' }), entry(), entry({ EventBusName: 'arn:aws:events:eu-west-1:123456789012:event-bus/agent-workflow-events' })],
      }));
      expect(res.FailedEntryCount).toBe(2);
      expect(res.Entries![0]).toEqual({ ErrorCode: 'ResourceNotFoundException', ErrorMessage: 'Event bus no-such-bus does not exist.' });
      expect(res.Entries![1].EventId).toBeDefined();
      expect(res.Entries![2].ErrorCode).toBe('ResourceNotFoundException');
      expect(strict.events(BUS)).toHaveLength(1);
    } finally {
      c.destroy();
      await server.stop();
    }
  });
});

describe('fault injection', () => {
  test('ThrottlingException on PutEvents deserializes to the SDK class, nothing kept', async () => {
    const before = events.events().length;
    wire.fail({ service: 'events', action: 'PutEvents', code: 'ThrottlingException', message: 'Rate exceeded' });
    const err = await rejection(once.send(new PutEventsCommand({ Entries: [entry()] })));
    expect(err).toBeInstanceOf(ThrottlingException);
    expect(err.name).toBe('ThrottlingException');
    expect(err.message).toBe('Rate exceeded');
    expect(events.events()).toHaveLength(before);
  });

  test('the SDK retries an injected throttle and the retry is accepted once', async () => {
    const before = wire.callsOf('events', 'PutEvents').length;
    wire.fail({ service: 'events', action: 'PutEvents', code: 'ThrottlingException' });
    const res = await client.send(new PutEventsCommand({ Entries: [entry({ DetailType: 'Retried' })] }));
    expect(wire.callsOf('events', 'PutEvents').slice(before).map((c) => c.error)).toEqual(['ThrottlingException', undefined]);
    expect(events.events(BUS).filter((e) => e.detailType === 'Retried').map((e) => e.eventId)).toEqual([res.Entries![0].EventId]);
  });

  test('an injected InternalException (500) after apply: the event is kept, the caller sees the error', async () => {
    wire.fail({ service: 'events', action: 'PutEvents', code: 'InternalException', status: 500, afterApply: true });
    const err = await rejection(once.send(new PutEventsCommand({ Entries: [entry({ DetailType: 'Applied' })] })));
    expect(err.name).toBe('InternalException');
    expect(err.$metadata.httpStatusCode).toBe(500);
    expect(events.events(BUS).filter((e) => e.detailType === 'Applied')).toHaveLength(1);
  });
});
