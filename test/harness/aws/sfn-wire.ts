/**
 * A synthesized state machine executed locally (aws-local-stepfunctions, through runLocal) with every
 * Task state carried out on the wire layer, the way Step Functions would carry it out:
 *
 * - a Lambda task (`arn:aws:lambda:…:function:<name>`, `arn:aws:states:::lambda:invoke`) invokes the
 *   function's bundled asset (LocalLambda, with the environment of the template) with the task input;
 *   a function error fails the task with the function's errorType, as Step Functions reports it;
 * - an optimized integration (`arn:aws:states:::dynamodb:getItem|putItem|updateItem|deleteItem`,
 *   `events:putEvents`, `sns:publish`) and an AWS SDK integration (`arn:aws:states:::aws-sdk:<service>:<action>`)
 *   send the equivalent command with the real AWS SDK v3 client to the local services, so items,
 *   objects, events and messages really exist there; service errors become the Step Functions error
 *   names (`DynamoDB.ConditionalCheckFailedException`, `BedrockRuntime.ThrottlingException`, …);
 * - a `.waitForTaskToken` task gets a token issued by the Step Functions fake (`$$.Task.Token` of the
 *   local run's context is read once per task entered, and each read issues a new open task linked to
 *   the execution), invokes its target, lets the caller drive whoever answers (`onCallback`: a person
 *   following a link, say), then resumes with what was sent on the wire for that token:
 *   SendTaskSuccess output, SendTaskFailure error and cause; a task nobody answered is timed out in
 *   the fake (a late SendTaskSuccess then gets TaskTimedOut) and fails with States.Timeout (or
 *   States.HeartbeatTimeout when the heartbeat is the shorter limit).
 *
 * The definition is the one CloudFormation would deploy: the template's DefinitionString with the
 * stack model's physical names, so the ARNs and table names in it are the provisioned ones.
 * `$$.State.EnteredTime` is the time the state's Parameters are rendered. When the run ends, the
 * execution is closed in the fake (its open tasks close with it). The interpreter is the one runLocal
 * loads, with its `States.JsonToString` quirk worked around (its string results lose every
 * backslash, so the JSON of an error whose Cause holds JSON was invalid: see sfn-local.ts): an audit
 * record's `cause` written on the wire is valid JSON, as Step Functions writes it.
 *
 * Not modelled: `.sync` integrations, Activities, `lambda:invoke` of a function outside the stack,
 * blob members and maps of structures in AWS SDK integrations, the AWS SDK integrations of services
 * not listed in SDK_SERVICES, `$$.State.Name` / `$$.State.RetryCount`. aws-local-stepfunctions only
 * exempts its own timeout error from `States.TaskFailed`, so a States.Timeout raised here would match
 * a `States.TaskFailed` retrier or catcher (Step Functions does not match it).
 */
import * as crypto from 'crypto';
import { DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { InvokeResult, LocalLambda, LogLine, WIRE_CREDENTIALS } from './lambda-runner';
import { StackFunction, StackModel } from './stack-model';
import { WireEnvironment } from './wire-environment';
import { LocalRunOptions, LocalRunResult, runLocal, TaskHandler } from '../sfn-local';

/** A `.waitForTaskToken` task that has invoked its target and now waits for an answer. */
export interface CallbackTask {
  readonly stateName: string;
  readonly resource: string;
  /** The execution the task belongs to. */
  readonly executionArn: string;
  /** `$$.Task.Token` as the task's input carried it (issued by the Step Functions fake). */
  readonly token: string;
  /** The task's input after Parameters (for `lambda:invoke`, the Payload is what the function got). */
  readonly input: any;
  /** `TimeoutSeconds` of the state, if any. */
  readonly timeoutSeconds?: number;
  /** `HeartbeatSeconds` of the state, if any. */
  readonly heartbeatSeconds?: number;
  /** What the invoked function returned (its answer is not the task's result), with its log lines. */
  readonly invocation?: InvokeResult;
}

/**
 * What `onCallback` reports: `answered` (someone called SendTaskSuccess / SendTaskFailure on the wire)
 * or `timeout` (nobody did before the state's timeout). Anything else: the token is read as it is,
 * and a task still open counts as timed out.
 */
export type CallbackOutcome = 'answered' | 'timeout';

/** One task the run carried out, for reports and assertions. */
export interface TaskCall {
  readonly stateName: string;
  readonly resource: string;
  /** The function invoked, for a Lambda task. */
  readonly functionName?: string;
  /** The Step Functions error the task failed with. */
  readonly error?: { readonly name: string; readonly cause: string };
  /** Log lines of the invoked function. */
  readonly logs?: readonly LogLine[];
}

export interface SfnWireOptions {
  /** Drives whoever answers a callback task (see CallbackTask). @default - nobody answers: every callback task times out */
  readonly onCallback?: (task: CallbackTask) => Promise<CallbackOutcome | void> | CallbackOutcome | void;
  /** The execution environment of a function. @default - one warm LocalLambda per function, from the WireEnvironment */
  readonly lambdaFor?: (fn: StackFunction) => LocalLambda;
}

/** An execution as Step Functions names it. */
export interface WireExecution {
  readonly executionArn: string;
  readonly name: string;
}

/** AWS SDK integrations: service id in the ARN → SDK v3 package, error prefix, member casing. */
interface SdkService {
  readonly pkg: string;
  /** The client class the package exports. */
  readonly client: string;
  /** Step Functions names an error `<prefix>.<Exception>`. */
  readonly errorPrefix: string;
  /** True when the SDK v3 input and output members are camelCase (Step Functions always speaks PascalCase). */
  readonly camelCase: boolean;
  /** Members (camelCase) whose value is a document or a map of user keys: passed as they are, not re-cased. */
  readonly opaque?: readonly string[];
}

const SDK_SERVICES: Record<string, SdkService> = {
  bedrockruntime: {
    pkg: '@aws-sdk/client-bedrock-runtime',
    client: 'BedrockRuntimeClient',
    errorPrefix: 'BedrockRuntime',
    camelCase: true,
    opaque: ['json', 'input', 'additionalModelRequestFields', 'additionalModelResponseFields', 'promptVariables', 'requestMetadata'],
  },
  dynamodb: { pkg: '@aws-sdk/client-dynamodb', client: 'DynamoDBClient', errorPrefix: 'DynamoDb', camelCase: false },
  s3: { pkg: '@aws-sdk/client-s3', client: 'S3Client', errorPrefix: 'S3', camelCase: false },
  sns: { pkg: '@aws-sdk/client-sns', client: 'SNSClient', errorPrefix: 'Sns', camelCase: false },
  eventbridge: { pkg: '@aws-sdk/client-eventbridge', client: 'EventBridgeClient', errorPrefix: 'EventBridge', camelCase: false },
  secretsmanager: { pkg: '@aws-sdk/client-secrets-manager', client: 'SecretsManagerClient', errorPrefix: 'SecretsManager', camelCase: false },
  sfn: { pkg: '@aws-sdk/client-sfn', client: 'SFNClient', errorPrefix: 'Sfn', camelCase: true },
};

const HTTP_META = Symbol('sfn-wire http response');

interface HttpMeta {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
}

/** The configuration of an SDK v3 client of the test process that talks to the wire server. */
export function wireClientConfig(env: WireEnvironment, region: string): {
  region: string; endpoint: string; credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string };
} {
  return {
    region,
    endpoint: env.wire.url,
    credentials: {
      accessKeyId: WIRE_CREDENTIALS.AWS_ACCESS_KEY_ID,
      secretAccessKey: WIRE_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
      sessionToken: WIRE_CREDENTIALS.AWS_SESSION_TOKEN,
    },
  };
}

/** An error that fails a task with a Step Functions error name and cause. */
function taskError(name: string, cause: string): Error {
  const err = new Error(cause);
  err.name = name;
  return err;
}

function isRecord(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Re-cases structure members (first letter), leaving opaque members' values and non-objects as they are. */
function recase(value: unknown, to: 'camel' | 'pascal', opaque: ReadonlySet<string>): unknown {
  if (Array.isArray(value)) return value.map((v) => recase(v, to, opaque));
  if (!isRecord(value) || value instanceof Uint8Array || value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const key = to === 'camel' ? k.charAt(0).toLowerCase() + k.slice(1) : k.charAt(0).toUpperCase() + k.slice(1);
    const camelKey = key.charAt(0).toLowerCase() + key.slice(1);
    out[key] = opaque.has(camelKey) ? v : recase(v, to, opaque);
  }
  return out;
}

/** An SDK output as Step Functions returns it: no `$metadata`, timestamps as ISO strings, blobs in base64. */
function plainOutput(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(plainOutput);
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (k !== '$metadata' && v !== undefined) out[k] = plainOutput(v);
  return out;
}

/** The SdkHttpMetadata / SdkResponseMetadata members of an optimized integration's output, from the wire answer. */
function sdkMetadata(output: any): Record<string, unknown> {
  const http: HttpMeta | undefined = output?.[HTTP_META];
  const headers = http?.headers ?? {};
  const requestId = output?.$metadata?.requestId ?? headers['x-amzn-requestid'] ?? '';
  return {
    SdkHttpMetadata: {
      AllHttpHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
      HttpHeaders: headers,
      HttpStatusCode: http?.statusCode ?? output?.$metadata?.httpStatusCode ?? 200,
    },
    SdkResponseMetadata: { RequestId: requestId },
  };
}

/** The Step Functions error of a failed SDK call: `<prefix>.<name>`; a call that never got an answer is States.TaskFailed. */
function serviceError(prefix: string, err: unknown, exceptionSuffix: boolean): Error {
  const e = err as { name?: string; message?: string; $metadata?: unknown };
  if (!e || e.$metadata === undefined || !e.name) return taskError('States.TaskFailed', e?.message ?? String(err));
  const name = exceptionSuffix && !e.name.endsWith('Exception') ? `${e.name}Exception` : e.name;
  return taskError(`${prefix}.${name}`, e.message ?? name);
}

/** Every string in a value that is one of `candidates`. */
function findStrings(value: unknown, candidates: ReadonlySet<string>, into: string[] = []): string[] {
  if (typeof value === 'string') {
    if (candidates.has(value)) into.push(value);
  } else if (Array.isArray(value)) {
    for (const v of value) findStrings(v, candidates, into);
  } else if (isRecord(value)) {
    for (const v of Object.values(value)) findStrings(v, candidates, into);
  }
  return into;
}

function taskStates(definition: any, into = new Map<string, any>()): Map<string, any> {
  for (const [name, state] of Object.entries<any>(definition.States ?? {})) {
    if (state.Type === 'Task') into.set(name, state);
    for (const branch of state.Branches ?? []) taskStates(branch, into);
    if (state.Iterator) taskStates(state.Iterator, into);
    if (state.ItemProcessor) taskStates(state.ItemProcessor, into);
  }
  return into;
}

export class SfnWire {
  /** Every task carried out, in order (all executions). */
  public readonly calls: TaskCall[] = [];
  private readonly clients = new Map<string, any>();
  private readonly lambdas = new Map<string, LocalLambda>();
  private readonly functionsByName: Map<string, StackFunction>;

  constructor(private readonly env: WireEnvironment, private readonly model: StackModel, private readonly options: SfnWireOptions = {}) {
    this.functionsByName = new Map(this.functions().map((f) => [f.functionName, f]));
  }

  /**
   * The stack's Node.js functions, with their resolved environment (the state machine's tasks
   * call these; aws-cdk-lib's inline Python bucket-notifications handler is left out).
   */
  public functions(): StackFunction[] {
    return this.model.functions().filter((f) => f.runtime.startsWith('nodejs'));
  }

  /** The function a name or ARN (optionally qualified) names. */
  public functionNamed(nameOrArn: string): StackFunction {
    const m = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:([^:]+)(?::[^:]+)?$/.exec(nameOrArn);
    const name = m ? m[1] : nameOrArn.split(':')[0];
    const fn = this.functionsByName.get(name);
    if (!fn) throw new Error(`SfnWire: no function ${name} with a bundled asset in the stack (have ${[...this.functionsByName.keys()].join(', ')})`);
    return fn;
  }

  /** The state machine's ARN (the only one of the stack, or the one with this logical id). */
  public stateMachineArn(logicalId?: string): string {
    return this.model.ref(this.stateMachineId(logicalId));
  }

  /** The ASL definition as deployed: DefinitionString (or Definition) and DefinitionSubstitutions resolved by the stack model. */
  public definition(logicalId?: string): any {
    const props = this.model.resources[this.stateMachineId(logicalId)].Properties ?? {};
    const raw = props.DefinitionString !== undefined
      ? this.model.resolve(props.DefinitionString)
      : JSON.stringify(this.model.resolve(props.Definition));
    let text = String(raw);
    for (const [k, v] of Object.entries<any>(props.DefinitionSubstitutions ?? {})) text = text.split('${' + k + '}').join(String(this.model.resolve(v)));
    return JSON.parse(text);
  }

  /** Starts an execution on the Step Functions fake over the wire (StartExecution), as a trigger would. */
  public async startExecution(input: unknown, name?: string, logicalId?: string): Promise<WireExecution> {
    const out = await this.client('sfn-api', () => new SFNClient(this.clientConfig())).send(new StartExecutionCommand({
      stateMachineArn: this.stateMachineArn(logicalId), name, input: JSON.stringify(input),
    }));
    return { executionArn: out.executionArn!, name: out.executionArn!.split(':').pop()! };
  }

  /**
   * Runs one execution of `definition` locally with every task on the wire, then closes the execution
   * in the Step Functions fake (its open tasks close with it). `execution` defaults to a new one
   * started with StartExecution.
   */
  public async execute(
    definition: any, input: unknown, execution?: WireExecution, runOptions: Omit<LocalRunOptions, 'tasks' | 'context'> = {},
  ): Promise<LocalRunResult> {
    const exec = execution ?? await this.startExecution(input);
    const issued = new Set<string>();
    const sfnFake = this.env.stepFunctions;
    // `$$.Task.Token`: read once per task state entered (when its Parameters are rendered); each read is a new task.
    const task = {};
    Object.defineProperty(task, 'Token', {
      enumerable: true,
      get: () => {
        const token = sfnFake.issueTaskToken({ executionArn: exec.executionArn });
        issued.add(token);
        return token;
      },
    });
    const [, , region, account, , machineName] = exec.executionArn.split(':');
    const context = {
      Execution: { Id: exec.executionArn, Name: exec.name },
      // read when a state renders its Parameters, that is when it is entered
      State: { Name: 'local', RetryCount: 0, get EnteredTime() { return new Date().toISOString(); } },
      StateMachine: { Id: `arn:aws:states:${region}:${account}:stateMachine:${machineName}`, Name: machineName },
      Task: task,
    };
    const tasks: Record<string, TaskHandler> = {};
    for (const [name, state] of taskStates(definition)) tasks[name] = (taskInput) => this.runTask(name, state, taskInput, exec, issued);
    const result = await runLocal(definition, input, { ...runOptions, tasks, context });
    sfnFake.closeExecution(exec.executionArn, result.status === 'SUCCEEDED'
      ? { status: 'SUCCEEDED', output: JSON.stringify(result.output ?? null) }
      : { status: 'FAILED', error: result.error, cause: typeof result.cause === 'string' ? result.cause : JSON.stringify(result.cause ?? '') });
    return result;
  }

  /** Stops the execution environments this module started and the SDK clients. */
  public async close(): Promise<void> {
    for (const c of this.clients.values()) c.destroy?.();
    this.clients.clear();
    await Promise.all([...this.lambdas.values()].map((l) => l.close()));
    this.lambdas.clear();
  }

  // --- tasks -----------------------------------------------------------------------------------

  private async runTask(stateName: string, state: any, input: any, exec: WireExecution, issued: Set<string>): Promise<unknown> {
    const call: { functionName?: string; logs?: readonly LogLine[] } = {};
    let error: TaskCall['error'];
    try {
      return await this.dispatch(stateName, state, input, exec, issued, call);
    } catch (err) {
      const e = err as Error;
      error = { name: e.name, cause: e.message };
      throw err;
    } finally {
      this.calls.push({ stateName, resource: state.Resource, ...call, error });
    }
  }

  private async dispatch(
    stateName: string, state: any, input: any, exec: WireExecution, issued: Set<string>, call: { functionName?: string; logs?: readonly LogLine[] },
  ): Promise<unknown> {
    const resource: string = state.Resource;
    // a function ARN as the resource: the task input is the event, the answer the result
    if (/^arn:aws[a-z-]*:lambda:/.test(resource)) {
      const fn = this.functionNamed(resource);
      call.functionName = fn.functionName;
      const out = await this.invoke(fn, input);
      call.logs = out.logs;
      if (out.error) throw this.functionError(out);
      return out.result;
    }
    const m = /^arn:aws[a-z-]*:states:::([a-z0-9-]+):([A-Za-z0-9]+)(?:\.(waitForTaskToken|sync(?::2)?))?$/.exec(resource)
      ?? /^arn:aws[a-z-]*:states:::(aws-sdk:[a-z0-9]+):([A-Za-z0-9]+)(?:\.(waitForTaskToken))?$/.exec(resource);
    if (!m) throw taskError('States.Runtime', `SfnWire: unsupported Resource ${resource}`);
    const [, service, action, pattern] = m;
    if (pattern && pattern !== 'waitForTaskToken') throw taskError('States.Runtime', `SfnWire: the .${pattern} integration pattern is not modelled (${resource})`);

    let token: string | undefined;
    if (pattern === 'waitForTaskToken') {
      const found = findStrings(input, issued);
      if (found.length === 0) throw taskError('States.Runtime', `SfnWire: ${stateName} waits for a task token but its input does not carry $$.Task.Token`);
      token = found[0];
      issued.delete(token);
    }

    let invocation: InvokeResult | undefined;
    let result: unknown;
    if (service === 'lambda' && action === 'invoke') {
      const fn = this.functionNamed(String(input.FunctionName));
      call.functionName = fn.functionName;
      const payload = typeof input.Payload === 'string' ? JSON.parse(input.Payload) : input.Payload ?? {};
      invocation = await this.invoke(fn, payload);
      call.logs = invocation.logs;
      if (invocation.error) throw this.functionError(invocation);
      result = {
        ExecutedVersion: '$LATEST',
        Payload: invocation.result,
        SdkHttpMetadata: {
          AllHttpHeaders: { 'X-Amz-Executed-Version': ['$LATEST'], 'Content-Type': ['application/json'] },
          HttpHeaders: { 'X-Amz-Executed-Version': '$LATEST', 'Content-Type': 'application/json' },
          HttpStatusCode: 200,
        },
        SdkResponseMetadata: { RequestId: crypto.randomUUID() },
        StatusCode: 200,
      };
    } else if (service.startsWith('aws-sdk:')) {
      result = await this.sdkIntegration(service.slice('aws-sdk:'.length), action, input);
    } else {
      result = await this.optimizedIntegration(service, action, input);
    }
    if (token === undefined) return result;
    return this.awaitCallback({
      stateName,
      resource,
      executionArn: exec.executionArn,
      token,
      input,
      invocation,
      timeoutSeconds: state.TimeoutSeconds,
      heartbeatSeconds: state.HeartbeatSeconds,
    });
  }

  /** Lets `onCallback` act, then answers the task with what the token received on the wire. */
  private async awaitCallback(task: CallbackTask): Promise<unknown> {
    const said = await this.options.onCallback?.(task);
    const sfnFake = this.env.stepFunctions;
    let record = sfnFake.task(task.token);
    if (record.status === 'OPEN') {
      // nobody answered: the state's timeout (or heartbeat timeout) elapses
      sfnFake.timeOutTask(task.token);
      record = sfnFake.task(task.token);
    } else if (said === 'timeout') {
      throw new Error(`SfnWire: ${task.stateName}: onCallback reported a timeout, but the task was answered on the wire (${record.status})`);
    }
    switch (record.status) {
      case 'SUCCEEDED': return JSON.parse(record.output ?? 'null');
      case 'FAILED': throw taskError(record.error ?? '', record.cause ?? '');
      case 'TIMED_OUT': {
        const byHeartbeat = task.heartbeatSeconds !== undefined && (task.timeoutSeconds === undefined || task.heartbeatSeconds < task.timeoutSeconds);
        throw taskError(byHeartbeat ? 'States.HeartbeatTimeout' : 'States.Timeout', byHeartbeat ? 'Task heartbeat timed out' : 'Task timed out');
      }
      default: throw taskError('States.TaskFailed', `SfnWire: the task token of ${task.stateName} ended ${record.status}`);
    }
  }

  private async optimizedIntegration(service: string, action: string, input: any): Promise<unknown> {
    switch (`${service}:${action}`) {
      case 'dynamodb:getItem':
      case 'dynamodb:putItem':
      case 'dynamodb:updateItem':
      case 'dynamodb:deleteItem': {
        const ddb = this.client('dynamodb', () => new DynamoDBClient(this.clientConfig()));
        const Command = { getItem: GetItemCommand, putItem: PutItemCommand, updateItem: UpdateItemCommand, deleteItem: DeleteItemCommand }[action as 'getItem']!;
        let out: any;
        try {
          out = await ddb.send(new Command(input));
        } catch (err) {
          throw serviceError('DynamoDB', err, false);
        }
        return { ...(plainOutput(out) as object), ...sdkMetadata(out) };
      }
      case 'events:putEvents': {
        const events = this.client('events', () => new EventBridgeClient(this.clientConfig()));
        const entries = (input.Entries ?? []).map((e: any) => ({ ...e, Detail: typeof e.Detail === 'string' || e.Detail === undefined ? e.Detail : JSON.stringify(e.Detail) }));
        let out: any;
        try {
          out = await events.send(new PutEventsCommand({ ...input, Entries: entries }));
        } catch (err) {
          throw serviceError('EventBridge', err, false);
        }
        const plain = plainOutput(out) as { FailedEntryCount?: number };
        if ((plain.FailedEntryCount ?? 0) > 0) throw taskError('EventBridge.FailedEntry', JSON.stringify(plain));
        return plain;
      }
      case 'sns:publish': {
        const sns = this.client('sns', () => new SNSClient(this.clientConfig()));
        const message = typeof input.Message === 'string' ? input.Message : JSON.stringify(input.Message);
        let out: any;
        try {
          out = await sns.send(new PublishCommand({ ...input, Message: message }));
        } catch (err) {
          throw serviceError('SNS', err, false);
        }
        return { ...(plainOutput(out) as object), ...sdkMetadata(out) };
      }
      default:
        throw taskError('States.Runtime', `SfnWire: the optimized integration ${service}:${action} is not modelled`);
    }
  }

  /** `arn:aws:states:::aws-sdk:<service>:<action>`: PascalCase parameters to the SDK v3 command, the answer back in PascalCase. */
  private async sdkIntegration(serviceId: string, action: string, input: any): Promise<unknown> {
    const service = SDK_SERVICES[serviceId];
    if (!service) throw taskError('States.Runtime', `SfnWire: the AWS SDK integration of ${serviceId} is not modelled`);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sdk = require(service.pkg);
    const op = action.charAt(0).toUpperCase() + action.slice(1);
    const Command = sdk[`${op}Command`];
    if (typeof Command !== 'function') throw taskError('States.Runtime', `SfnWire: ${service.pkg} has no ${op}Command`);
    const client = this.client(`sdk:${serviceId}`, () => new sdk[service.client](this.clientConfig()));
    const opaque = new Set(service.opaque ?? []);
    const params = service.camelCase ? recase(input, 'camel', opaque) : input;
    let out: any;
    try {
      out = await client.send(new Command(params));
    } catch (err) {
      throw serviceError(service.errorPrefix, err, true);
    }
    if (out?.Body && typeof out.Body.transformToString === 'function') out = { ...out, Body: await out.Body.transformToString() };
    const plain = plainOutput(out);
    return service.camelCase ? recase(plain, 'pascal', opaque) : plain;
  }

  // --- plumbing --------------------------------------------------------------------------------

  private async invoke(fn: StackFunction, event: unknown): Promise<InvokeResult> {
    try {
      return await this.lambdaFor(fn).invoke(event);
    } catch (err) {
      // the execution environment died or timed out: no function answer
      throw taskError('Lambda.Unknown', err instanceof Error ? err.message : String(err));
    }
  }

  /** A function error as Step Functions reports it: Error = errorType, Cause = the error payload as JSON. */
  private functionError(out: InvokeResult): Error {
    const e = out.error!;
    const trace = (e.stack ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
    return taskError(e.errorType, JSON.stringify({ errorMessage: e.errorMessage, errorType: e.errorType, trace }));
  }

  private lambdaFor(fn: StackFunction): LocalLambda {
    if (this.options.lambdaFor) return this.options.lambdaFor(fn);
    let l = this.lambdas.get(fn.logicalId);
    if (!l) {
      l = this.env.lambda(fn);
      this.lambdas.set(fn.logicalId, l);
    }
    return l;
  }

  private clientConfig(): Record<string, unknown> {
    // the state's Retry owns retries, as in Step Functions
    return { ...wireClientConfig(this.env, this.model.region), maxAttempts: 1 };
  }

  /** One client per service, which keeps the HTTP status and headers of each answer (for SdkHttpMetadata). */
  private client<T>(key: string, create: () => T): T {
    let c = this.clients.get(key);
    if (!c) {
      c = create();
      c.middlewareStack.add((next: any) => async (args: any) => {
        const res = await next(args);
        if (isRecord(res.output) && res.response) {
          const meta: HttpMeta = { statusCode: res.response.statusCode, headers: { ...res.response.headers } };
          Object.defineProperty(res.output, HTTP_META, { value: meta, enumerable: false });
        }
        return res;
      }, { step: 'build', name: 'sfnWireHttpMeta' });
      this.clients.set(key, c);
    }
    return c as T;
  }

  private stateMachineId(logicalId?: string): string {
    const machines = this.model.ofType('AWS::StepFunctions::StateMachine').map(([id]) => id).filter((id) => !logicalId || id === logicalId);
    if (machines.length !== 1) throw new Error(`SfnWire: expected one state machine${logicalId ? ` ${logicalId}` : ''}, found ${machines.length}`);
    return machines[0];
  }
}
