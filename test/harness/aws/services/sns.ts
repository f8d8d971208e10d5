/**
 * SNS on the wire (awsQuery: form body `Action=Publish&Version=2010-03-31`, XML answers): a fake
 * that keeps topics and the messages published to them, with SNS's validation of Publish:
 *
 * - no TopicArn: InvalidParameter "Invalid parameter: TopicArn or TargetArn Reason: no value for
 *   required parameter"; a TopicArn that is not one, or of another region than the request:
 *   InvalidParameter "Invalid parameter: TopicArn"; a topic that does not exist: NotFound (404)
 *   "Topic does not exist".
 * - an empty Message: InvalidParameter "Invalid parameter: Empty message"; Message plus message
 *   attributes over 256 KB (262,144 UTF-8 bytes): InvalidParameter "Invalid parameter: Message too long".
 * - a Subject that is empty, over 100 characters, not printable ASCII, with a line break or control
 *   character, or starting with a space: InvalidParameter "Invalid parameter: Subject".
 * - MessageStructure=json: Message must be a JSON object with a string `default` entry.
 * - message attributes: at most 10, a String/Number/Binary/String.Array type (with an optional
 *   `.custom` suffix), a non-empty value of that type: ParameterValueInvalid otherwise (the SDK's
 *   InvalidParameterValueException).
 * - FIFO topics (`.fifo`): MessageGroupId required; MessageDeduplicationId required unless the topic
 *   has content-based deduplication; a duplicate within 5 minutes is accepted and not stored again.
 */
import * as crypto from 'crypto';
import { AwsError, parseQueryBody, queryResponse, WireRequest, WireResponse } from '../protocols';
import { ServiceModule } from '../wire-server';

/** The XML namespace of SNS answers. */
export const SNS_XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';
/** Largest message (with its attributes) SNS accepts, in UTF-8 bytes. */
export const SNS_MAX_MESSAGE_BYTES = 262144;
/** Longest Subject SNS accepts. */
export const SNS_MAX_SUBJECT_LENGTH = 100;
/** Most message attributes on one message. */
export const SNS_MAX_MESSAGE_ATTRIBUTES = 10;

const TOPIC_ARN = /^arn:aws[a-z-]*:sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,256}(?:\.fifo)?)$/;
const ATTRIBUTE_TYPE = /^(String\.Array|String|Number|Binary)(\.[A-Za-z0-9_\-.]+)?$/;
const ATTRIBUTE_NAME = /^[A-Za-z0-9_\-.]{1,256}$/;
const DEDUPLICATION_WINDOW_MS = 5 * 60 * 1000;

/** One message attribute as published. */
export interface SnsMessageAttribute {
  /** `String`, `Number`, `Binary`, `String.Array`, optionally with a custom suffix. */
  readonly DataType: string;
  readonly StringValue?: string;
  /** The decoded bytes of a Binary attribute. */
  readonly BinaryValue?: Buffer;
}

/** One message SNS accepted. */
export interface PublishedMessage {
  readonly messageId: string;
  readonly topicArn: string;
  readonly subject?: string;
  /** The Message parameter as sent. */
  readonly message: string;
  /** `json` when the message carries one text per protocol. */
  readonly messageStructure?: string;
  /** The per-protocol texts of a MessageStructure=json message (`default`, `email`...). */
  readonly structured?: Readonly<Record<string, string>>;
  /** Message attributes by name. */
  readonly messageAttributes: Readonly<Record<string, SnsMessageAttribute>>;
  readonly messageGroupId?: string;
  readonly messageDeduplicationId?: string;
  /** FIFO topics only. */
  readonly sequenceNumber?: string;
  readonly publishedAt: Date;
}

/** Options of `createTopic`. */
export interface CreateTopicOptions {
  /** `ContentBasedDeduplication` of a FIFO topic. @default false */
  readonly contentBasedDeduplication?: boolean;
}

interface Topic {
  readonly arn: string;
  readonly fifo: boolean;
  readonly contentBasedDeduplication: boolean;
  sequence: bigint;
  readonly dedup: Map<string, { at: number; messageId: string; sequenceNumber: string }>;
}

function invalidParameter(what: string): AwsError {
  return new AwsError('InvalidParameter', `Invalid parameter: ${what}`);
}

function invalidValue(message: string): AwsError {
  // The wire code of the SDK's InvalidParameterValueException.
  return new AwsError('ParameterValueInvalid', message);
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function validSubject(subject: string): boolean {
  return subject.length >= 1 && subject.length <= SNS_MAX_SUBJECT_LENGTH && /^[\x21-\x7e][\x20-\x7e]*$/.test(subject);
}

/** The SNS fake: topics and the messages published to them (see the file comment for the rules). */
export class SnsService implements ServiceModule {
  /** SigV4 signing name of SNS. */
  public readonly signingNames = ['sns'];
  /** `AWS_ENDPOINT_URL_SNS`. */
  public readonly endpointEnvNames = ['SNS'];
  /** awsQuery (errors as `<ErrorResponse>`). */
  public readonly protocol = 'query' as const;

  private readonly topics = new Map<string, Topic>();
  private readonly messages: PublishedMessage[] = [];

  // --- ServiceModule ---------------------------------------------------------------------------

  public action(req: WireRequest): string {
    return new URLSearchParams(req.body.toString('utf8')).get('Action') ?? req.query.get('Action') ?? '';
  }

  public decode(req: WireRequest): unknown {
    return parseQueryBody(req.body);
  }

  public handle(req: WireRequest, action: string): WireResponse {
    const params = parseQueryBody(req.body);
    switch (action) {
      case 'Publish': return queryResponse('Publish', SNS_XMLNS, this.publish(params, req.region));
      default:
        throw new AwsError('InvalidAction', `The action ${action || '(none)'} is not valid for this web service.`);
    }
  }

  // --- test helpers --------------------------------------------------------------------------------

  /** Creates a topic (a `.fifo` name makes a FIFO topic). */
  public createTopic(arn: string, options: CreateTopicOptions = {}): this {
    const parsed = TOPIC_ARN.exec(arn);
    if (!parsed) throw new Error(`SnsService: not a topic ARN: ${arn}`);
    this.topics.set(arn, {
      arn,
      fifo: parsed[3].endsWith('.fifo'),
      contentBasedDeduplication: options.contentBasedDeduplication ?? false,
      sequence: 10000000000000000000n,
      dedup: new Map(),
    });
    return this;
  }

  /** Deletes a topic: publishing to it is NotFound from then on (its messages stay for assertions). */
  public deleteTopic(arn: string): void {
    this.topics.delete(arn);
  }

  /** Messages accepted, in order; only those of one topic when `topicArn` is given. */
  public published(topicArn?: string): PublishedMessage[] {
    return this.messages.filter((m) => topicArn === undefined || m.topicArn === topicArn);
  }

  /** Forgets the messages published so far (topics stay). */
  public clearMessages(): void {
    this.messages.length = 0;
  }

  // --- Publish -------------------------------------------------------------------------------------

  private publish(params: Record<string, any>, region: string): Record<string, unknown> {
    const topicArn: unknown = params.TopicArn;
    if (params.TargetArn !== undefined || params.PhoneNumber !== undefined) {
      throw invalidParameter('TargetArn/PhoneNumber: the SNS fake publishes to topics only');
    }
    if (typeof topicArn !== 'string' || topicArn === '') throw invalidParameter('TopicArn or TargetArn Reason: no value for required parameter');
    const parsed = TOPIC_ARN.exec(topicArn);
    if (!parsed || (region !== '' && parsed[1] !== region)) throw invalidParameter('TopicArn');

    const message = typeof params.Message === 'string' ? params.Message : '';
    if (message === '') throw invalidParameter('Empty message');

    const subject = typeof params.Subject === 'string' ? params.Subject : undefined;
    if (subject !== undefined && !validSubject(subject)) throw invalidParameter('Subject');

    const messageStructure = typeof params.MessageStructure === 'string' ? params.MessageStructure : undefined;
    const structured = messageStructure === undefined ? undefined : this.structuredMessage(messageStructure, message);

    const attributes = this.attributes(params.MessageAttributes);
    const attributeBytes = Object.entries(attributes).reduce((sum, [name, a]) => sum + utf8Bytes(name) + utf8Bytes(a.DataType)
      + (a.StringValue !== undefined ? utf8Bytes(a.StringValue) : 0) + (a.BinaryValue?.length ?? 0), 0);
    if (utf8Bytes(message) + attributeBytes > SNS_MAX_MESSAGE_BYTES) throw invalidParameter('Message too long');

    const topic = this.topics.get(topicArn);
    if (!topic) throw new AwsError('NotFound', 'Topic does not exist', 404);

    const messageGroupId = typeof params.MessageGroupId === 'string' ? params.MessageGroupId : undefined;
    let messageDeduplicationId = typeof params.MessageDeduplicationId === 'string' ? params.MessageDeduplicationId : undefined;
    let sequenceNumber: string | undefined;
    if (topic.fifo) {
      if (messageGroupId === undefined || messageGroupId === '') throw invalidParameter('The MessageGroupId parameter is required for FIFO topics');
      if (messageDeduplicationId === undefined) {
        if (!topic.contentBasedDeduplication) {
          throw invalidParameter('The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly');
        }
        messageDeduplicationId = crypto.createHash('sha256').update(message).digest('hex');
      }
      const now = Date.now();
      const seen = topic.dedup.get(messageDeduplicationId);
      if (seen && now - seen.at < DEDUPLICATION_WINDOW_MS) {
        return { MessageId: seen.messageId, SequenceNumber: seen.sequenceNumber };
      }
      topic.sequence += 1n;
      sequenceNumber = topic.sequence.toString();
    } else if (messageDeduplicationId !== undefined) {
      throw invalidParameter('MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type');
    }

    const messageId = crypto.randomUUID();
    if (topic.fifo) topic.dedup.set(messageDeduplicationId!, { at: Date.now(), messageId, sequenceNumber: sequenceNumber! });
    this.messages.push({
      messageId,
      topicArn,
      subject,
      message,
      messageStructure,
      structured,
      messageAttributes: attributes,
      messageGroupId,
      messageDeduplicationId,
      sequenceNumber,
      publishedAt: new Date(),
    });
    return { MessageId: messageId, SequenceNumber: sequenceNumber };
  }

  /** A MessageStructure=json message: a JSON object of strings with a `default` entry. */
  private structuredMessage(structure: string, message: string): Record<string, string> {
    if (structure !== 'json') throw invalidParameter('MessageStructure');
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      throw invalidParameter('Message Structure - JSON message body failed to parse');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || typeof (parsed as Record<string, unknown>).default !== 'string') {
      throw invalidParameter('Message Structure - No default entry in JSON message body');
    }
    const entries = Object.entries(parsed as Record<string, unknown>);
    if (entries.some(([, v]) => typeof v !== 'string')) throw invalidParameter('Message Structure - JSON message body must contain string values');
    return Object.fromEntries(entries) as Record<string, string>;
  }

  /** `MessageAttributes.entry.N.{Name,Value.DataType,Value.StringValue,Value.BinaryValue}`, checked. */
  private attributes(raw: unknown): Record<string, SnsMessageAttribute> {
    const entries: Array<Record<string, any>> = (raw as { entry?: Array<Record<string, any>> } | undefined)?.entry ?? [];
    if (entries.length > SNS_MAX_MESSAGE_ATTRIBUTES) {
      throw invalidValue(`Number of message attributes [${entries.length}] exceeds the allowed maximum [${SNS_MAX_MESSAGE_ATTRIBUTES}].`);
    }
    const out: Record<string, SnsMessageAttribute> = {};
    for (const entry of entries) {
      const name = typeof entry.Name === 'string' ? entry.Name : '';
      if (!ATTRIBUTE_NAME.test(name) || name.startsWith('.') || name.endsWith('.') || name.includes('..') || /^(aws|amazon)\./i.test(name)) {
        throw invalidValue(`Message attribute name '${name}' is invalid.`);
      }
      if (name in out) throw invalidValue(`Message attribute name '${name}' is duplicated.`);
      const value: Record<string, any> = entry.Value ?? {};
      const dataType = typeof value.DataType === 'string' ? value.DataType : '';
      const type = ATTRIBUTE_TYPE.exec(dataType)?.[1];
      if (!type) {
        throw invalidValue(`The message attribute '${name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`);
      }
      if (type === 'Binary') {
        const binary = typeof value.BinaryValue === 'string' ? Buffer.from(value.BinaryValue, 'base64') : undefined;
        if (!binary || binary.length === 0) {
          throw invalidValue(`The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${type}'.`);
        }
        out[name] = { DataType: dataType, BinaryValue: binary };
        continue;
      }
      const text = typeof value.StringValue === 'string' ? value.StringValue : '';
      if (text === '') {
        throw invalidValue(`The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${type}'.`);
      }
      if (type === 'Number' && !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text.trim())) {
        throw invalidValue(`Could not cast message attribute '${name}' value to number.`);
      }
      if (type === 'String.Array' && !this.isFlatJsonArray(text)) {
        throw invalidValue(`The message attribute '${name}' with type 'String.Array' has an invalid value: it must be a JSON array of strings, numbers, booleans or null.`);
      }
      out[name] = { DataType: dataType, StringValue: text };
    }
    return out;
  }

  private isFlatJsonArray(text: string): boolean {
    try {
      const parsed: unknown = JSON.parse(text);
      return Array.isArray(parsed) && parsed.every((v) => v === null || ['string', 'number', 'boolean'].includes(typeof v));
    } catch {
      return false;
    }
  }
}
