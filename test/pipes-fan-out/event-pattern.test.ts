import {
  assertEventPattern,
  EventPatternMatcher,
  matchesEventPattern,
  matchesFilterPolicy,
  PatternMode,
  validateEventPattern,
} from '../../src/pipes-fan-out/event-pattern';

/*
 * Cases are taken from the AWS documentation, one test per documented example:
 * - EB: "Content filtering in Amazon EventBridge event patterns" (and "Amazon EventBridge event patterns"
 *   for values, arrays, null and empty strings)
 * - OPS: "Comparison operators for use in event patterns in Amazon EventBridge" (Pipe support column)
 * - PIPES: "Event filtering in Amazon EventBridge Pipes", with the record shapes of the Lambda pages it
 *   points to ("Using event filtering with a DynamoDB event source", "... with an Amazon SQS event source")
 * - SNS: "Amazon SNS message filtering" (payload-based examples) and "Filter policy constraints in Amazon SNS"
 */

const eb = (pattern: object, event: unknown) => matchesEventPattern(pattern, event);
const pipes = (pattern: object, event: unknown) => matchesEventPattern(pattern, event, { mode: 'pipes' });

/** The EC2 state-change event the EventBridge pages use. */
const ec2Event = {
  'version': '0',
  'id': '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  'source': 'aws.ec2',
  'account': '111122223333',
  'time': '2017-12-22T18:43:48Z',
  'region': 'us-west-1',
  'resources': ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  'detail': { 'instance-id': 'i-1234567890abcdef0', 'state': 'terminated' },
};

describe('EventBridge content filtering (EB page examples)', () => {
  test('EB "Prefix matching": time starts with 2017-10-02', () => {
    const pattern = { time: [{ prefix: '2017-10-02' }] };
    expect(eb(pattern, { time: '2017-10-02T18:43:48Z' })).toBe(true);
    expect(eb(pattern, { time: '2017-10-03T18:43:48Z' })).toBe(false);
    expect(eb(pattern, { time: 20171002 })).toBe(false); // prefix applies to strings only
  });

  test('EB "Prefix matching while ignoring case": service starts with EventB in any case', () => {
    const pattern = { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } };
    for (const service of ['EventBridge', 'EVENTBRIDGE', 'eventbridge', 'eVeNtB']) {
      expect(eb(pattern, { detail: { service } })).toBe(true);
    }
    expect(eb(pattern, { detail: { service: 'SNS' } })).toBe(false);
  });

  test('EB "Suffix matching": FileName ends with .png', () => {
    const pattern = { FileName: [{ suffix: '.png' }] };
    expect(eb(pattern, { FileName: 'image.png' })).toBe(true);
    expect(eb(pattern, { FileName: 'image.PNG' })).toBe(false);
    expect(eb(pattern, { FileName: 'image.jpg' })).toBe(false);
  });

  test('EB "Suffix matching while ignoring case": FileName ends with .png or .PNG', () => {
    const pattern = { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } };
    expect(eb(pattern, { detail: { FileName: 'image.PNG' } })).toBe(true);
    expect(eb(pattern, { detail: { FileName: 'image.Png' } })).toBe(true);
    expect(eb(pattern, { detail: { FileName: 'image.gif' } })).toBe(false);
  });

  test('EB "Anything-but matching": a string', () => {
    const pattern = { detail: { state: [{ 'anything-but': 'initializing' }] } };
    expect(eb(pattern, { detail: { state: 'running' } })).toBe(true);
    expect(eb(pattern, { detail: { state: 'initializing' } })).toBe(false);
    expect(eb(pattern, { detail: {} })).toBe(false); // the field must exist
  });

  test('EB "Anything-but matching": a number', () => {
    const pattern = { detail: { 'x-limit': [{ 'anything-but': 123 }] } };
    expect(eb(pattern, { detail: { 'x-limit': 124 } })).toBe(true);
    expect(eb(pattern, { detail: { 'x-limit': 123 } })).toBe(false);
    expect(eb(pattern, { detail: { 'x-limit': 1.23e2 } })).toBe(false); // compared numerically
  });

  test('EB "Anything-but matching": a list of strings', () => {
    const pattern = { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } };
    expect(eb(pattern, { detail: { state: 'running' } })).toBe(true);
    expect(eb(pattern, { detail: { state: 'stopped' } })).toBe(false);
    expect(eb(pattern, { detail: { state: 'overloaded' } })).toBe(false);
  });

  test('EB "Anything-but matching": a list of numbers', () => {
    const pattern = { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } };
    expect(eb(pattern, { detail: { 'x-limit': 150 } })).toBe(true);
    expect(eb(pattern, { detail: { 'x-limit': 200 } })).toBe(false);
  });

  test('EB "Anything-but matching": anything-but prefix', () => {
    const pattern = { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } };
    expect(eb(pattern, { detail: { state: 'running' } })).toBe(true);
    expect(eb(pattern, { detail: { state: 'initializing' } })).toBe(false);
  });

  test('EB "Anything-but matching": anything-but suffix', () => {
    const pattern = { detail: { FileName: [{ 'anything-but': { suffix: '.txt' } }] } };
    expect(eb(pattern, { detail: { FileName: 'notes.md' } })).toBe(true);
    expect(eb(pattern, { detail: { FileName: 'notes.txt' } })).toBe(false);
  });

  test('EB "Anything-but matching": anything-but equals-ignore-case list', () => {
    const pattern = { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'OverLoaded'] } }] } };
    expect(eb(pattern, { detail: { state: 'running' } })).toBe(true);
    expect(eb(pattern, { detail: { state: 'STOPPED' } })).toBe(false);
    expect(eb(pattern, { detail: { state: 'overloaded' } })).toBe(false);
  });

  test('EB "Anything-but matching": anything-but wildcard, single and list', () => {
    const one = { detail: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] } };
    expect(eb(one, { detail: { FilePath: '/usr/bin/app' } })).toBe(true);
    expect(eb(one, { detail: { FilePath: '/usr/lib/libc.so' } })).toBe(false);
    const list = { detail: { FilePath: [{ 'anything-but': { wildcard: ['*/lib/*', '*/bin/*'] } }] } };
    expect(eb(list, { detail: { FilePath: '/home/me/notes' } })).toBe(true);
    expect(eb(list, { detail: { FilePath: '/usr/bin/app' } })).toBe(false);
  });

  test('EB "Numeric matching": c-count, d-count and x-limit', () => {
    const pattern = {
      detail: {
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ numeric: ['=', 3.018e2] }],
      },
    };
    expect(eb(pattern, { detail: { 'c-count': 5, 'd-count': 7, 'x-limit': 301.8 } })).toBe(true);
    expect(eb(pattern, { detail: { 'c-count': 0, 'd-count': 7, 'x-limit': 301.8 } })).toBe(false); // > 0 excludes 0
    expect(eb(pattern, { detail: { 'c-count': 5, 'd-count': 10, 'x-limit': 301.8 } })).toBe(false);
    expect(eb(pattern, { detail: { 'c-count': 5, 'd-count': 7, 'x-limit': 301.9 } })).toBe(false);
    // numbers are compared as numbers: a numeric string is not a number
    expect(eb(pattern, { detail: { 'c-count': '5', 'd-count': 7, 'x-limit': 301.8 } })).toBe(false);
  });

  test('EB "IP address matching": IPv4 CIDR 10.0.0.0/24', () => {
    const pattern = { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } };
    expect(eb(pattern, { detail: { sourceIPAddress: '10.0.0.255' } })).toBe(true);
    expect(eb(pattern, { detail: { sourceIPAddress: '10.0.0.0' } })).toBe(true);
    expect(eb(pattern, { detail: { sourceIPAddress: '10.0.1.1' } })).toBe(false);
    expect(eb(pattern, { detail: { sourceIPAddress: 'not-an-ip' } })).toBe(false);
  });

  test('EB "IP address matching": IPv6 CIDR', () => {
    const pattern = { detail: { sourceIPAddress: [{ cidr: '2001:db8::/32' }] } };
    expect(eb(pattern, { detail: { sourceIPAddress: '2001:db8:1234::1' } })).toBe(true);
    expect(eb(pattern, { detail: { sourceIPAddress: '2001:0db8:ffff:ffff:ffff:ffff:ffff:ffff' } })).toBe(true);
    expect(eb(pattern, { detail: { sourceIPAddress: '2001:db9::1' } })).toBe(false);
    expect(eb(pattern, { detail: { sourceIPAddress: '10.0.0.1' } })).toBe(false); // other family
    const mapped = { ip: [{ cidr: '::ffff:192.0.2.0/120' }] };
    expect(eb(mapped, { ip: '::ffff:192.0.2.77' })).toBe(true);
  });

  test('EB "IP address matching": an IP written as a plain value matches that address in any notation', () => {
    expect(eb({ ip: ['2001:db8::1'] }, { ip: '2001:0DB8:0000:0000:0000:0000:0000:0001' })).toBe(true);
    expect(eb({ ip: ['10.0.0.1'] }, { ip: '10.0.0.1' })).toBe(true);
    expect(eb({ ip: ['10.0.0.1'] }, { ip: '10.0.0.2' })).toBe(false);
    // as event-ruler does, a CIDR spans from the address as written to its last host address
    expect(eb({ ip: [{ cidr: '10.0.0.8/24' }] }, { ip: '10.0.0.200' })).toBe(true);
    expect(eb({ ip: [{ cidr: '10.0.0.8/24' }] }, { ip: '10.0.0.3' })).toBe(false);
  });

  test('EB "Exists matching": exists true and exists false', () => {
    const exists = { detail: { state: [{ exists: true }] } };
    expect(eb(exists, ec2Event)).toBe(true);
    expect(eb(exists, { detail: { 'instance-id': 'i-1' } })).toBe(false);
    const absent = { detail: { state: [{ exists: false }] } };
    expect(eb(absent, ec2Event)).toBe(false);
    expect(eb(absent, { detail: { 'instance-id': 'i-1' } })).toBe(true);
    expect(eb(absent, { source: 'aws.ec2' })).toBe(true); // missing parent: the field does not exist either
  });

  test('EB "Exists matching": exists works on leaf nodes only, and a null value exists', () => {
    expect(eb({ detail: [{ exists: true }] }, ec2Event)).toBe(false); // detail is an intermediate node
    expect(eb({ detail: { state: [{ exists: true }] } }, { detail: { state: null } })).toBe(true);
    expect(eb({ detail: { state: [{ exists: false }] } }, { detail: { state: null } })).toBe(false);
  });

  test('EB "Equals-ignore-case matching": detail-type in any case', () => {
    const pattern = { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance state-change notification' }] };
    expect(eb(pattern, ec2Event)).toBe(true);
    expect(eb(pattern, { 'detail-type': 'EC2 Instance State-change' })).toBe(false);
  });

  test('EB "Matching using wildcards": EventBusArn in any account', () => {
    const pattern = { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] };
    expect(eb(pattern, { EventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/default' })).toBe(true);
    expect(eb(pattern, { EventBusArn: 'arn:aws:events:us-west-2:123456789012:event-bus/default' })).toBe(false);
  });

  test('EB "Matching using wildcards": * spans any characters, \\* is a literal star', () => {
    expect(eb({ f: [{ wildcard: 'dir/*.png' }] }, { f: 'dir/a/b.png' })).toBe(true);
    expect(eb({ f: [{ wildcard: 'dir/*.png' }] }, { f: 'dir/a.png.bak' })).toBe(false);
    expect(eb({ f: [{ wildcard: 'a\\*b' }] }, { f: 'a*b' })).toBe(true);
    expect(eb({ f: [{ wildcard: 'a\\*b' }] }, { f: 'axb' })).toBe(false);
    expect(eb({ f: [{ wildcard: 'a.b' }] }, { f: 'axb' })).toBe(false); // no regex leaks
  });

  test('EB "Complex example with multiple matching"', () => {
    const pattern = {
      time: [{ prefix: '2017-10-02' }],
      detail: {
        'state': [{ 'anything-but': 'initializing' }],
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ 'anything-but': [100, 200, 300] }],
      },
    };
    const event = { time: '2017-10-02T18:43:48Z', detail: { 'state': 'running', 'c-count': 3, 'd-count': 9, 'x-limit': 50 } };
    expect(eb(pattern, event)).toBe(true);
    expect(eb(pattern, { ...event, detail: { ...event.detail, 'x-limit': 200 } })).toBe(false); // AND across fields
  });

  test('EB "Complex example with $or matching": c-count or d-count', () => {
    const pattern = { detail: { $or: [{ 'c-count': [{ numeric: ['>', 0, '<=', 5] }] }, { 'd-count': [{ numeric: ['<', 10] }] }] } };
    expect(eb(pattern, { detail: { 'c-count': 3 } })).toBe(true);
    expect(eb(pattern, { detail: { 'd-count': 3 } })).toBe(true);
    expect(eb(pattern, { detail: { 'c-count': 30, 'd-count': 30 } })).toBe(false);
  });

  test('EB "Complex example with $or matching": source AND (metricName OR namespace)', () => {
    const pattern = {
      source: ['aws.cloudwatch'],
      $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
    };
    expect(eb(pattern, { source: 'aws.cloudwatch', metricName: 'ReadLatency', namespace: 'AWS/RDS' })).toBe(true);
    expect(eb(pattern, { source: 'aws.cloudwatch', metricName: 'DiskQueue', namespace: 'AWS/ES' })).toBe(true);
    expect(eb(pattern, { source: 'aws.cloudwatch', metricName: 'DiskQueue', namespace: 'AWS/RDS' })).toBe(false);
    expect(eb(pattern, { source: 'aws.ec2', metricName: 'ReadLatency' })).toBe(false);
  });

  test('"Amazon EventBridge event patterns": values are matched exactly, any value of the array (OR)', () => {
    const pattern = { 'source': ['aws.ec2', 'aws.fargate'], 'detail-type': ['EC2 Instance State-change Notification'] };
    expect(eb(pattern, ec2Event)).toBe(true);
    expect(eb(pattern, { ...ec2Event, source: 'aws.s3' })).toBe(false);
    expect(eb(pattern, { ...ec2Event, source: 'AWS.EC2' })).toBe(false); // case-sensitive
    expect(eb({ n: [5] }, { n: 5.0 })).toBe(true);
    expect(eb({ n: [5] }, { n: '5' })).toBe(false);
    expect(eb({ b: [true] }, { b: true })).toBe(true);
    expect(eb({ b: [true] }, { b: 'true' })).toBe(false);
  });

  test('"Amazon EventBridge event patterns" arrays: matches when the arrays intersect', () => {
    const pattern = {
      resources: [
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
      ],
    };
    const event = {
      resources: [
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:000000000000:instance/i-b188560f',
      ],
    };
    expect(eb(pattern, event)).toBe(true);
    expect(eb(pattern, { resources: ['arn:aws:ec2:us-east-1:000000000000:instance/i-b188560f'] })).toBe(false);
  });

  test('"Amazon EventBridge event patterns" arrays of objects: the nested pattern matches within one element', () => {
    const pattern = { detail: { items: { sku: ['A'], qty: [{ numeric: ['>', 1] }] } } };
    expect(eb(pattern, { detail: { items: [{ sku: 'B', qty: 5 }, { sku: 'A', qty: 2 }] } })).toBe(true);
    expect(eb(pattern, { detail: { items: [{ sku: 'A', qty: 1 }, { sku: 'B', qty: 5 }] } })).toBe(false);
  });

  test('"Amazon EventBridge event patterns" null values and empty strings are distinct and must be present', () => {
    const nullPattern = { detail: { responseElements: [null] } };
    expect(eb(nullPattern, { detail: { responseElements: null } })).toBe(true);
    expect(eb(nullPattern, { detail: { responseElements: '' } })).toBe(false);
    expect(eb(nullPattern, { detail: {} })).toBe(false); // null is not "missing"
    const emptyPattern = { detail: { eventVersion: [''] } };
    expect(eb(emptyPattern, { detail: { eventVersion: '' } })).toBe(true);
    expect(eb(emptyPattern, { detail: { eventVersion: null } })).toBe(false);
  });

  test('every field in the pattern must match (AND); fields absent from the pattern are ignored', () => {
    const pattern = { source: ['aws.ec2'], detail: { state: ['terminated'] } };
    expect(eb(pattern, ec2Event)).toBe(true);
    expect(eb(pattern, { source: 'aws.ec2' })).toBe(false);
    expect(eb(pattern, { source: 'aws.ec2', detail: 'terminated' })).toBe(false); // structure must match
  });
});

describe('EventBridge Pipes filtering (PIPES page examples)', () => {
  const ddbRecord = (eventName: string, status: string) => ({
    eventID: '1',
    eventName,
    eventVersion: '1.0',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      ApproximateCreationDateTime: '1678831218.0',
      Keys: { CustomerName: { S: 'AnyCompany Industries' } },
      NewImage: {
        AccountManager: { S: 'Pat Candella' },
        PaymentTerms: { S: '60 days' },
        CustomerName: { S: 'AnyCompany Industries' },
        status: { S: status },
      },
      SequenceNumber: '111',
      SizeBytes: 26,
      StreamViewType: 'NEW_IMAGE',
    },
  });

  test('PIPES DynamoDB: "Filtering with table attributes" on the primary key', () => {
    const pattern = { dynamodb: { Keys: { CustomerName: { S: ['AnyCompany Industries'] } } } };
    expect(pipes(pattern, ddbRecord('INSERT', 'NEW'))).toBe(true);
    const other = ddbRecord('INSERT', 'NEW');
    other.dynamodb.Keys.CustomerName.S = 'Example Corp';
    expect(pipes(pattern, other)).toBe(false);
  });

  test('PIPES DynamoDB: new orders only (eventName INSERT and NewImage status NEW, the issue\'s use case)', () => {
    const pattern = { eventName: ['INSERT'], dynamodb: { NewImage: { status: { S: ['NEW'] } } } };
    expect(pipes(pattern, ddbRecord('INSERT', 'NEW'))).toBe(true);
    expect(pipes(pattern, ddbRecord('MODIFY', 'NEW'))).toBe(false);
    expect(pipes(pattern, ddbRecord('INSERT', 'SHIPPED'))).toBe(false);
  });

  test('PIPES DynamoDB: "Using the Exists operator" on a NewImage attribute', () => {
    const pattern = { dynamodb: { NewImage: { AccountManager: { S: [{ exists: true }] } } } };
    expect(pipes(pattern, ddbRecord('INSERT', 'NEW'))).toBe(true);
    const without = ddbRecord('INSERT', 'NEW') as any;
    delete without.dynamodb.NewImage.AccountManager;
    expect(pipes(pattern, without)).toBe(false);
  });

  test('PIPES SQS: a JSON message body is filtered as JSON', () => {
    const record = {
      messageId: '059f36b4-87a3-44ab-83d2-661975830a7d',
      body: '{\n "RecordNumber": 1234,\n "TimeStamp": "yyyy-mm-ddThh:mm:ss",\n "RequestCode": "AAAA"\n}',
      attributes: { ApproximateReceiveCount: '1' },
      eventSource: 'aws:sqs',
    };
    expect(pipes({ body: { RequestCode: ['AAAA'] } }, record)).toBe(true);
    expect(pipes({ body: { RequestCode: ['BBBB'] } }, record)).toBe(false);
    expect(pipes({ body: { RecordNumber: [{ numeric: ['>', 1000] }] } }, record)).toBe(true);
    // the event-bus mode does not decode the body: the body is a string there
    expect(eb({ body: { RequestCode: ['AAAA'] } }, record)).toBe(false);
  });

  test('PIPES SQS: a plain-string body is filtered as a string', () => {
    const record = { messageId: '1', body: 'Hello, this is a test.', eventSource: 'aws:sqs' };
    expect(pipes({ body: ['Hello, this is a test.'] }, record)).toBe(true);
    expect(pipes({ body: [{ prefix: 'Hello' }] }, record)).toBe(true);
    expect(pipes({ body: { greeting: [{ exists: true }] } }, record)).toBe(false);
  });

  test('PIPES Kinesis: the base64 data payload is decoded before filtering', () => {
    const payload = { City: 'Seattle', State: 'WA', Temperature: '46', Month: 'December' };
    const record = {
      kinesisSchemaVersion: '1.0',
      partitionKey: '1',
      sequenceNumber: '49590338271490256608559692538361571095921575989136588898',
      data: Buffer.from(JSON.stringify(payload)).toString('base64'),
      approximateArrivalTimestamp: 1545084650.987,
      eventSource: 'aws:kinesis',
    };
    expect(pipes({ data: { City: ['Seattle'] } }, record)).toBe(true);
    expect(pipes({ data: { City: ['Portland'] } }, record)).toBe(false);
    expect(pipes({ partitionKey: ['1'], data: { State: [{ 'anything-but': 'CA' }] } }, record)).toBe(true);
  });

  test('OPS "Pipe support: No": anything-but with prefix, suffix, equals-ignore-case or wildcard is rejected in pipes mode', () => {
    const cases: Array<[string, object]> = [
      ['prefix', { Region: [{ 'anything-but': { prefix: 'us-' } }] }],
      ['suffix', { FileName: [{ 'anything-but': { suffix: '.png' } }] }],
      ['equals-ignore-case', { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] }],
      ['wildcard', { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] }],
    ];
    for (const [op, pattern] of cases) {
      expect(validateEventPattern(pattern, 'eventbridge')).toEqual([]);
      const problems = validateEventPattern(pattern, 'pipes');
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain(`"anything-but" with "${op}" is not supported by EventBridge Pipes`);
      expect(problems[0]).toMatch(/^(Region|FileName|state|FilePath): /);
      expect(() => matchesEventPattern(pattern, {}, { mode: 'pipes' })).toThrow(/not supported by EventBridge Pipes/);
    }
  });

  test('OPS "Pipe support: Yes": the other operators are accepted in pipes mode', () => {
    const pattern = {
      Region: [{ prefix: 'us-' }, { prefix: { 'equals-ignore-case': 'EU-' } }],
      FileName: [{ suffix: '.png' }],
      state: [{ 'anything-but': ['stopped', 'overloaded'] }],
      count: [{ numeric: ['>=', 0, '<', 10] }],
      ip: [{ cidr: '10.0.0.0/8' }],
      name: [{ 'equals-ignore-case': 'alice' }, { wildcard: 'bo*' }],
      gone: [{ exists: false }],
      $or: [{ a: ['1'] }, { b: [null, ''] }],
    };
    expect(validateEventPattern(pattern, 'pipes')).toEqual([]);
  });

  test('PIPES "Filter" API reference: a pattern longer than 4096 characters is rejected', () => {
    const pattern = { source: Array.from({ length: 400 }, (_, i) => `source-number-${i}`) };
    expect(validateEventPattern(pattern, 'eventbridge')).toEqual([]);
    expect(validateEventPattern(pattern, 'pipes')).toEqual([
      expect.stringMatching(/^\(root\): the pattern is \d+ characters of JSON; a Pipes filter pattern holds at most 4096/),
    ]);
  });
});

describe('SNS payload-based filter policies (SNS page examples)', () => {
  /** The message body of the SNS filtering examples. */
  const body = {
    store: 'example_corp',
    event: 'order_placed',
    customer_interests: ['soccer', 'rugby', 'hockey'],
    price_usd: 210.75,
    source_ip: '10.0.0.27',
  };

  test('SNS "Filter policy examples": the policy that accepts the example message', () => {
    const policy = {
      store: ['example_corp'],
      event: [{ 'anything-but': 'order_cancelled' }],
      customer_interests: ['rugby', 'football', 'baseball'],
      price_usd: [{ numeric: ['>=', 100] }],
    };
    expect(validateEventPattern(policy, 'sns')).toEqual([]);
    expect(matchesFilterPolicy(policy, body)).toBe(true);
    expect(matchesFilterPolicy(policy, JSON.stringify(body), { scope: 'MessageBody' })).toBe(true);
    expect(matchesFilterPolicy(policy, { ...body, event: 'order_cancelled' })).toBe(false);
  });

  test('SNS "Exact value matching": strings, numbers and arrays in the body', () => {
    expect(matchesFilterPolicy({ customer_interests: ['rugby'] }, body)).toBe(true);
    expect(matchesFilterPolicy({ customer_interests: ['tennis'] }, body)).toBe(false);
    expect(matchesFilterPolicy({ price_usd: [210.75] }, body)).toBe(true);
  });

  test('SNS "Prefix matching" and "Suffix matching"', () => {
    expect(matchesFilterPolicy({ customer_interests: [{ prefix: 'hock' }] }, body)).toBe(true);
    expect(matchesFilterPolicy({ customer_interests: [{ prefix: 'bas' }] }, body)).toBe(false);
    expect(matchesFilterPolicy({ customer_interests: [{ suffix: 'ey' }] }, body)).toBe(true);
    expect(matchesFilterPolicy({ customer_interests: [{ suffix: 'ball' }] }, body)).toBe(false);
  });

  test('SNS "Anything-but matching": values, and anything-but prefix', () => {
    expect(matchesFilterPolicy({ customer_interests: [{ 'anything-but': ['rugby', 'tennis'] }] }, body)).toBe(true);
    expect(matchesFilterPolicy({ store: [{ 'anything-but': 'example_corp' }] }, body)).toBe(false);
    expect(matchesFilterPolicy({ event: [{ 'anything-but': { prefix: 'order-' } }] }, body)).toBe(true);
    expect(matchesFilterPolicy({ event: [{ 'anything-but': { prefix: 'order_' } }] }, body)).toBe(false);
  });

  test('SNS "Equals-ignore-case matching"', () => {
    expect(matchesFilterPolicy({ store: [{ 'equals-ignore-case': 'EXAMPLE_CORP' }] }, body)).toBe(true);
    expect(matchesFilterPolicy({ store: [{ 'equals-ignore-case': 'other_corp' }] }, body)).toBe(false);
  });

  test('SNS "IP address matching"', () => {
    expect(matchesFilterPolicy({ source_ip: [{ cidr: '10.0.0.0/24' }] }, body)).toBe(true);
    expect(matchesFilterPolicy({ source_ip: [{ cidr: '10.0.1.0/24' }] }, body)).toBe(false);
  });

  test('SNS "Numeric value matching": exact and ranges', () => {
    expect(matchesFilterPolicy({ price_usd: [{ numeric: ['=', 210.75] }] }, body)).toBe(true);
    expect(matchesFilterPolicy({ price_usd: [{ numeric: ['>', 0, '<=', 150] }] }, body)).toBe(false);
    expect(matchesFilterPolicy({ price_usd: [{ numeric: ['>', 200, '<', 300] }] }, body)).toBe(true);
  });

  test('SNS "Key matching": exists true and exists false', () => {
    expect(matchesFilterPolicy({ store: [{ exists: true }] }, body)).toBe(true);
    expect(matchesFilterPolicy({ coupon: [{ exists: true }] }, body)).toBe(false);
    expect(matchesFilterPolicy({ coupon: [{ exists: false }] }, body)).toBe(true);
  });

  test('SNS "OR logic": $or over keys', () => {
    const policy = { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/EC2'] }] };
    expect(matchesFilterPolicy(policy, { source: 'aws.cloudwatch', namespace: 'AWS/EC2' })).toBe(true);
    expect(matchesFilterPolicy(policy, { source: 'aws.cloudwatch', namespace: 'AWS/RDS' })).toBe(false);
  });

  test('SNS payload-based filtering: nested policies match nested body properties', () => {
    const policy = { order: { status: ['NEW'], total: [{ numeric: ['>=', 100] }] } };
    expect(matchesFilterPolicy(policy, { order: { status: 'NEW', total: 120 } })).toBe(true);
    expect(matchesFilterPolicy(policy, { order: { status: 'NEW', total: 20 } })).toBe(false);
    // the body must be a JSON object: anything else matches no policy, not even exists:false
    expect(matchesFilterPolicy(policy, 'not json')).toBe(false);
    expect(matchesFilterPolicy({ coupon: [{ exists: false }] }, 'not json')).toBe(false);
    expect(matchesFilterPolicy({ coupon: [{ exists: false }] }, '["a"]')).toBe(false);
  });

  test('SNS "Filter policy constraints": the documented complexity example is 3 x 1 x 2 = 6 combinations', () => {
    const policy = {
      key_a: ['value_one', 'value_two', 'value_three'],
      key_b: ['value_one'],
      key_c: ['value_one', 'value_two'],
    };
    expect(validateEventPattern(policy, 'sns')).toEqual([]);
  });

  test('SNS "Filter policy constraints": more than 150 combinations is rejected, naming the limit', () => {
    const values = (n: number) => Array.from({ length: n }, (_, i) => `v${i}`);
    const policy = { a: values(10), b: values(4), c: values(4) }; // 160
    expect(validateEventPattern(policy, 'sns')).toEqual([
      '(root): the filter policy has 160 combinations of values; SNS allows at most 150 '
        + '(limit "filter policy complexity", "Filter policy constraints in Amazon SNS")',
    ]);
    const withOr = { a: values(2), $or: [{ b: values(30) }, { c: values(30) }] }; // 2 x (30 + 30) = 120
    expect(validateEventPattern(withOr, 'sns')).toEqual([]);
    const tooMany = { a: values(2), $or: [{ b: values(40) }, { c: values(40) }] }; // 2 x (40 + 40) = 160
    expect(validateEventPattern(tooMany, 'sns')[0]).toContain('has 160 combinations');
  });

  test('SNS "Filter policy constraints": the nested complexity example is 3 x 4 x 2 x 3 = 72 combinations', () => {
    const nested = {
      key_a: { key_b: { key_c: ['value_one', 'value_two', 'value_three', 'value_four'] } },
      key_d: { key_e: ['value_one', 'value_two', 'value_three'] },
    };
    expect(validateEventPattern(nested, 'sns')).toEqual([]);
    // one more value three levels deep: 3 x 5 x 2 x 3 = 90; four more two levels deep: 3 x 4 x 2 x 7 = 168
    const tooComplex = { ...nested, key_d: { key_e: ['1', '2', '3', '4', '5', '6', '7'] } };
    expect(validateEventPattern(tooComplex, 'sns')[0]).toContain('has 168 combinations');
  });

  test('SNS "Filter policy constraints": more than five keys is rejected; for a nested policy only parent keys count', () => {
    const policy = { a: ['1'], b: ['1'], c: { d: ['1'], e: ['1'], f: ['1'], g: ['1'] }, h: ['1'], i: ['1'] };
    expect(validateEventPattern(policy, 'sns')).toEqual([]);
    const six = { ...policy, j: ['1'] };
    expect(validateEventPattern(six, 'sns')).toEqual([
      '(root): the filter policy has 6 top-level keys; SNS allows at most 5 '
        + '(limit "number of keys", "Filter policy constraints in Amazon SNS"): nest related keys under one parent',
    ]);
  });

  test('SNS "Filter policy constraints": numeric values beyond ±10^9 are rejected', () => {
    expect(validateEventPattern({ price: [{ numeric: ['<', 2e9] }] }, 'sns')).toEqual([
      'price: "numeric" value 2000000000 is outside -1000000000..1000000000 '
        + '(limit "numeric matching", "Filter policy constraints in Amazon SNS")',
    ]);
    expect(validateEventPattern({ price: [{ numeric: ['<', 2e9] }] }, 'eventbridge')).toEqual([]);
  });

  test('SNS: operators SNS does not offer are rejected (wildcard, ignore-case prefix, anything-but wildcard)', () => {
    expect(validateEventPattern({ f: [{ wildcard: '*.png' }] }, 'sns')).toEqual([
      'f: "wildcard" is not supported in SNS filter policies ("Filter policy constraints in Amazon SNS"); use "prefix" or "suffix"',
    ]);
    expect(validateEventPattern({ f: [{ prefix: { 'equals-ignore-case': 'a' } }] }, 'sns')[0])
      .toContain('f: "prefix" with "equals-ignore-case" is not supported in SNS filter policies');
    expect(validateEventPattern({ f: [{ 'anything-but': { wildcard: '*a' } }] }, 'sns')[0])
      .toContain('f: "anything-but" with "wildcard" is not supported in SNS filter policies');
    // SNS "String value matching": only prefix combines with anything-but (suffix is an error at Subscribe)
    expect(validateEventPattern({ f: [{ 'anything-but': { suffix: '.png' } }] }, 'sns')).toEqual([
      'f: "anything-but" with "suffix" is not supported in SNS filter policies ("String value matching"); '
        + 'only "prefix" combines with anything-but there',
    ]);
    expect(validateEventPattern({ f: [{ 'anything-but': ['a', 1] }] }, 'sns')).toEqual([]); // SNS takes mixed lists
    expect(() => matchesFilterPolicy({ f: [{ wildcard: '*' }] }, {})).toThrow(/invalid SNS filter policy/);
  });
});

describe('validation errors name the field path and the operator', () => {
  const problemsOf = (pattern: unknown) => validateEventPattern(pattern, 'eventbridge');

  test('a pattern that is not a JSON object', () => {
    expect(problemsOf('source')).toEqual(['(root): the event pattern must be a JSON object, got the string "source"']);
    expect(problemsOf(['a'])).toEqual(['(root): the event pattern must be a JSON object, got an array']);
    expect(problemsOf(null)).toEqual(['(root): the event pattern must be a JSON object, got null']);
    expect(validateEventPattern(42, 'sns')).toEqual(['(root): the filter policy must be a JSON object, got number 42']);
  });

  test('a leaf that is not an array', () => {
    expect(problemsOf({ detail: { state: 'running' } })).toEqual([
      'detail.state: a leaf must be an array of values or operators (e.g. "state": ["running"]), got the string "running"',
    ]);
  });

  test('an unknown operator', () => {
    expect(problemsOf({ detail: { state: [{ contains: 'run' }] } })).toEqual([
      'detail.state: "contains" is not an operator (known: prefix, suffix, anything-but, numeric, exists, cidr, '
        + 'equals-ignore-case, wildcard; "$or" goes beside fields, not in a leaf)',
    ]);
  });

  test('numeric with an odd arity, an unknown comparison, a reversed or empty range', () => {
    expect(problemsOf({ n: [{ numeric: ['>', 0, '<'] }] })).toEqual([
      'n: "numeric" takes [op, number] or [lower-op, number, upper-op, number] with op one of = < <= > >=, got 3 elements',
    ]);
    expect(problemsOf({ n: [{ numeric: ['!=', 1] }] })).toEqual(['n: "numeric": "!=" is not a comparison (= < <= > >=)']);
    expect(problemsOf({ n: [{ numeric: ['>', '5'] }] })).toEqual(['n: "numeric": "5" after ">" is not a number']);
    expect(problemsOf({ n: [{ numeric: ['<', 5, '>', 0] }] })).toEqual([
      'n: "numeric": a range is [">" or ">=", lower, "<" or "<=", upper], got ["<",5,">",0]',
    ]);
    expect(problemsOf({ n: [{ numeric: ['>', 5, '<', 5] }] })).toEqual(['n: "numeric": the range is empty (lower 5 is not below upper 5)']);
  });

  test('cidr that is not a CIDR block', () => {
    for (const bad of ['10.0.0.0', '10.0.0.256/24', '10.0.0.0/33', '2001:db8::/129', 'fe80:::1/64', 'ten/8']) {
      expect(problemsOf({ ip: [{ cidr: bad }] })).toEqual([
        `ip: "cidr" takes an IPv4 or IPv6 CIDR block such as "10.0.0.0/24" or "2001:db8::/32", got ${JSON.stringify(bad)}`,
      ]);
    }
    expect(problemsOf({ ip: [{ cidr: '0.0.0.0/0' }, { cidr: '::/0' }, { cidr: '2001:db8::ffff:0:0/96' }] })).toEqual([]);
  });

  test('malformed operands of the other operators', () => {
    expect(problemsOf({ a: [{ exists: 'yes' }] })).toEqual(['a: "exists" takes true or false, got the string "yes"']);
    expect(problemsOf({ a: [{ prefix: 5 }] })).toEqual(['a: "prefix" takes a string or {"equals-ignore-case": string}, got number 5']);
    expect(problemsOf({ a: [{ 'equals-ignore-case': ['x'] }] })).toEqual(['a: "equals-ignore-case" takes a string, got an array']);
    expect(problemsOf({ a: [{ wildcard: 'a**b' }] })).toEqual([
      'a: "wildcard": consecutive wildcard characters ("**") are not allowed ("Content filtering in Amazon EventBridge event patterns")',
    ]);
    expect(problemsOf({ a: [{ 'anything-but': ['x', 1] }] })).toEqual([
      'a: "anything-but" takes a non-empty list of only strings or only numbers ("Content filtering in Amazon EventBridge event patterns")',
    ]);
    expect(problemsOf({ a: [{ 'anything-but': { numeric: ['>', 1] } }] })[0]).toContain('a: "anything-but" with "numeric"');
    expect(problemsOf({ a: [{ prefix: 'x', suffix: 'y' }] })).toEqual(['a: an operator object has exactly one operator, got prefix, suffix']);
    expect(problemsOf({ a: [] })).toEqual(['a: an empty array matches no event; list at least one value or operator']);
    expect(problemsOf({ a: [['x']] })).toEqual(['a: nested arrays are not allowed in a pattern leaf']);
  });

  test('$or needs at least two pattern objects, and its branches are validated', () => {
    expect(problemsOf({ $or: [{ a: ['1'] }] })).toEqual([
      '$or: "$or" takes an array of at least two pattern objects ("Content filtering in Amazon EventBridge event patterns")',
    ]);
    expect(problemsOf({ detail: { $or: [{ a: ['1'] }, { b: 'x' }] } })[0]).toMatch(/^detail\.b: a leaf must be an array/);
  });

  test('reserved words cannot be field names inside $or, and anything-but prefix/suffix cannot be empty', () => {
    expect(problemsOf({ $or: [{ numeric: ['1'] }, { b: ['1'] }] })).toEqual([
      'numeric: "numeric" is a reserved word and cannot be a field name inside "$or"',
    ]);
    expect(problemsOf({ numeric: ['1'] })).toEqual([]); // outside $or it is an ordinary field name
    expect(problemsOf({ a: [{ 'anything-but': { prefix: '' } }] })).toEqual(['a: "anything-but" with "prefix": an empty prefix is not allowed']);
  });

  test('every problem is reported, not only the first', () => {
    expect(problemsOf({ a: 'x', b: [{ exists: 1 }], c: [{ cidr: 'x' }] })).toHaveLength(3);
  });

  test('assertEventPattern throws one Error listing the problems, with a context prefix', () => {
    const pattern = { Region: [{ 'anything-but': { prefix: 'us-' } }], n: [{ numeric: ['>'] }] };
    expect(() => assertEventPattern(pattern, 'pipes', 'Stack/Orders: filter')).toThrow(
      'Stack/Orders: filter: invalid EventBridge Pipes filter pattern:\n'
        + '  - Region: "anything-but" with "prefix" is not supported by EventBridge Pipes',
    );
    expect(() => assertEventPattern({ a: ['1'] }, 'pipes')).not.toThrow();
  });

  test('matchesEventPattern throws on an invalid pattern instead of answering false', () => {
    expect(() => eb({ a: 'x' }, { a: 'x' })).toThrow(/invalid EventBridge event pattern:\n {2}- a: a leaf must be an array/);
  });
});

describe('EventPatternMatcher (the jsii-visible API)', () => {
  test('matches, validates and asserts in each mode', () => {
    const pattern = { eventName: ['INSERT'] };
    expect(EventPatternMatcher.matches(pattern, { eventName: 'INSERT' })).toBe(true);
    expect(EventPatternMatcher.matches(pattern, { eventName: 'REMOVE' }, PatternMode.PIPES)).toBe(false);
    expect(EventPatternMatcher.matches({ a: [{ wildcard: 'x*' }] }, { a: 'xy' }, PatternMode.EVENTBRIDGE)).toBe(true);
    expect(EventPatternMatcher.matches({ a: ['1'] }, '{"a":"1"}', PatternMode.SNS)).toBe(true);
    expect(EventPatternMatcher.matchesFilterPolicy({ a: [{ prefix: 'x' }] }, { a: 'xy' })).toBe(true);
    expect(EventPatternMatcher.validate({ a: [{ 'anything-but': { suffix: 'x' } }] }, PatternMode.PIPES)).toHaveLength(1);
    expect(() => EventPatternMatcher.assertValid({ a: 1 }, PatternMode.SNS)).toThrow(/invalid SNS filter policy/);
  });

  test('an unknown mode is a problem, not a crash', () => {
    expect(validateEventPattern({ a: ['1'] }, 'kafka' as any)).toEqual(["(root): unknown mode 'kafka' (eventbridge, pipes or sns)"]);
  });
});

describe('against independent models (seeded, deterministic)', () => {
  let seed = 42;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const bits4 = (ip: string) => ip.split('.').map((o) => Number(o).toString(2).padStart(8, '0')).join('');

  test('cidr agrees with a bit-string model on random IPv4 addresses and network blocks', () => {
    for (let i = 0; i < 500; i++) {
      const ip = [rnd(256), rnd(256), rnd(256), rnd(256)].join('.');
      const bits = 1 + rnd(31);
      const netBits = bits4([rnd(2) ? 10 : rnd(256), rnd(256), rnd(256), rnd(256)].join('.')).slice(0, bits).padEnd(32, '0');
      const net = [0, 8, 16, 24].map((o) => parseInt(netBits.slice(o, o + 8), 2)).join('.');
      const expected = bits4(ip).slice(0, bits) === netBits.slice(0, bits);
      expect(eb({ ip: [{ cidr: `${net}/${bits}` }] }, { ip })).toBe(expected);
    }
  });

  test('anything-but a list is the negation of the exact values for present scalar values', () => {
    const pool = ['a', 'b', 'c', 'd'];
    for (let i = 0; i < 200; i++) {
      const list = pool.filter(() => rnd(2) === 1);
      if (list.length === 0) continue;
      const value = pool[rnd(pool.length)];
      expect(eb({ f: [{ 'anything-but': list }] }, { f: value })).toBe(!eb({ f: list }, { f: value }));
    }
  });

  test('a numeric range is the conjunction of its two one-sided comparisons', () => {
    const lows = ['>', '>='] as const;
    const highs = ['<', '<='] as const;
    for (let i = 0; i < 300; i++) {
      const lo = rnd(50) - 25;
      const hi = lo + 1 + rnd(30);
      const v = rnd(80) - 40 + (rnd(2) ? 0.5 : 0);
      const lowOp = lows[rnd(2)];
      const highOp = highs[rnd(2)];
      const both = eb({ n: [{ numeric: [lowOp, lo, highOp, hi] }] }, { n: v });
      const each = eb({ n: [{ numeric: [lowOp, lo] }] }, { n: v }) && eb({ n: [{ numeric: [highOp, hi] }] }, { n: v });
      expect(both).toBe(each);
    }
  });
});
