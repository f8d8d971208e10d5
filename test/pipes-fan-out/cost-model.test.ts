import { PipesCostModel } from '../../src/pipes-fan-out/cost-model';

/**
 * The price table of the seed article ("Simplifying Serverless Workflows with EventBridge Pipes",
 * dev.to/aws-builders), as issue 9 states it. The stored copy of the article available here holds
 * only its opening, so the rows are the figures, one per service.
 */
const SEED_ARTICLE_PRICE_TABLE = [
  { row: 'EventBridge Pipes: $0.40 per million requests (after filtering)', cost: () => PipesCostModel.pipesCost(1_000_000, 1), usd: 0.40 },
  { row: 'Pipes: each 64 KB chunk of an event is a request (1M events of 200 KB = 4M requests)', cost: () => PipesCostModel.pipesCost(1_000_000, 200), usd: 1.60 },
  { row: 'Amazon SNS: $0.50 per million publishes', cost: () => PipesCostModel.snsPublishCost(1_000_000, 1), usd: 0.50 },
  { row: 'Amazon SQS standard: $0.40 per million requests', cost: () => PipesCostModel.sqsCost(1_000_000, 1, false), usd: 0.40 },
  { row: 'Amazon SQS FIFO: $0.50 per million requests', cost: () => PipesCostModel.sqsCost(1_000_000, 1, true), usd: 0.50 },
  { row: 'DynamoDB Streams: first 2.5M reads a month free', cost: () => PipesCostModel.dynamoDbStreamsCost(2_500_000), usd: 0 },
  { row: 'DynamoDB Streams: $0.02 per 100,000 reads after the free ones', cost: () => PipesCostModel.dynamoDbStreamsCost(2_600_000), usd: 0.02 },
];

describe('PipesCostModel: the seed article\'s price table', () => {
  test.each(SEED_ARTICLE_PRICE_TABLE)('$row', ({ cost, usd }) => {
    expect(cost()).toBeCloseTo(usd, 10);
  });

  test('the defaults are the article\'s list prices', () => {
    expect(PipesCostModel.DEFAULT_PRICES).toEqual({
      pipesPerMillionRequests: 0.40,
      pipesChunkKb: 64,
      snsPerMillionPublishes: 0.50,
      snsChunkKb: 64,
      sqsStandardPerMillionRequests: 0.40,
      sqsFifoPerMillionRequests: 0.50,
      sqsChunkKb: 64,
      dynamoDbStreamsPer100kReads: 0.02,
      dynamoDbStreamsFreeReadsPerMonth: 2_500_000,
    });
  });
});

describe('PipesCostModel.chunks', () => {
  test.each([
    [0, 1], [1, 1], [64, 1], [64.001, 2], [128, 2], [200, 4], [256, 4],
  ])('%p KB is %p chunk(s) of 64 KB', (kb, chunks) => {
    expect(PipesCostModel.chunks(kb)).toBe(chunks);
  });

  test('another chunk size', () => {
    expect(PipesCostModel.chunks(100, 32)).toBe(4);
  });

  test('rejects a zero chunk size, naming it', () => {
    expect(() => PipesCostModel.chunks(1, 0)).toThrow(/PipesCostModel\.chunks: invalid argument 'chunkKb': must be > 0, got 0/);
  });
});

describe('PipesCostModel.estimate', () => {
  // 10M stream records a month, 20% of them new orders, 3 consumers, 2 KB events
  const base = { eventsPerMonth: 10_000_000, consumers: 3, eventSizeKb: 2, filterPassRate: 0.2 };

  test('Pipes fan-out, line by line', () => {
    const e = PipesCostModel.estimate(base);
    expect(e.chunksPerEvent).toBe(1);
    expect(e.filteredEventsPerMonth).toBe(2_000_000);
    expect(e.deliveriesPerMonth).toBe(6_000_000);
    const lines = Object.fromEntries(e.pipesFanOut.lines.map((l) => [l.item, l]));
    // 10M reads, 2.5M free: 7.5M * $0.02 / 100k = $1.50
    expect(lines['DynamoDB Streams reads'].monthlyUsd).toBeCloseTo(1.50, 10);
    expect(lines['DynamoDB Streams reads'].freeUnits).toBe(2_500_000);
    // 2M requests after filtering * $0.40/M = $0.80
    expect(lines['EventBridge Pipes requests (after filtering)'].monthlyUsd).toBeCloseTo(0.80, 10);
    // 2M publishes * $0.50/M = $1.00
    expect(lines['SNS publishes (filtered events)'].monthlyUsd).toBeCloseTo(1.00, 10);
    // 6M deliveries * 3 requests * $0.40/M = $7.20
    expect(lines['SQS requests (consumer queues)'].monthlyUsd).toBeCloseTo(7.20, 10);
    expect(e.pipesFanOut.monthlyUsd).toBeCloseTo(10.50, 10);
  });

  test('plain SNS/SQS publishes every event and delivers the same messages', () => {
    const e = PipesCostModel.estimate(base);
    const lines = Object.fromEntries(e.snsSqs.lines.map((l) => [l.item, l.monthlyUsd]));
    expect(lines['SNS publishes (every event)']).toBeCloseTo(5.00, 10);
    expect(lines['SQS requests (consumer queues)']).toBeCloseTo(7.20, 10);
    expect(e.snsSqs.monthlyUsd).toBeCloseTo(12.20, 10);
    expect(e.differenceUsd).toBeCloseTo(10.50 - 12.20, 10);
  });

  test('Pipes bills requests after filtering: a filter that drops everything costs no Pipes requests', () => {
    const e = PipesCostModel.estimate({ ...base, filterPassRate: 0 });
    expect(e.pipesFanOut.lines.find((l) => l.item.startsWith('EventBridge Pipes'))!.monthlyUsd).toBe(0);
    expect(e.deliveriesPerMonth).toBe(0);
  });

  test('large events count one request per started 64 KB chunk in Pipes, SNS and SQS', () => {
    const e = PipesCostModel.estimate({ ...base, eventSizeKb: 100 });
    expect(e.chunksPerEvent).toBe(2);
    const pipes = e.pipesFanOut.lines.find((l) => l.item.startsWith('EventBridge Pipes'))!;
    expect(pipes.units).toBe(4_000_000);
    expect(pipes.monthlyUsd).toBeCloseTo(1.60, 10);
    expect(e.snsSqs.lines[0].units).toBe(20_000_000);
  });

  test('consumer filters, batching and stream reads are parameters', () => {
    const e = PipesCostModel.estimate({ ...base, consumerPassRate: 0.5, sqsRequestsPerMessage: 1.2, streamReadRequestsPerMonth: 2_000_000 });
    expect(e.deliveriesPerMonth).toBe(3_000_000);
    const sqs = e.pipesFanOut.lines.find((l) => l.item.startsWith('SQS'))!;
    expect(sqs.monthlyUsd).toBeCloseTo(3_000_000 * 1.2 * 0.4 / 1e6, 10);
    expect(e.pipesFanOut.lines.find((l) => l.item.startsWith('DynamoDB'))!.monthlyUsd).toBe(0);
  });

  test('prices are parameters; an omitted or undefined one keeps its default', () => {
    const e = PipesCostModel.estimate({ ...base, prices: { pipesPerMillionRequests: 1, snsPerMillionPublishes: undefined } });
    expect(e.pipesFanOut.lines.find((l) => l.item.startsWith('EventBridge Pipes'))!.monthlyUsd).toBeCloseTo(2, 10);
    expect(e.snsSqs.lines[0].monthlyUsd).toBeCloseTo(5, 10);
  });

  test('zero traffic costs nothing', () => {
    const e = PipesCostModel.estimate({ eventsPerMonth: 0, consumers: 0, eventSizeKb: 0, filterPassRate: 0 });
    expect(e.pipesFanOut.monthlyUsd).toBe(0);
    expect(e.snsSqs.monthlyUsd).toBe(0);
  });

  test.each([
    [{ eventsPerMonth: -1 }, /invalid argument 'eventsPerMonth': must be >= 0, got -1/],
    [{ consumers: -2 }, /invalid argument 'consumers': must be >= 0, got -2/],
    [{ consumers: 1.5 }, /invalid argument 'consumers': must be a whole number, got 1.5/],
    [{ eventSizeKb: -0.1 }, /invalid argument 'eventSizeKb': must be >= 0/],
    [{ eventSizeKb: Number.NaN }, /invalid argument 'eventSizeKb': must be a finite number, got NaN/],
    [{ filterPassRate: 20 }, /invalid argument 'filterPassRate': must be in 0\.\.1 \(a fraction, not a percentage\), got 20/],
    [{ filterPassRate: -0.1 }, /invalid argument 'filterPassRate': must be in 0\.\.1/],
    [{ consumerPassRate: 1.01 }, /invalid argument 'consumerPassRate': must be in 0\.\.1/],
    [{ sqsRequestsPerMessage: -1 }, /invalid argument 'sqsRequestsPerMessage': must be >= 0/],
    [{ streamReadRequestsPerMonth: Infinity }, /invalid argument 'streamReadRequestsPerMonth': must be a finite number/],
    [{ prices: { snsPerMillionPublishes: -0.5 } }, /invalid argument 'prices\.snsPerMillionPublishes': must be >= 0, got -0\.5/],
    [{ prices: { pipesChunkKb: 0 } }, /invalid argument 'prices\.pipesChunkKb': must be > 0, got 0/],
  ])('rejects %p', (override, message) => {
    expect(() => PipesCostModel.estimate({ ...base, ...override })).toThrow(message);
    expect(() => PipesCostModel.estimate({ ...base, ...override })).toThrow(/^PipesCostModel\.estimate: /);
  });

  test('rejects a missing props object', () => {
    expect(() => PipesCostModel.estimate(undefined as any)).toThrow(/PipesCostModel\.estimate: invalid argument 'props'/);
  });

  test('the single-service helpers validate their arguments', () => {
    expect(() => PipesCostModel.pipesCost(-1, 1)).toThrow(/PipesCostModel\.pipesCost: invalid argument 'filteredEvents'/);
    expect(() => PipesCostModel.snsPublishCost(-1, 1)).toThrow(/PipesCostModel\.snsPublishCost: invalid argument 'publishes'/);
    expect(() => PipesCostModel.sqsCost(-1, 1, false)).toThrow(/PipesCostModel\.sqsCost: invalid argument 'requests'/);
    expect(() => PipesCostModel.dynamoDbStreamsCost(-1)).toThrow(/PipesCostModel\.dynamoDbStreamsCost: invalid argument 'readRequests'/);
    expect(() => PipesCostModel.chunks(-1)).toThrow(/PipesCostModel\.chunks: invalid argument 'sizeKb'/);
  });
});
