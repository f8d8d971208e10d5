import { checkNonNegative, checkNumber, checkPositive, throwArgumentError } from '../core/errors';

/**
 * List prices the cost model uses, in USD (US East, N. Virginia). Every field is optional: an
 * omitted one takes its documented default, so `{ pipesPerMillionRequests: 0.45 }` changes one price.
 *
 * The defaults are the figures of the seed article ("Simplifying Serverless Workflows with
 * EventBridge Pipes") and the AWS pricing pages: check them against your region and date.
 */
export interface PipesCostPrices {
  /**
   * EventBridge Pipes, per million requests. Requests are counted after filtering: a record the
   * pipe's filter drops is not billed by Pipes. There is no free tier.
   * @default 0.40
   */
  readonly pipesPerMillionRequests?: number;

  /**
   * Pipes payload chunk, in KB: each started chunk of an event counts as one request
   * (a 200 KB event is 4 requests).
   * @default 64
   */
  readonly pipesChunkKb?: number;

  /**
   * Amazon SNS standard topic, per million publish requests.
   * @default 0.50
   */
  readonly snsPerMillionPublishes?: number;

  /**
   * SNS payload chunk, in KB: each started chunk of a published message is billed as one request.
   * @default 64
   */
  readonly snsChunkKb?: number;

  /**
   * Amazon SQS standard queue, per million requests.
   * @default 0.40
   */
  readonly sqsStandardPerMillionRequests?: number;

  /**
   * Amazon SQS FIFO queue, per million requests.
   * @default 0.50
   */
  readonly sqsFifoPerMillionRequests?: number;

  /**
   * SQS payload chunk, in KB: each started chunk of a message is billed as one request.
   * @default 64
   */
  readonly sqsChunkKb?: number;

  /**
   * DynamoDB Streams, per 100,000 read requests (GetRecords) beyond the free ones.
   * @default 0.02
   */
  readonly dynamoDbStreamsPer100kReads?: number;

  /**
   * DynamoDB Streams read requests free each month (per account and region).
   * @default 2500000
   */
  readonly dynamoDbStreamsFreeReadsPerMonth?: number;
}

/** The inputs of `PipesCostModel.estimate`. */
export interface PipesCostEstimateProps {
  /** Records written to the source (DynamoDB stream records) per month, before any filtering. */
  readonly eventsPerMonth: number;

  /** Consumers the fan-out delivers to (one SQS queue each). */
  readonly consumers: number;

  /** Size of one event as it travels (after enrichment), in KB. Billed in started 64 KB chunks. */
  readonly eventSizeKb: number;

  /**
   * Fraction (0..1) of the source's records that pass the pipe's filter (e.g. 0.2 when one write in
   * five is a new order). Pipes bills only these; the plain SNS/SQS design publishes every event.
   */
  readonly filterPassRate: number;

  /**
   * Fraction (0..1) of the fanned-out events each consumer's own filter accepts (the average over
   * the consumers). Messages a subscription filter policy drops are not delivered to its queue.
   * @default 1 - every consumer takes every event
   */
  readonly consumerPassRate?: number;

  /**
   * SQS requests per delivered message: SNS's SendMessage, the consumer's ReceiveMessage and its
   * DeleteMessage. Batched receives and deletes (a Lambda event source with batch size 10) lower it
   * towards 1.2; empty receives (long polling an idle queue) are not counted.
   * @default 3
   */
  readonly sqsRequestsPerMessage?: number;

  /**
   * DynamoDB Streams read requests (GetRecords) the pipe makes per month. Pipes polls each shard
   * several times a second, so an idle or lightly used stream makes more reads than records, and a
   * busy one fewer (up to 1,000 records per read).
   * @default - one read per record (eventsPerMonth)
   */
  readonly streamReadRequestsPerMonth?: number;

  /**
   * List prices.
   * @default - the defaults documented on `PipesCostPrices`
   */
  readonly prices?: PipesCostPrices;
}

/** One line of a monthly bill. */
export interface PipesCostLine {
  /** The service and what is billed, e.g. "EventBridge Pipes requests". */
  readonly item: string;
  /** Billable units (requests, chunks counted) per month, before any free tier. */
  readonly units: number;
  /** Units that are free (e.g. DynamoDB Streams' 2.5M reads a month). */
  readonly freeUnits: number;
  /** Price per million units, in USD. */
  readonly pricePerMillion: number;
  /** Monthly cost of the line, in USD (unrounded). */
  readonly monthlyUsd: number;
}

/** The monthly cost of one architecture. */
export interface PipesArchitectureCost {
  /** What the architecture is. */
  readonly description: string;
  /** The bill, line by line. */
  readonly lines: PipesCostLine[];
  /** The sum of the lines, in USD (unrounded). */
  readonly monthlyUsd: number;
}

/** The result of `PipesCostModel.estimate`. */
export interface PipesCostEstimate {
  /** Requests one event counts for in Pipes (started 64 KB chunks). */
  readonly chunksPerEvent: number;
  /** Events that pass the pipe's filter per month. */
  readonly filteredEventsPerMonth: number;
  /** Messages delivered to consumer queues per month (the same in both architectures). */
  readonly deliveriesPerMonth: number;
  /**
   * DynamoDB stream → Pipes (filter, enrichment) → SNS standard topic → one SQS queue per consumer.
   * Enrichment compute (Lambda, Step Functions) is billed by its service and is not included.
   */
  readonly pipesFanOut: PipesArchitectureCost;
  /**
   * The producer publishes every event to an SNS standard topic; each consumer's SQS queue
   * subscribes with a filter policy that does what the pipe's filter and the consumer filter do.
   * No stream, no enrichment.
   */
  readonly snsSqs: PipesArchitectureCost;
  /** `pipesFanOut.monthlyUsd - snsSqs.monthlyUsd`: what Pipes' filter and enrichment cost on top (negative: saves). */
  readonly differenceUsd: number;
}

/**
 * Monthly cost of an EventBridge Pipes fan-out (`PipesFanOut`) compared with a plain SNS/SQS
 * fan-out, from list prices. Pure arithmetic: no AWS calls, usable in tests and scripts.
 *
 * The defaults are list prices of the seed article and the AWS pricing pages; enrichment and
 * consumer compute (Lambda, Step Functions), KMS, alarms and logs are billed on top and not modelled.
 *
 * @example
 * import { PipesCostModel } from 'cdk-production-patterns';
 *
 * const estimate = PipesCostModel.estimate({ eventsPerMonth: 10000000, consumers: 3, eventSizeKb: 2, filterPassRate: 0.2 });
 * const pipesCheaper = estimate.pipesFanOut.monthlyUsd < estimate.snsSqs.monthlyUsd;
 */
export class PipesCostModel {
  /** The default list prices (USD), every field set. */
  public static readonly DEFAULT_PRICES: PipesCostPrices = {
    pipesPerMillionRequests: 0.40,
    pipesChunkKb: 64,
    snsPerMillionPublishes: 0.50,
    snsChunkKb: 64,
    sqsStandardPerMillionRequests: 0.40,
    sqsFifoPerMillionRequests: 0.50,
    sqsChunkKb: 64,
    dynamoDbStreamsPer100kReads: 0.02,
    dynamoDbStreamsFreeReadsPerMonth: 2_500_000,
  };

  /**
   * Started chunks an event of `sizeKb` counts for (at least 1).
   * @param sizeKb the event size in KB (>= 0)
   * @param chunkKb the chunk size in KB (> 0)
   * @default chunkKb 64
   */
  public static chunks(sizeKb: number, chunkKb?: number): number {
    checkNonNegative('PipesCostModel.chunks', 'sizeKb', sizeKb);
    const chunk = chunkKb ?? 64;
    checkPositive('PipesCostModel.chunks', 'chunkKb', chunk);
    return Math.max(1, Math.ceil(sizeKb / chunk));
  }

  /**
   * Monthly cost of EventBridge Pipes for events that pass the filter.
   * @param filteredEvents events per month after the pipe's filter
   * @param eventSizeKb event size in KB
   * @param prices list prices (defaults as documented)
   */
  public static pipesCost(filteredEvents: number, eventSizeKb: number, prices?: PipesCostPrices): number {
    const p = resolvePrices('PipesCostModel.pipesCost', prices);
    checkNonNegative('PipesCostModel.pipesCost', 'filteredEvents', filteredEvents);
    return perMillion(filteredEvents * PipesCostModel.chunks(eventSizeKb, p.pipesChunkKb), p.pipesPerMillionRequests);
  }

  /**
   * Monthly cost of SNS publishes.
   * @param publishes messages published per month
   * @param messageSizeKb message size in KB
   * @param prices list prices (defaults as documented)
   */
  public static snsPublishCost(publishes: number, messageSizeKb: number, prices?: PipesCostPrices): number {
    const p = resolvePrices('PipesCostModel.snsPublishCost', prices);
    checkNonNegative('PipesCostModel.snsPublishCost', 'publishes', publishes);
    return perMillion(publishes * PipesCostModel.chunks(messageSizeKb, p.snsChunkKb), p.snsPerMillionPublishes);
  }

  /**
   * Monthly cost of SQS requests (each started 64 KB chunk of a request's payload is one request).
   * @param requests requests per month
   * @param messageSizeKb message size in KB
   * @param fifo FIFO queues (true) or standard queues (false)
   * @param prices list prices (defaults as documented)
   */
  public static sqsCost(requests: number, messageSizeKb: number, fifo: boolean, prices?: PipesCostPrices): number {
    const p = resolvePrices('PipesCostModel.sqsCost', prices);
    checkNonNegative('PipesCostModel.sqsCost', 'requests', requests);
    const price = fifo ? p.sqsFifoPerMillionRequests : p.sqsStandardPerMillionRequests;
    return perMillion(requests * PipesCostModel.chunks(messageSizeKb, p.sqsChunkKb), price);
  }

  /**
   * Monthly cost of DynamoDB Streams reads after the free ones.
   * @param readRequests GetRecords requests per month
   * @param prices list prices (defaults as documented)
   */
  public static dynamoDbStreamsCost(readRequests: number, prices?: PipesCostPrices): number {
    const p = resolvePrices('PipesCostModel.dynamoDbStreamsCost', prices);
    checkNonNegative('PipesCostModel.dynamoDbStreamsCost', 'readRequests', readRequests);
    return (Math.max(0, readRequests - p.dynamoDbStreamsFreeReadsPerMonth) / 100_000) * p.dynamoDbStreamsPer100kReads;
  }

  /**
   * Monthly cost of a Pipes fan-out and of a plain SNS/SQS fan-out for the same traffic.
   * @param props the traffic and prices
   */
  public static estimate(props: PipesCostEstimateProps): PipesCostEstimate {
    const where = 'PipesCostModel.estimate';
    if (props === undefined || props === null || typeof props !== 'object') {
      throwArgumentError(where, 'props', 'must be an object with eventsPerMonth, consumers, eventSizeKb and filterPassRate');
    }
    const p = resolvePrices(where, props.prices);
    checkNonNegative(where, 'eventsPerMonth', props.eventsPerMonth);
    checkNonNegative(where, 'consumers', props.consumers);
    if (!Number.isInteger(props.consumers)) throwArgumentError(where, 'consumers', `must be a whole number, got ${props.consumers}`);
    checkNonNegative(where, 'eventSizeKb', props.eventSizeKb);
    checkRate(where, 'filterPassRate', props.filterPassRate);
    const consumerPassRate = props.consumerPassRate ?? 1;
    checkRate(where, 'consumerPassRate', consumerPassRate);
    const sqsPerMessage = props.sqsRequestsPerMessage ?? 3;
    checkNonNegative(where, 'sqsRequestsPerMessage', sqsPerMessage);
    const streamReads = props.streamReadRequestsPerMonth ?? props.eventsPerMonth;
    checkNonNegative(where, 'streamReadRequestsPerMonth', streamReads);

    const filtered = props.eventsPerMonth * props.filterPassRate;
    const deliveries = filtered * props.consumers * consumerPassRate;
    const pipesChunks = PipesCostModel.chunks(props.eventSizeKb, p.pipesChunkKb);
    const snsChunks = PipesCostModel.chunks(props.eventSizeKb, p.snsChunkKb);
    const sqsChunks = PipesCostModel.chunks(props.eventSizeKb, p.sqsChunkKb);

    const streamsLine: PipesCostLine = {
      item: 'DynamoDB Streams reads',
      units: streamReads,
      freeUnits: Math.min(streamReads, p.dynamoDbStreamsFreeReadsPerMonth),
      pricePerMillion: p.dynamoDbStreamsPer100kReads * 10,
      monthlyUsd: PipesCostModel.dynamoDbStreamsCost(streamReads, p),
    };
    const pipesLine = line('EventBridge Pipes requests (after filtering)', filtered * pipesChunks, p.pipesPerMillionRequests);
    const sqsLine = (what: string) => line(what, deliveries * sqsPerMessage * sqsChunks, p.sqsStandardPerMillionRequests);

    const pipesFanOut = architecture(
      'DynamoDB stream -> EventBridge Pipes (filter, enrichment) -> SNS standard topic -> one SQS standard queue per consumer',
      [streamsLine, pipesLine, line('SNS publishes (filtered events)', filtered * snsChunks, p.snsPerMillionPublishes), sqsLine('SQS requests (consumer queues)')],
    );
    const snsSqs = architecture(
      'producer publishes every event -> SNS standard topic (filter policies) -> one SQS standard queue per consumer',
      [line('SNS publishes (every event)', props.eventsPerMonth * snsChunks, p.snsPerMillionPublishes), sqsLine('SQS requests (consumer queues)')],
    );
    return {
      chunksPerEvent: pipesChunks,
      filteredEventsPerMonth: filtered,
      deliveriesPerMonth: deliveries,
      pipesFanOut,
      snsSqs,
      differenceUsd: pipesFanOut.monthlyUsd - snsSqs.monthlyUsd,
    };
  }

  private constructor() {}
}

type ResolvedPrices = Required<PipesCostPrices>;

function resolvePrices(where: string, prices: PipesCostPrices | undefined): ResolvedPrices {
  const resolved = { ...PipesCostModel.DEFAULT_PRICES, ...definedOnly(prices ?? {}) } as ResolvedPrices;
  for (const [name, value] of Object.entries(resolved)) {
    checkNonNegative(where, `prices.${name}`, value);
  }
  for (const name of ['pipesChunkKb', 'snsChunkKb', 'sqsChunkKb'] as const) checkPositive(where, `prices.${name}`, resolved[name]);
  return resolved;
}

function definedOnly(prices: PipesCostPrices): PipesCostPrices {
  return Object.fromEntries(Object.entries(prices).filter(([, v]) => v !== undefined)) as PipesCostPrices;
}

function line(item: string, units: number, pricePerMillion: number): PipesCostLine {
  return { item, units, freeUnits: 0, pricePerMillion, monthlyUsd: perMillion(units, pricePerMillion) };
}

function architecture(description: string, lines: PipesCostLine[]): PipesArchitectureCost {
  return { description, lines, monthlyUsd: lines.reduce((sum, l) => sum + l.monthlyUsd, 0) };
}

function perMillion(units: number, pricePerMillion: number): number {
  return (units / 1_000_000) * pricePerMillion;
}

function checkRate(where: string, argument: string, value: number): void {
  checkNumber(where, argument, value);
  if (value < 0 || value > 1) throwArgumentError(where, argument, `must be in 0..1 (a fraction, not a percentage), got ${value}`);
}
