/**
 * In-memory AWS for the agent workflow's local simulation and tests: S3 objects, DynamoDB tables
 * (document client, with the small expression subset the handlers use), SNS, EventBridge, Step
 * Functions task responses (with the executions' histories, when a test links a token to an
 * execution) and Bedrock Converse, each behind a real SDK v3 client instance whose `send` is
 * intercepted by aws-sdk-client-mock. Stateful, so the handlers see their own writes.
 */
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutEventsCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CopyObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand, GetExecutionHistoryCommand, HistoryEvent,
  SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, SFNClient,
} from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

export interface FakeObject {
  body: Buffer;
  contentType: string;
  metadata: Record<string, string>;
  versionId?: string;
}

export type TaskResponse =
  | { kind: 'success'; token: string; output: string }
  | { kind: 'failure'; token: string; error: string; cause: string }
  | { kind: 'heartbeat'; token: string };

/** An execution as the fake keeps it: its status and its history (HistoryEvent objects as the SDK returns them). */
export interface FakeExecution {
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  readonly events: HistoryEvent[];
}

function awsError(name: string, message = name, status = 400): Error {
  const err = new Error(message) as Error & { $metadata: unknown; $fault: string };
  err.name = name;
  err.$metadata = { httpStatusCode: status };
  err.$fault = status >= 500 ? 'server' : 'client';
  return err;
}

/**
 * Evaluates the condition subset the handlers use: comparisons (`a = :v`, `<>`, `<`, `>`, `<=`, `>=`),
 * attribute_exists / attribute_not_exists, combined with AND / OR and parentheses.
 */
function evalCondition(
  expr: string | undefined, item: Record<string, any> | undefined, names: Record<string, string> = {}, values: Record<string, any> = {},
): boolean {
  if (!expr) return true;
  const tokens = expr.match(/\(|\)|[^\s()]+/g) ?? [];
  let pos = 0;
  const name = (n: string) => names[n] ?? n;
  const val = (t: string) => (t.startsWith(':') ? values[t] : item?.[name(t)]);
  const primary = (): boolean => {
    const t = tokens[pos++];
    if (t === '(') {
      const v = orExpr();
      if (tokens[pos++] !== ')') throw new Error(`fake DynamoDB: unbalanced condition '${expr}'`);
      return v;
    }
    const fn = /^(attribute_exists|attribute_not_exists)$/.exec(t);
    if (fn) {
      if (tokens[pos++] !== '(') throw new Error(`fake DynamoDB: unsupported condition '${expr}'`);
      const attr = name(tokens[pos++]);
      pos++; // ')'
      const present = item !== undefined && item[attr] !== undefined;
      return fn[1] === 'attribute_exists' ? present : !present;
    }
    const op = tokens[pos++];
    const rhs = tokens[pos++];
    if (!['=', '<>', '<', '>', '<=', '>='].includes(op)) throw new Error(`fake DynamoDB: unsupported condition '${expr}'`);
    if (!item) return false;
    const [a, b] = [val(t), val(rhs)];
    if (a === undefined || b === undefined) return false;
    switch (op) {
      case '=': return a === b;
      case '<>': return a !== b;
      case '<': return a < b;
      case '>': return a > b;
      case '<=': return a <= b;
      default: return a >= b;
    }
  };
  const andExpr = (): boolean => {
    let v = primary();
    while (tokens[pos]?.toUpperCase() === 'AND') {
      pos++;
      const r = primary();
      v = v && r;
    }
    return v;
  };
  const orExpr = (): boolean => {
    let v = andExpr();
    while (tokens[pos]?.toUpperCase() === 'OR') {
      pos++;
      const r = andExpr();
      v = v || r;
    }
    return v;
  };
  const result = orExpr();
  if (pos !== tokens.length) throw new Error(`fake DynamoDB: could not parse condition '${expr}'`);
  return result;
}

function applyUpdate(item: Record<string, any>, expr: string, names: Record<string, string> = {}, values: Record<string, any> = {}): void {
  const name = (n: string) => names[n] ?? n;
  const m = /^\s*(?:SET\s+(.*?))?\s*(?:REMOVE\s+(.*))?$/i.exec(expr);
  if (!m) throw new Error(`fake DynamoDB: unsupported update '${expr}'`);
  for (const assignment of (m[1] ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const [lhs, rhs] = assignment.split('=').map((s) => s.trim());
    item[name(lhs)] = values[rhs];
  }
  for (const attr of (m[2] ?? '').split(',').map((s) => s.trim()).filter(Boolean)) delete item[name(attr)];
}

export class FakeAgentAws {
  public readonly objects = new Map<string, FakeObject>();
  /** table name → key string → item */
  public readonly tables = new Map<string, Map<string, Record<string, any>>>();
  public readonly keySchema = new Map<string, string[]>();
  public readonly published: { topicArn: string; subject?: string; message: string }[] = [];
  public readonly events: { source: string; detailType: string; detail: any }[] = [];
  public readonly taskResponses: TaskResponse[] = [];
  /** Executions by ARN (see linkTask). */
  public readonly executions = new Map<string, FakeExecution>();
  public readonly converseCalls: any[] = [];
  public readonly s3 = new S3Client({ region: 'us-east-1' });
  public readonly ddb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }), { marshallOptions: { removeUndefinedValues: true } });
  public readonly sns = new SNSClient({ region: 'us-east-1' });
  public readonly eventBridge = new EventBridgeClient({ region: 'us-east-1' });
  public readonly sfn = new SFNClient({ region: 'us-east-1' });
  public readonly bedrock = new BedrockRuntimeClient({ region: 'us-east-1' });

  /** Bedrock Converse behaviour (model id → answer); throws to simulate errors. */
  public converse: (input: any) => any;
  /** Step Functions task-response behaviour: throw to simulate TaskTimedOut, throttling... (nothing applied) */
  public onTaskResponse: (r: TaskResponse) => void;
  /** Runs after a task response was applied: throw to simulate an error answered after the change (a 5xx after apply). */
  public afterTaskResponse: (r: TaskResponse) => void;
  /** Runs before GetExecutionHistory / DescribeExecution: throw to simulate an unreadable history. */
  public onExecutionRead: (action: 'GetExecutionHistory' | 'DescribeExecution') => void;
  /** The clock of history events. */
  public now: () => Date;
  /** token → execution ARN (linkTask) */
  private readonly taskExecutions = new Map<string, string>();
  /** Tokens whose task was answered (SendTaskSuccess / SendTaskFailure accepted). */
  private readonly answered = new Set<string>();

  constructor() {
    this.converse = () => {
      throw new Error('no Converse behaviour set');
    };
    this.onTaskResponse = () => undefined;
    this.afterTaskResponse = () => undefined;
    this.now = () => new Date();
    this.onExecutionRead = () => undefined;
    const s3 = mockClient(this.s3);
    s3.on(HeadObjectCommand).callsFake((input) => {
      const o = this.objects.get(`${input.Bucket}/${input.Key}`);
      if (!o || (input.VersionId && o.versionId !== input.VersionId)) throw awsError('NotFound', 'Not Found', 404);
      return { ContentLength: o.body.length, ContentType: o.contentType, Metadata: o.metadata, ETag: '"etag"', VersionId: o.versionId };
    });
    s3.on(GetObjectCommand).callsFake((input) => {
      const o = this.objects.get(`${input.Bucket}/${input.Key}`);
      if (!o) throw awsError('NoSuchKey', 'The specified key does not exist.', 404);
      let body = o.body;
      const range = /^bytes=(\d+)-(\d+)$/.exec(input.Range ?? '');
      if (range) body = body.subarray(Number(range[1]), Number(range[2]) + 1);
      return {
        ContentLength: body.length,
        ContentType: o.contentType,
        Metadata: o.metadata,
        VersionId: o.versionId,
        Body: { transformToByteArray: async () => new Uint8Array(body), transformToString: async () => body.toString('utf8') } as any,
      };
    });
    s3.on(CopyObjectCommand).callsFake((input) => {
      const m = /^([^/]+)\/([^?]+)(?:\?versionId=(.+))?$/.exec(input.CopySource!);
      const source = m ? this.objects.get(`${m[1]}/${decodeURIComponent(m[2])}`) : undefined;
      if (!source || (m![3] && source.versionId !== decodeURIComponent(m![3]))) throw awsError('NoSuchKey', 'The specified key does not exist.', 404);
      if (input.CopySourceIfMatch && input.CopySourceIfMatch !== '"etag"') throw awsError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412);
      this.objects.set(`${input.Bucket}/${input.Key}`, { ...source, versionId: undefined });
      return { CopyObjectResult: { ETag: '"etag"' } };
    });
    s3.on(PutObjectCommand).callsFake((input) => {
      const body = Buffer.isBuffer(input.Body) ? input.Body : Buffer.from(String(input.Body ?? ''));
      this.objects.set(`${input.Bucket}/${input.Key}`, { body, contentType: input.ContentType ?? 'application/octet-stream', metadata: input.Metadata ?? {} });
      return { ETag: '"put"' };
    });

    const ddb = mockClient(this.ddb);
    ddb.on(PutCommand).callsFake((input) => {
      const table = this.table(input.TableName!);
      const k = this.key(input.TableName!, input.Item!);
      if (!evalCondition(input.ConditionExpression, table.get(k), input.ExpressionAttributeNames, input.ExpressionAttributeValues)) {
        throw awsError('ConditionalCheckFailedException', 'The conditional request failed');
      }
      table.set(k, structuredClone(input.Item!));
      return {};
    });
    ddb.on(GetCommand).callsFake((input) => {
      const item = this.table(input.TableName!).get(this.key(input.TableName!, input.Key!));
      return { Item: item ? structuredClone(item) : undefined };
    });
    ddb.on(UpdateCommand).callsFake((input) => {
      const table = this.table(input.TableName!);
      const k = this.key(input.TableName!, input.Key!);
      const existing = table.get(k);
      if (!evalCondition(input.ConditionExpression, existing, input.ExpressionAttributeNames, input.ExpressionAttributeValues)) {
        throw awsError('ConditionalCheckFailedException', 'The conditional request failed');
      }
      const item = existing ?? { ...input.Key };
      applyUpdate(item, input.UpdateExpression!, input.ExpressionAttributeNames, input.ExpressionAttributeValues);
      table.set(k, item);
      return {};
    });
    ddb.on(QueryCommand).callsFake((input) => {
      const m = /^(\S+)\s*=\s*(\S+)$/.exec(input.KeyConditionExpression ?? '');
      if (!m) throw new Error(`fake DynamoDB: unsupported key condition '${input.KeyConditionExpression}'`);
      const attr = input.ExpressionAttributeNames?.[m[1]] ?? m[1];
      const value = input.ExpressionAttributeValues?.[m[2]];
      const [, sortKey] = this.keySchema.get(input.TableName!) ?? [];
      let items = [...this.table(input.TableName!).values()].filter((i) => i[attr] === value);
      const sortAttr = input.IndexName ? 'createdAt' : sortKey;
      if (sortAttr) items.sort((a, b) => (a[sortAttr] < b[sortAttr] ? -1 : a[sortAttr] > b[sortAttr] ? 1 : 0));
      if (input.ScanIndexForward === false) items.reverse();
      if (input.Limit) items = items.slice(0, input.Limit);
      return input.Select === 'COUNT' ? { Count: items.length } : { Items: structuredClone(items), Count: items.length };
    });

    mockClient(this.sns).on(PublishCommand).callsFake((input) => {
      this.published.push({ topicArn: input.TopicArn!, subject: input.Subject, message: input.Message! });
      return { MessageId: `m-${this.published.length}` };
    });
    mockClient(this.eventBridge).on(PutEventsCommand).callsFake((input) => {
      for (const e of input.Entries ?? []) this.events.push({ source: e.Source!, detailType: e.DetailType!, detail: JSON.parse(e.Detail ?? '{}') });
      return { FailedEntryCount: 0, Entries: (input.Entries ?? []).map((_: unknown, i: number) => ({ EventId: `e-${i}` })) };
    });
    const sfn = mockClient(this.sfn);
    const respond = (r: TaskResponse) => {
      this.onTaskResponse(r);
      const executionArn = this.taskExecutions.get(r.token);
      const execution = executionArn === undefined ? undefined : this.executions.get(executionArn);
      // a task answered once, or whose execution ended, no longer waits
      if (this.answered.has(r.token) || (execution && execution.status !== 'RUNNING')) {
        throw awsError('TaskTimedOut', "Task Timed Out: 'Provided task does not exist anymore'");
      }
      if (r.kind !== 'heartbeat') this.answered.add(r.token);
      this.taskResponses.push(r);
      const resource = { resourceType: 'lambda', resource: 'invoke.waitForTaskToken' };
      if (execution && r.kind === 'success') this.addEvent(execution, { type: 'TaskSucceeded', taskSucceededEventDetails: { ...resource, output: r.output } });
      if (execution && r.kind === 'failure') this.addEvent(execution, { type: 'TaskFailed', taskFailedEventDetails: { ...resource, error: r.error, cause: r.cause } });
      this.afterTaskResponse(r);
      return {};
    };
    sfn.on(SendTaskSuccessCommand).callsFake((i) => respond({ kind: 'success', token: i.taskToken!, output: i.output! }));
    sfn.on(SendTaskFailureCommand).callsFake((i) => respond({ kind: 'failure', token: i.taskToken!, error: i.error!, cause: i.cause! }));
    sfn.on(SendTaskHeartbeatCommand).callsFake((i) => respond({ kind: 'heartbeat', token: i.taskToken! }));
    sfn.on(GetExecutionHistoryCommand).callsFake((input) => {
      this.onExecutionRead('GetExecutionHistory');
      const execution = this.executions.get(input.executionArn!);
      if (!execution) throw awsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${input.executionArn}'`);
      const ordered = input.reverseOrder ? [...execution.events].reverse() : execution.events;
      const offset = input.nextToken ? Number(input.nextToken) : 0;
      const size = input.maxResults || 100;
      const events = ordered.slice(offset, offset + size).map((e) => structuredClone(e));
      return { events, nextToken: offset + size < ordered.length ? String(offset + size) : undefined };
    });
    sfn.on(DescribeExecutionCommand).callsFake((input) => {
      this.onExecutionRead('DescribeExecution');
      const execution = this.executions.get(input.executionArn!);
      if (!execution) throw awsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${input.executionArn}'`);
      return { executionArn: input.executionArn, status: execution.status, startDate: execution.events[0]?.timestamp };
    });
    mockClient(this.bedrock).on(ConverseCommand).callsFake((input) => {
      this.converseCalls.push(input);
      return this.converse(input);
    });
  }

  /**
   * Links a task token to an execution (registered RUNNING, with its ExecutionStarted event, if new):
   * the task's answer is then recorded in the execution's history, and once the execution has
   * ended the task answers TaskTimedOut.
   */
  public linkTask(token: string, executionArn: string, at = this.now()): void {
    let execution = this.executions.get(executionArn);
    if (!execution) {
      execution = { status: 'RUNNING', events: [] };
      this.executions.set(executionArn, execution);
      this.addEvent(execution, { type: 'ExecutionStarted', executionStartedEventDetails: { input: '{}' } }, at);
    }
    this.taskExecutions.set(token, executionArn);
    this.addEvent(execution, { type: 'TaskScheduled', taskScheduledEventDetails: { resourceType: 'lambda', resource: 'invoke.waitForTaskToken', region: 'us-east-1', parameters: '{}' } }, at);
  }

  /** Ends an execution (its tasks answer TaskTimedOut from then on). */
  public closeExecution(executionArn: string, status: Exclude<FakeExecution['status'], 'RUNNING'> = 'SUCCEEDED'): void {
    const execution = this.executions.get(executionArn);
    if (!execution) throw new Error(`fake Step Functions: no execution ${executionArn}`);
    execution.status = status;
    const type = { SUCCEEDED: 'ExecutionSucceeded', FAILED: 'ExecutionFailed', TIMED_OUT: 'ExecutionTimedOut', ABORTED: 'ExecutionAborted' }[status];
    this.addEvent(execution, { type: type as HistoryEvent['type'] });
  }

  /** Declares a table's key attributes (partition, optional sort). */
  public defineTable(name: string, keys: string[]): void {
    this.keySchema.set(name, keys);
    this.table(name);
  }

  public table(name: string): Map<string, Record<string, any>> {
    if (!this.tables.has(name)) this.tables.set(name, new Map());
    return this.tables.get(name)!;
  }

  public items(name: string): Record<string, any>[] {
    return [...this.table(name).values()];
  }

  private addEvent(execution: FakeExecution, event: Omit<HistoryEvent, 'id' | 'previousEventId' | 'timestamp'>, at = this.now()): void {
    const previous = execution.events.at(-1);
    execution.events.push({ ...event, id: (previous?.id ?? 0) + 1, previousEventId: previous?.id ?? 0, timestamp: at } as HistoryEvent);
  }

  private key(table: string, item: Record<string, any>): string {
    const keys = this.keySchema.get(table);
    if (!keys) throw new Error(`fake DynamoDB: table ${table} not defined`);
    return keys.map((k) => {
      if (item[k] === undefined) throw awsError('ValidationException', `One of the required keys was not given a value: ${k}`);
      return String(item[k]);
    }).join('|');
  }
}

export { awsError };
