/**
 * Contract of the SNS fake against the real SDK v3 client: the awsQuery requests the SDK builds
 * parse (Subject, Message, MessageAttributes.entry.N.*), the XML answers deserialize, and every
 * error the fake answers reaches the caller as the SDK's exception class with the code as `name`.
 */
import {
  InvalidParameterException,
  InvalidParameterValueException,
  NotFoundException,
  PublishCommand,
  PublishCommandInput,
  SNSClient,
  SNSServiceException,
} from '@aws-sdk/client-sns';
import { CONTRACT_CREDENTIALS, rejectionOf } from './kit';
import { SnsService } from '../../harness/aws/services/sns';
import { WireServer } from '../../harness/aws/wire-server';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:approvals';
const FIFO = 'arn:aws:sns:us-east-1:123456789012:approvals.fifo';
const credentials = CONTRACT_CREDENTIALS;

let wire: WireServer;
let sns: SnsService;
let client: SNSClient;
/** No SDK retries: one request, one answer. */
let once: SNSClient;

beforeAll(async () => {
  sns = new SnsService().createTopic(TOPIC).createTopic(FIFO);
  wire = new WireServer().register(sns);
  await wire.start();
  client = new SNSClient({ region: 'us-east-1', endpoint: wire.url, credentials });
  once = new SNSClient({ region: 'us-east-1', endpoint: wire.url, credentials, maxAttempts: 1 });
});

afterAll(async () => {
  client.destroy();
  once.destroy();
  await wire.stop();
});

const rejection = (promise: Promise<unknown>) => rejectionOf<SNSServiceException>(promise);

function publishError(input: Partial<PublishCommandInput>): Promise<SNSServiceException> {
  return rejection(once.send(new PublishCommand({ TopicArn: TOPIC, Message: 'hello', ...input })));
}

describe('Publish', () => {
  test('keeps subject, message and parsed attributes; answers a MessageId', async () => {
    const message = 'Workflow w is waiting for a human decision.\n\nApprove: https://x.example/a?sig=1&exp=2\n€ ünïcode';
    const res = await client.send(new PublishCommand({
      TopicArn: TOPIC,
      Subject: '[wf] Approval needed: reason & more <ok>',
      Message: message,
      MessageAttributes: {
        stage: { DataType: 'String', StringValue: 'primary' },
        attempt: { DataType: 'Number', StringValue: '2' },
        tags: { DataType: 'String.Array', StringValue: '["a","b"]' },
        blob: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2, 255]) },
      },
    }));
    expect(res.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.SequenceNumber).toBeUndefined();
    const [kept] = sns.published(TOPIC).filter((m) => m.messageId === res.MessageId);
    expect(kept).toMatchObject({ topicArn: TOPIC, subject: '[wf] Approval needed: reason & more <ok>', message });
    expect(kept.messageAttributes.stage).toEqual({ DataType: 'String', StringValue: 'primary' });
    expect(kept.messageAttributes.attempt).toEqual({ DataType: 'Number', StringValue: '2' });
    expect(kept.messageAttributes.tags).toEqual({ DataType: 'String.Array', StringValue: '["a","b"]' });
    expect([...kept.messageAttributes.blob.BinaryValue!]).toEqual([1, 2, 255]);
    const call = wire.callsOf('sns', 'Publish').at(-1);
    expect(call?.input).toMatchObject({ Action: 'Publish', Version: '2010-03-31', TopicArn: TOPIC });
  });

  test('a subject of exactly 100 printable ASCII characters is accepted', async () => {
    const subject = `[wf] ${'x'.repeat(95)}`;
    expect(subject).toHaveLength(100);
    const res = await client.send(new PublishCommand({ TopicArn: TOPIC, Subject: subject, Message: 'm' }));
    expect(sns.published(TOPIC).find((m) => m.messageId === res.MessageId)?.subject).toBe(subject);
  });

  test('MessageStructure=json keeps the per-protocol texts', async () => {
    const res = await client.send(new PublishCommand({
      TopicArn: TOPIC, MessageStructure: 'json', Message: JSON.stringify({ default: 'plain', email: 'long text' }),
    }));
    expect(sns.published(TOPIC).find((m) => m.messageId === res.MessageId)?.structured).toEqual({ default: 'plain', email: 'long text' });
  });

  test('an unknown topic: NotFoundException (code NotFound, 404)', async () => {
    const err = await publishError({ TopicArn: 'arn:aws:sns:us-east-1:123456789012:nope' });
    expect(err).toBeInstanceOf(NotFoundException);
    expect(err.name).toBe('NotFoundException');
    expect(err.message).toBe('Topic does not exist');
    expect(err.$metadata.httpStatusCode).toBe(404);
    expect(wire.callsOf('sns', 'Publish').at(-1)?.error).toBe('NotFound');
  });

  test('a deleted topic is NotFound too', async () => {
    const gone = 'arn:aws:sns:us-east-1:123456789012:gone';
    sns.createTopic(gone);
    await client.send(new PublishCommand({ TopicArn: gone, Message: 'first' }));
    sns.deleteTopic(gone);
    expect(await publishError({ TopicArn: gone })).toBeInstanceOf(NotFoundException);
    expect(sns.published(gone).map((m) => m.message)).toEqual(['first']);
  });

  test('no TopicArn, a malformed one, or one of another region: InvalidParameterException', async () => {
    const missing = await rejection(once.send(new PublishCommand({ Message: 'm' })));
    expect(missing).toBeInstanceOf(InvalidParameterException);
    expect(missing.name).toBe('InvalidParameterException');
    expect(missing.message).toBe('Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter');
    expect((await publishError({ TopicArn: 'approvals' })).message).toBe('Invalid parameter: TopicArn');
    const otherRegion = await publishError({ TopicArn: 'arn:aws:sns:eu-west-1:123456789012:approvals' });
    expect(otherRegion).toBeInstanceOf(InvalidParameterException);
  });

  test.each([
    ['a newline', 'Approval\nneeded'],
    ['a carriage return', 'Approval\rneeded'],
    ['a tab', 'Approval\tneeded'],
    ['a non-ASCII character', 'Approval needed: café'],
    ['101 characters', 'x'.repeat(101)],
    ['an empty subject', ''],
    ['a leading space', ' Approval'],
  ])('Subject with %s: InvalidParameterException "Invalid parameter: Subject"', async (_what, subject) => {
    const before = sns.published(TOPIC).length;
    const err = await publishError({ Subject: subject });
    expect(err).toBeInstanceOf(InvalidParameterException);
    expect(err.message).toBe('Invalid parameter: Subject');
    expect(sns.published(TOPIC)).toHaveLength(before);
  });

  test('an empty message: InvalidParameterException "Invalid parameter: Empty message"', async () => {
    const err = await publishError({ Message: '' });
    expect(err).toBeInstanceOf(InvalidParameterException);
    expect(err.message).toBe('Invalid parameter: Empty message');
  });

  test('a message over 256 KB in UTF-8 bytes (attributes counted): "Message too long"; exactly 256 KB is accepted', async () => {
    const tooLong = await publishError({ Message: 'é'.repeat(131073) }); // 131,073 characters, 262,146 bytes
    expect(tooLong).toBeInstanceOf(InvalidParameterException);
    expect(tooLong.message).toBe('Invalid parameter: Message too long');
    const withAttribute = await publishError({
      Message: 'x'.repeat(262144 - 10), MessageAttributes: { k: { DataType: 'String', StringValue: 'value' } }, // 10 + 1 + 6 + 5 bytes over
    });
    expect(withAttribute.message).toBe('Invalid parameter: Message too long');
    const res = await client.send(new PublishCommand({ TopicArn: TOPIC, Message: 'x'.repeat(262144) }));
    expect(sns.published(TOPIC).find((m) => m.messageId === res.MessageId)?.message).toHaveLength(262144);
  });

  test('MessageStructure=json without a default entry, or not JSON: InvalidParameterException', async () => {
    expect((await publishError({ MessageStructure: 'json', Message: '{"email":"x"}' })).message)
      .toBe('Invalid parameter: Message Structure - No default entry in JSON message body');
    expect((await publishError({ MessageStructure: 'json', Message: 'plain' })).message)
      .toBe('Invalid parameter: Message Structure - JSON message body failed to parse');
  });

  test('bad message attributes: InvalidParameterValueException', async () => {
    const cases: Array<PublishCommandInput['MessageAttributes']> = [
      { a: { DataType: 'Text', StringValue: 'x' } },
      { a: { DataType: 'String', StringValue: '' } },
      { a: { DataType: 'Number', StringValue: 'twelve' } },
      { a: { DataType: 'String.Array', StringValue: '{"not":"array"}' } },
      { 'AWS.reserved': { DataType: 'String', StringValue: 'x' } },
      Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, { DataType: 'String', StringValue: 'v' }])),
    ];
    for (const MessageAttributes of cases) {
      const err = await publishError({ MessageAttributes });
      expect(err).toBeInstanceOf(InvalidParameterValueException);
      expect(err.name).toBe('InvalidParameterValueException');
    }
  });

  test('FIFO topic: MessageGroupId and MessageDeduplicationId required; a duplicate is not stored twice', async () => {
    expect((await publishError({ TopicArn: FIFO, MessageDeduplicationId: 'd' })).message)
      .toBe('Invalid parameter: The MessageGroupId parameter is required for FIFO topics');
    expect(await publishError({ TopicArn: FIFO, MessageGroupId: 'g' })).toBeInstanceOf(InvalidParameterException);
    const first = await client.send(new PublishCommand({ TopicArn: FIFO, Message: 'one', MessageGroupId: 'g', MessageDeduplicationId: 'd1' }));
    const dup = await client.send(new PublishCommand({ TopicArn: FIFO, Message: 'one', MessageGroupId: 'g', MessageDeduplicationId: 'd1' }));
    const second = await client.send(new PublishCommand({ TopicArn: FIFO, Message: 'two', MessageGroupId: 'g', MessageDeduplicationId: 'd2' }));
    expect(first.SequenceNumber).toMatch(/^\d{20}$/);
    expect(dup.MessageId).toBe(first.MessageId);
    expect(BigInt(second.SequenceNumber!)).toBeGreaterThan(BigInt(first.SequenceNumber!));
    expect(sns.published(FIFO).map((m) => m.message)).toEqual(['one', 'two']);
  });
});

describe('fault injection', () => {
  test('an injected throttle reaches the caller with its code as name, and nothing is published', async () => {
    const before = sns.published(TOPIC).length;
    wire.fail({ service: 'sns', action: 'Publish', code: 'Throttling', message: 'Rate exceeded' });
    const err = await publishError({});
    expect(err.name).toBe('Throttling');
    expect(err.message).toBe('Rate exceeded');
    expect(sns.published(TOPIC)).toHaveLength(before);
  });

  test('the SDK retries an injected throttle and the retry publishes once', async () => {
    const before = wire.callsOf('sns', 'Publish').length;
    wire.fail({ service: 'sns', action: 'Publish', code: 'Throttling' });
    const res = await client.send(new PublishCommand({ TopicArn: TOPIC, Message: 'after throttle' }));
    expect(wire.callsOf('sns', 'Publish').slice(before).map((c) => c.error)).toEqual(['Throttling', undefined]);
    expect(sns.published(TOPIC).filter((m) => m.message === 'after throttle').map((m) => m.messageId)).toEqual([res.MessageId]);
  });

  test('afterApply: the message is published but the caller sees a 500', async () => {
    wire.fail({ service: 'sns', action: 'Publish', code: 'InternalError', status: 500, afterApply: true });
    const err = await publishError({ Message: 'applied anyway' });
    expect(err.name).toBe('InternalErrorException');
    expect(err.$metadata.httpStatusCode).toBe(500);
    expect(sns.published(TOPIC).filter((m) => m.message === 'applied anyway')).toHaveLength(1);
  });
});
