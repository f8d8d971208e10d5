import { checkPattern, MAX_PATTERN_LENGTH } from './pattern-check';
import { throwArgumentError } from '../core/errors';

/** The event names of DynamoDB stream records. */
export enum DynamoDbEventName {
  /** A new item. */
  INSERT = 'INSERT',
  /** An item was updated. */
  MODIFY = 'MODIFY',
  /** An item was deleted (or expired by TTL). */
  REMOVE = 'REMOVE',
}

/** The DynamoDB attribute types the NewImage helper matches. */
export enum DynamoDbAttributeType {
  /** A string attribute (`{"S": "..."}`). */
  STRING = 'S',
  /** A number attribute (`{"N": "..."}`: DynamoDB streams carry numbers as strings). */
  NUMBER = 'N',
}

/** Options of `PipeFilter.dynamoDbNewImageEquals`. */
export interface DynamoDbNewImageEqualsOptions {
  /**
   * Only records with these event names.
   * @default - INSERT and MODIFY (the record types that have a NewImage)
   */
  readonly eventNames?: DynamoDbEventName[];
  /**
   * The attribute's DynamoDB type.
   * @default DynamoDbAttributeType.STRING
   */
  readonly attributeType?: DynamoDbAttributeType;
}

/**
 * Which source events the pipe passes on (to the enrichment and the fan-out). Events that match
 * no pattern are dropped and not billed. Patterns are EventBridge event patterns, checked at synth
 * time in the Pipes dialect: an operator Pipes do not support (anything-but combined with prefix,
 * suffix, equals-ignore-case or wildcard) is an error naming it.
 */
export class PipeFilter {
  /**
   * One or more EventBridge event patterns; an event passes when it matches any of them.
   * @param patterns the patterns (1..5), e.g. `{ eventName: ['INSERT'], dynamodb: { NewImage: { status: { S: ['NEW'] } } } }`
   */
  public static fromEventPatterns(patterns: Array<{ [key: string]: any }>): PipeFilter {
    const factory = 'PipeFilter.fromEventPatterns';
    if (!Array.isArray(patterns) || patterns.length === 0 || patterns.length > 5) {
      throwArgumentError(factory, 'patterns', `must hold 1..5 patterns, got ${Array.isArray(patterns) ? patterns.length : String(patterns)}`);
    }
    return new PipeFilter(patterns.map((p, i) => {
      const json = checkPattern(factory, `patterns[${i}]`, p, 'pipes');
      if (json.length > MAX_PATTERN_LENGTH) {
        throwArgumentError(factory, `patterns[${i}]`, `is ${json.length} characters as JSON; Pipes accept at most ${MAX_PATTERN_LENGTH}`);
      }
      return json;
    }));
  }

  /**
   * DynamoDB stream records with one of these event names.
   * @param eventNames e.g. `[DynamoDbEventName.INSERT]`
   */
  public static dynamoDbEventNames(eventNames: DynamoDbEventName[]): PipeFilter {
    checkEventNames('PipeFilter.dynamoDbEventNames', 'eventNames', eventNames);
    return PipeFilter.fromEventPatterns([{ eventName: [...eventNames] }]);
  }

  /**
   * DynamoDB stream records whose new image has the attribute equal to one of the values: the
   * article's "only new orders" is `dynamoDbNewImageEquals('status', ['NEW'], { eventNames: [INSERT] })`.
   * The table's stream must carry new images (NEW_IMAGE or NEW_AND_OLD_IMAGES).
   * @param attribute the top-level attribute name
   * @param values the values that pass (1..100)
   * @param options the event names and the attribute's type
   */
  public static dynamoDbNewImageEquals(attribute: string, values: string[], options: DynamoDbNewImageEqualsOptions = {}): PipeFilter {
    const factory = 'PipeFilter.dynamoDbNewImageEquals';
    if (typeof attribute !== 'string' || attribute.length === 0) throwArgumentError(factory, 'attribute', 'must be a non-empty attribute name');
    if (!Array.isArray(values) || values.length === 0 || values.length > 100) {
      throwArgumentError(factory, 'values', `must hold 1..100 values, got ${Array.isArray(values) ? values.length : String(values)}`);
    }
    const type = options.attributeType ?? DynamoDbAttributeType.STRING;
    if (!Object.values(DynamoDbAttributeType).includes(type)) throwArgumentError(factory, 'options.attributeType', `must be S or N, got ${type}`);
    const eventNames = options.eventNames ?? [DynamoDbEventName.INSERT, DynamoDbEventName.MODIFY];
    checkEventNames(factory, 'options.eventNames', eventNames);
    if (eventNames.includes(DynamoDbEventName.REMOVE)) {
      throwArgumentError(factory, 'options.eventNames', 'REMOVE records have no NewImage: match them with dynamoDbEventNames or an OldImage pattern');
    }
    return PipeFilter.fromEventPatterns([{ eventName: [...eventNames], dynamodb: { NewImage: { [attribute]: { [type]: [...values] } } } }]);
  }

  /**
   * Events that match any of the filters (their patterns together: at most 5).
   * @param filters the filters to combine
   */
  public static anyOf(...filters: PipeFilter[]): PipeFilter {
    const patterns = filters.flatMap((f) => f.patterns);
    if (filters.length === 0 || patterns.length > 5) {
      throwArgumentError('PipeFilter.anyOf', 'filters', `must hold 1..5 patterns in all, got ${patterns.length}`);
    }
    return new PipeFilter(patterns);
  }

  private constructor(
    /** The patterns, as the JSON strings the pipe's filter criteria hold. */
    public readonly patterns: string[],
  ) {}
}

function checkEventNames(factory: string, argument: string, eventNames: DynamoDbEventName[]): void {
  if (!Array.isArray(eventNames) || eventNames.length === 0) throwArgumentError(factory, argument, 'must name at least one event name');
  for (const n of eventNames) {
    if (!Object.values(DynamoDbEventName).includes(n)) throwArgumentError(factory, argument, `must hold INSERT, MODIFY or REMOVE, got ${n}`);
  }
}

/**
 * Which events one consumer receives: a pattern on the event body (the enriched event as the
 * pipe delivers it). With an SNS channel it becomes the subscription's filter policy on the message
 * body (checked in the SNS filter-policy dialect); with an event bus, the `detail` of the consumer's
 * rule (checked in the EventBridge dialect). Checked when the consumer is added.
 */
export class ConsumerFilter {
  /**
   * A pattern on the event body, e.g. `{ order: { total: [{ numeric: ['>', 100] }] } }`.
   * @param pattern the pattern object
   */
  public static onBody(pattern: { [key: string]: any }): ConsumerFilter {
    checkPattern('ConsumerFilter.onBody', 'pattern', pattern);
    return new ConsumerFilter(pattern);
  }

  private constructor(
    /** The pattern object. */
    public readonly pattern: { [key: string]: any },
  ) {}
}
