/**
 * Step Functions on the wire (JSON 1.0, `X-Amz-Target: AWSStepFunctions.<Action>`): a fake that keeps
 * executions and callback task tokens, and answers as the service does for the calls our handlers
 * make: StartExecution (with the name-reuse rules of a Standard workflow), DescribeExecution,
 * GetExecutionHistory, SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat. No state machine runs
 * here: a test issues task tokens, times them out, or closes executions to stage what Step Functions
 * would have done; the fake keeps each execution's history as the service reports it.
 *
 * Behaviour, as documented or observed:
 * - StartExecution with a name already used for the same state machine: the original execution is
 *   returned (same ARN and start date) when it is still open and the input is identical; otherwise
 *   (different input, or the original execution closed) ExecutionAlreadyExists.
 * - A task token answered once, timed out (task timeout or heartbeat timeout), or whose execution has
 *   closed: TaskTimedOut, "Task Timed Out: 'Provided task does not exist anymore'" (the documented
 *   meaning of TaskTimedOut is "the task token has either expired or the task associated with the
 *   token has already been closed"; the message is the one seen from the service for a late or a
 *   second answer).
 * - A token of the right form whose task is unknown: TaskDoesNotExist; a token that is not one:
 *   InvalidToken; an output that is not JSON: InvalidOutput; a member over its length limit
 *   (output 256 KiB in UTF-8 bytes, error 256, cause 32768, token 2048): ValidationException.
 * - A task token always belongs to an execution: a token issued for an execution the fake has not
 *   started registers that execution (RUNNING, input "{}").
 * - History (GetExecutionHistory): events `{ id, previousEventId, timestamp, type, <type>EventDetails }`,
 *   ids from 1 in the order they happened, oldest first unless `reverseOrder`. ExecutionStarted
 *   {input, inputDetails, roleArn}; per callback task TaskStateEntered {name, input}, TaskScheduled
 *   {resourceType, resource, region, parameters, heartbeatInSeconds?, timeoutInSeconds?}, TaskStarted
 *   and TaskSubmitted {resourceType, resource(, output)}; an answer adds TaskSucceeded {resourceType,
 *   resource, output, outputDetails} and TaskStateExited {name, output}, or TaskFailed {resourceType,
 *   resource, error, cause}; a timeout TaskTimedOut {resourceType, resource, error: States.Timeout |
 *   States.HeartbeatTimeout}; closing the execution Execution{Succeeded,Failed,Aborted,TimedOut}.
 *   Paging: maxResults 1..1000 (0 or none: 100; more: ValidationException), an opaque nextToken
 *   that must come back with the same arguments (otherwise InvalidToken, HTTP 400);
 *   includeExecutionData: false leaves out every input, output and parameters.
 */
import * as crypto from 'crypto';
import { AwsError, decodeJsonForLog, jsonInput, jsonResponse, jsonTarget, WireRequest, WireResponse } from '../protocols';
import { ServiceModule } from '../wire-server';

/** Largest output, input or payload Step Functions accepts, in UTF-8 bytes (256 KiB). */
export const SFN_MAX_PAYLOAD_BYTES = 262144;
/** Longest task token the API accepts. */
export const SFN_MAX_TOKEN_LENGTH = 2048;
/** Longest `error` of SendTaskFailure. */
export const SFN_MAX_ERROR_LENGTH = 256;
/** Longest `cause` of SendTaskFailure. */
export const SFN_MAX_CAUSE_LENGTH = 32768;

/** Largest page of GetExecutionHistory; the default page is 100 events. */
export const SFN_MAX_HISTORY_PAGE = 1000;
const DEFAULT_HISTORY_PAGE = 100;

/** The message Step Functions gives with TaskTimedOut. */
export const TASK_TIMED_OUT_MESSAGE = "Task Timed Out: 'Provided task does not exist anymore'";

const STATE_MACHINE_ARN = /^arn:(aws[a-z-]*):states:([a-z0-9-]+):(\d{12}):stateMachine:([^:\s]{1,80})(?::([^:\s]{1,80}))?$/;
const EXECUTION_ARN = /^arn:(aws[a-z-]*):states:([a-z0-9-]+):(\d{12}):execution:([^:\s]{1,80}):([^:\s]{1,80})$/;
// Whitespace, brackets, wildcards, the listed special characters, and control characters.
// eslint-disable-next-line no-control-regex
const INVALID_NAME_CHARACTERS = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;

const TOKEN_VERSION = 0x01;
const TOKEN_ID_BYTES = 16;
const TOKEN_PADDING_BYTES = 480;
const TOKEN_MAC_BYTES = 32;

/** Status of an execution, as DescribeExecution reports it. */
export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** One history event as GetExecutionHistory answers it (timestamps as Dates here, epoch seconds on the wire). */
export interface HistoryEventRecord {
  readonly id: number;
  readonly previousEventId: number;
  readonly timestamp: Date;
  /** `ExecutionStarted`, `TaskSucceeded`, `TaskFailed`... */
  readonly type: string;
  /** The details member of the type (`taskSucceededEventDetails`...) with its value, if the type has one. */
  readonly details?: { readonly member: string; readonly value: Record<string, unknown> };
}

/** One execution as the fake keeps it. */
export interface ExecutionRecord {
  readonly executionArn: string;
  /** The unqualified state machine ARN. */
  readonly stateMachineArn: string;
  /** The version ARN, when StartExecution named a version. */
  readonly stateMachineVersionArn?: string;
  /** The alias ARN, when StartExecution named an alias. */
  readonly stateMachineAliasArn?: string;
  readonly name: string;
  /** The input as sent (a JSON string). */
  readonly input: string;
  readonly startDate: Date;
  readonly status: ExecutionStatus;
  readonly stopDate?: Date;
  readonly output?: string;
  readonly error?: string;
  readonly cause?: string;
  /** How many StartExecution calls answered with this execution (the idempotent repeats included). */
  readonly startCount: number;
}

/**
 * Status of a callback task: OPEN waits for an answer; SUCCEEDED/FAILED were answered; TIMED_OUT ran
 * past its timeout or heartbeat; CLOSED ended with its execution; GONE is forgotten by the service.
 */
export type TaskStatus = 'OPEN' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'CLOSED' | 'GONE';

/** One callback task (a `.waitForTaskToken` state) and what was sent for it. */
export interface TaskRecord {
  readonly token: string;
  /** The execution the task belongs to, if the test linked one. */
  readonly executionArn?: string;
  readonly issuedAt: Date;
  readonly status: TaskStatus;
  /** The output of the SendTaskSuccess that closed the task (a JSON string). */
  readonly output?: string;
  /** The `error` of the SendTaskFailure that closed the task. */
  readonly error?: string;
  /** The `cause` of the SendTaskFailure that closed the task. */
  readonly cause?: string;
  /** When the task was answered (SendTaskSuccess or SendTaskFailure accepted). */
  readonly answeredAt?: Date;
  /** Accepted SendTaskHeartbeat calls, in order. */
  readonly heartbeats: readonly Date[];
  /** Every call made with this token, accepted or refused, in order. */
  readonly calls: ReadonlyArray<{ readonly action: string; readonly at: Date; readonly error?: string }>;
}

/** Options of `issueTaskToken`. */
export interface IssueTaskTokenOptions {
  /** The execution the task belongs to: closing it closes the task. @default - none */
  readonly executionArn?: string;
  /** `HeartbeatSeconds` of the task state: without a heartbeat for this long the task times out. @default - none */
  readonly heartbeatSeconds?: number;
  /** `TimeoutSeconds` of the task state. @default - none (a callback task may wait up to a year) */
  readonly timeoutSeconds?: number;
  /** The task state's name (in TaskStateEntered / TaskStateExited). @default 'Wait For Callback' */
  readonly stateName?: string;
  /**
   * The task's resource as history events name it (`resourceType`, `resource`).
   * @default - { resourceType: 'lambda', resource: 'invoke.waitForTaskToken' }
   */
  readonly resource?: { readonly resourceType: string; readonly resource: string };
}

/** Options of `closeExecution`. */
export interface CloseExecutionOptions {
  /** @default 'SUCCEEDED' */
  readonly status?: Exclude<ExecutionStatus, 'RUNNING'>;
  /** Output of a SUCCEEDED execution. @default - none */
  readonly output?: string;
  /** Error of a FAILED execution. @default - none */
  readonly error?: string;
  /** Cause of a FAILED execution. @default - none */
  readonly cause?: string;
}

/** Options of the Step Functions fake. */
export interface StepFunctionsServiceOptions {
  /** The clock tasks time out by (`advanceTime` adds to it). @default Date.now */
  readonly now?: () => number;
}

interface MutableExecution {
  executionArn: string;
  stateMachineArn: string;
  stateMachineVersionArn?: string;
  stateMachineAliasArn?: string;
  name: string;
  input: string;
  startDate: Date;
  status: ExecutionStatus;
  stopDate?: Date;
  output?: string;
  error?: string;
  cause?: string;
  startCount: number;
  events: HistoryEventRecord[];
}

interface MutableTask {
  token: string;
  id: string;
  executionArn?: string;
  stateName: string;
  resourceType: string;
  resource: string;
  issuedAt: Date;
  status: TaskStatus;
  heartbeatSeconds?: number;
  timeoutSeconds?: number;
  lastBeat: number;
  output?: string;
  error?: string;
  cause?: string;
  answeredAt?: Date;
  heartbeats: Date[];
  calls: Array<{ action: string; at: Date; error?: string }>;
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** The SDK's ValidationException for one member over its length limit. */
function lengthError(member: string, max: number): AwsError {
  return new AwsError('ValidationException',
    `1 validation error detected: Value at '${member}' failed to satisfy constraint: Member must have length less than or equal to ${max}`);
}

function jsonError(text: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

/** The Step Functions fake: executions and callback task tokens (see the file comment for the rules). */
export class StepFunctionsService implements ServiceModule {
  /** SigV4 signing name of Step Functions. */
  public readonly signingNames = ['states'];
  /** `AWS_ENDPOINT_URL_SFN`. */
  public readonly endpointEnvNames = ['SFN'];
  /** JSON 1.0 (errors as `__type`). */
  public readonly protocol = 'json' as const;

  private readonly machines = new Set<string>();
  private readonly executionsByArn = new Map<string, MutableExecution>();
  private readonly tasksById = new Map<string, MutableTask>();
  private readonly tokenKey = crypto.randomBytes(32);
  private readonly baseNow: () => number;
  private offsetMs = 0;

  constructor(options: StepFunctionsServiceOptions = {}) {
    this.baseNow = options.now ?? Date.now;
  }

  // --- ServiceModule ---------------------------------------------------------------------------

  public action(req: WireRequest): string {
    return jsonTarget(req);
  }

  public decode(req: WireRequest): unknown {
    return decodeJsonForLog(req);
  }

  public handle(req: WireRequest, action: string): WireResponse {
    const input = jsonInput(req);
    switch (action) {
      case 'StartExecution': return jsonResponse(this.startExecution(input));
      case 'DescribeExecution': return jsonResponse(this.describeExecution(input));
      case 'GetExecutionHistory': return jsonResponse(this.getExecutionHistory(input));
      case 'SendTaskSuccess': return jsonResponse(this.sendTaskSuccess(input));
      case 'SendTaskFailure': return jsonResponse(this.sendTaskFailure(input));
      case 'SendTaskHeartbeat': return jsonResponse(this.sendTaskHeartbeat(input));
      default:
        throw new AwsError('UnknownOperationException', `The Step Functions fake does not implement ${action || '(no X-Amz-Target)'}`);
    }
  }

  // --- test helpers: state machines and executions ------------------------------------------------

  /**
   * Registers a state machine. Once any is registered, StartExecution on any other ARN answers
   * StateMachineDoesNotExist (before that, every well-formed ARN is accepted).
   */
  public registerStateMachine(arn: string): this {
    const parsed = STATE_MACHINE_ARN.exec(arn);
    if (!parsed) throw new Error(`StepFunctionsService: not a state machine ARN: ${arn}`);
    this.machines.add(this.unqualified(parsed));
    return this;
  }

  /** Every execution started, in start order. */
  public get executions(): ExecutionRecord[] {
    return [...this.executionsByArn.values()].map((e) => this.record(e));
  }

  /** One execution, by ARN or by name; undefined when there is none. */
  public execution(arnOrName: string): ExecutionRecord | undefined {
    const found = this.executionsByArn.get(arnOrName) ?? [...this.executionsByArn.values()].find((e) => e.name === arnOrName);
    return found ? this.record(found) : undefined;
  }

  /**
   * Registers an execution as RUNNING (input "{}", started now) unless the fake knows it already:
   * what a test does when it stages tasks of an execution it did not start with StartExecution.
   */
  public ensureExecution(executionArn: string): ExecutionRecord {
    const parsed = EXECUTION_ARN.exec(executionArn);
    if (!parsed) throw new Error(`StepFunctionsService: not an execution ARN: ${executionArn}`);
    const existing = this.executionsByArn.get(executionArn);
    if (existing) return this.record(existing);
    const [, partition, region, account, machineName, name] = parsed;
    const execution = this.addExecution({
      executionArn,
      stateMachineArn: `arn:${partition}:states:${region}:${account}:stateMachine:${machineName}`,
      name,
      input: '{}',
    });
    return this.record(execution);
  }

  /** The history of an execution, oldest event first (what GetExecutionHistory pages through). */
  public history(executionArn: string): HistoryEventRecord[] {
    const execution = this.executionsByArn.get(executionArn);
    if (!execution) throw new Error(`StepFunctionsService: no execution ${executionArn}`);
    this.refreshTasksOf(executionArn);
    return execution.events.map((e) => ({ ...e }));
  }

  /**
   * Appends `count` events of Pass states to a running execution's history (PassStateEntered /
   * PassStateExited in turn): a long execution, for paging.
   */
  public addStateEvents(executionArn: string, count: number): void {
    const execution = this.executionsByArn.get(executionArn);
    if (!execution) throw new Error(`StepFunctionsService: no execution ${executionArn}`);
    for (let i = 0; i < count; i++) {
      const entered = i % 2 === 0;
      this.addEvent(execution, entered ? 'PassStateEntered' : 'PassStateExited', entered
        ? { member: 'stateEnteredEventDetails', value: { name: `Step ${Math.floor(i / 2) + 1}`, input: '{}', inputDetails: { truncated: false } } }
        : { member: 'stateExitedEventDetails', value: { name: `Step ${Math.floor(i / 2) + 1}`, output: '{}', outputDetails: { truncated: false } } });
    }
  }

  /**
   * Closes an execution (it succeeded, failed, timed out or was stopped): its open tasks close with it
   * (TaskTimedOut from then on), and its name can no longer be reused (ExecutionAlreadyExists).
   * An ARN the fake never started still closes the tasks linked to it.
   */
  public closeExecution(executionArn: string, options: CloseExecutionOptions = {}): void {
    const execution = this.executionsByArn.get(executionArn);
    for (const task of this.tasksById.values()) {
      this.refresh(task);
      if (task.executionArn === executionArn && task.status === 'OPEN') task.status = 'CLOSED';
    }
    if (execution && execution.status === 'RUNNING') {
      execution.status = options.status ?? 'SUCCEEDED';
      execution.stopDate = new Date(this.nowMs());
      execution.output = options.output;
      execution.error = options.error;
      execution.cause = options.cause;
      const errorAndCause = { error: options.error, cause: options.cause };
      switch (execution.status) {
        case 'SUCCEEDED':
          this.addEvent(execution, 'ExecutionSucceeded', {
            member: 'executionSucceededEventDetails', value: { output: options.output ?? 'null', outputDetails: { truncated: false } },
          });
          break;
        case 'FAILED': this.addEvent(execution, 'ExecutionFailed', { member: 'executionFailedEventDetails', value: errorAndCause }); break;
        case 'ABORTED': this.addEvent(execution, 'ExecutionAborted', { member: 'executionAbortedEventDetails', value: errorAndCause }); break;
        default: this.addEvent(execution, 'ExecutionTimedOut', { member: 'executionTimedOutEventDetails', value: errorAndCause });
      }
    }
  }

  // --- test helpers: task tokens ------------------------------------------------------------------

  /**
   * A fresh task token, registered as open (what `$$.Task.Token` holds in a `.waitForTaskToken`
   * state). Opaque, ~700 characters of base64 like a real one.
   */
  public issueTaskToken(options: IssueTaskTokenOptions = {}): string {
    const id = crypto.randomBytes(TOKEN_ID_BYTES);
    const token = this.sealToken(id);
    const now = this.nowMs();
    const task: MutableTask = {
      token,
      id: id.toString('hex'),
      executionArn: options.executionArn,
      stateName: options.stateName ?? 'Wait For Callback',
      resourceType: options.resource?.resourceType ?? 'lambda',
      resource: options.resource?.resource ?? 'invoke.waitForTaskToken',
      issuedAt: new Date(now),
      status: 'OPEN',
      heartbeatSeconds: options.heartbeatSeconds,
      timeoutSeconds: options.timeoutSeconds,
      lastBeat: now,
      heartbeats: [],
      calls: [],
    };
    this.tasksById.set(task.id, task);
    if (options.executionArn !== undefined) {
      this.ensureExecution(options.executionArn);
      const execution = this.executionsByArn.get(options.executionArn)!;
      const { resourceType, resource } = task;
      const parameters = JSON.stringify({ FunctionName: 'approval-request', Payload: { taskToken: token } });
      this.addEvent(execution, 'TaskStateEntered', { member: 'stateEnteredEventDetails', value: { name: task.stateName, input: '{}', inputDetails: { truncated: false } } });
      this.addEvent(execution, 'TaskScheduled', {
        member: 'taskScheduledEventDetails',
        value: {
          resourceType,
          resource,
          region: execution.executionArn.split(':')[3],
          parameters,
          timeoutInSeconds: options.timeoutSeconds,
          heartbeatInSeconds: options.heartbeatSeconds,
        },
      });
      this.addEvent(execution, 'TaskStarted', { member: 'taskStartedEventDetails', value: { resourceType, resource } });
      this.addEvent(execution, 'TaskSubmitted', {
        member: 'taskSubmittedEventDetails', value: { resourceType, resource, output: '{"StatusCode":200}', outputDetails: { truncated: false } },
      });
    }
    return token;
  }

  /** A token of the right form that no task was ever issued for (TaskDoesNotExist). */
  public unknownTaskToken(): string {
    return this.sealToken(crypto.randomBytes(TOKEN_ID_BYTES));
  }

  /** The task's timeout (or heartbeat timeout) elapsed: every later call gets TaskTimedOut. */
  public timeOutTask(token: string): void {
    const task = this.taskOf(token);
    this.refresh(task);
    if (task.status === 'OPEN') this.timeOut(task, 'States.Timeout', this.nowMs());
  }

  /** The service no longer knows the task (its execution's history is gone): TaskDoesNotExist. */
  public forgetTask(token: string): void {
    this.taskOf(token).status = 'GONE';
  }

  /** What was sent for a task so far (status, output, error, cause, heartbeats, every call). */
  public task(token: string): TaskRecord {
    const task = this.taskOf(token);
    this.refresh(task);
    return {
      token: task.token,
      executionArn: task.executionArn,
      issuedAt: task.issuedAt,
      status: task.status,
      output: task.output,
      error: task.error,
      cause: task.cause,
      answeredAt: task.answeredAt,
      heartbeats: [...task.heartbeats],
      calls: task.calls.map((c) => ({ ...c })),
    };
  }

  /** Every task issued, in order. */
  public get tasks(): TaskRecord[] {
    return [...this.tasksById.values()].map((t) => this.task(t.token));
  }

  /** Moves the fake's clock forward (task and heartbeat timeouts are measured by it). */
  public advanceTime(seconds: number): void {
    this.offsetMs += seconds * 1000;
  }

  // --- operations ---------------------------------------------------------------------------------

  private startExecution(input: Record<string, unknown>): Record<string, unknown> {
    const arn = typeof input.stateMachineArn === 'string' ? input.stateMachineArn : '';
    if (arn === '') throw new AwsError('ValidationException', "1 validation error detected: Value null at 'stateMachineArn' failed to satisfy constraint: Member must not be null");
    const parsed = STATE_MACHINE_ARN.exec(arn);
    if (!parsed) throw new AwsError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${arn}'`);
    const machineArn = this.unqualified(parsed);
    if (this.machines.size > 0 && !this.machines.has(machineArn)) {
      throw new AwsError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    }
    const executionInput = input.input === undefined || input.input === null ? '{}' : String(input.input);
    if (utf8Bytes(executionInput) > SFN_MAX_PAYLOAD_BYTES) throw lengthError('input', SFN_MAX_PAYLOAD_BYTES);
    const parseError = jsonError(executionInput);
    if (parseError !== undefined) throw new AwsError('InvalidExecutionInput', `Invalid State Machine Execution Input: '${parseError}'`);

    const name = input.name === undefined || input.name === null ? crypto.randomUUID() : String(input.name);
    if (name.length < 1 || name.length > 80 || INVALID_NAME_CHARACTERS.test(name)) {
      throw new AwsError('InvalidName', `Invalid Name: '${name}'`);
    }
    const [, partition, arnRegion, account, machineName, qualifier] = parsed;
    const executionArn = `arn:${partition}:states:${arnRegion}:${account}:execution:${machineName}:${name}`;
    const existing = this.executionsByArn.get(executionArn);
    if (existing) {
      // Standard workflows: idempotent only while the original runs and the input is identical.
      if (existing.status === 'RUNNING' && existing.input === executionInput) {
        existing.startCount++;
        return { executionArn, startDate: epochSeconds(existing.startDate) };
      }
      throw new AwsError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const execution = this.addExecution({
      executionArn,
      stateMachineArn: machineArn,
      stateMachineVersionArn: qualifier !== undefined && /^\d+$/.test(qualifier) ? arn : undefined,
      stateMachineAliasArn: qualifier !== undefined && !/^\d+$/.test(qualifier) ? arn : undefined,
      name,
      input: executionInput,
    });
    return { executionArn, startDate: epochSeconds(execution.startDate) };
  }

  private describeExecution(input: Record<string, unknown>): Record<string, unknown> {
    const arn = typeof input.executionArn === 'string' ? input.executionArn : '';
    if (!EXECUTION_ARN.test(arn)) throw new AwsError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${arn}'`);
    const e = this.executionsByArn.get(arn);
    if (!e) throw new AwsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return {
      executionArn: e.executionArn,
      stateMachineArn: e.stateMachineArn,
      stateMachineVersionArn: e.stateMachineVersionArn,
      stateMachineAliasArn: e.stateMachineAliasArn,
      name: e.name,
      status: e.status,
      startDate: epochSeconds(e.startDate),
      stopDate: e.stopDate ? epochSeconds(e.stopDate) : undefined,
      input: e.input,
      inputDetails: { included: true },
      output: e.output,
      outputDetails: e.output !== undefined ? { included: true } : undefined,
      error: e.error,
      cause: e.cause,
      redriveCount: 0,
      redriveStatus: e.status === 'FAILED' || e.status === 'TIMED_OUT' || e.status === 'ABORTED' ? 'REDRIVABLE' : 'NOT_REDRIVABLE',
    };
  }

  private sendTaskSuccess(input: Record<string, unknown>): Record<string, unknown> {
    const output = typeof input.output === 'string' ? input.output : '';
    if (utf8Bytes(output) > SFN_MAX_PAYLOAD_BYTES) throw lengthError('output', SFN_MAX_PAYLOAD_BYTES);
    const task = this.openTask(input.taskToken, 'SendTaskSuccess', () => {
      const parseError = jsonError(output);
      return parseError === undefined ? undefined : new AwsError('InvalidOutput', `Invalid Output: '${parseError}'`);
    });
    task.status = 'SUCCEEDED';
    task.output = output;
    task.answeredAt = new Date(this.nowMs());
    const execution = this.executionOf(task);
    if (execution) {
      const { resourceType, resource } = task;
      this.addEvent(execution, 'TaskSucceeded', { member: 'taskSucceededEventDetails', value: { resourceType, resource, output, outputDetails: { truncated: false } } });
      this.addEvent(execution, 'TaskStateExited', { member: 'stateExitedEventDetails', value: { name: task.stateName, output, outputDetails: { truncated: false } } });
    }
    return {};
  }

  private sendTaskFailure(input: Record<string, unknown>): Record<string, unknown> {
    const error = typeof input.error === 'string' ? input.error : undefined;
    const cause = typeof input.cause === 'string' ? input.cause : undefined;
    if (error !== undefined && error.length > SFN_MAX_ERROR_LENGTH) throw lengthError('error', SFN_MAX_ERROR_LENGTH);
    if (cause !== undefined && cause.length > SFN_MAX_CAUSE_LENGTH) throw lengthError('cause', SFN_MAX_CAUSE_LENGTH);
    const task = this.openTask(input.taskToken, 'SendTaskFailure');
    task.status = 'FAILED';
    task.error = error;
    task.cause = cause;
    task.answeredAt = new Date(this.nowMs());
    const execution = this.executionOf(task);
    if (execution) {
      this.addEvent(execution, 'TaskFailed', { member: 'taskFailedEventDetails', value: { resourceType: task.resourceType, resource: task.resource, error, cause } });
    }
    return {};
  }

  private sendTaskHeartbeat(input: Record<string, unknown>): Record<string, unknown> {
    const task = this.openTask(input.taskToken, 'SendTaskHeartbeat');
    const now = this.nowMs();
    task.lastBeat = now;
    task.heartbeats.push(new Date(now));
    return {};
  }

  private getExecutionHistory(input: Record<string, unknown>): Record<string, unknown> {
    const arn = typeof input.executionArn === 'string' ? input.executionArn : '';
    if (arn === '') throw new AwsError('ValidationException', "1 validation error detected: Value null at 'executionArn' failed to satisfy constraint: Member must not be null");
    if (!EXECUTION_ARN.test(arn)) throw new AwsError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${arn}'`);
    const maxResults = typeof input.maxResults === 'number' ? input.maxResults : 0;
    if (maxResults < 0 || maxResults > SFN_MAX_HISTORY_PAGE) {
      throw new AwsError('ValidationException',
        `1 validation error detected: Value '${maxResults}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to ${SFN_MAX_HISTORY_PAGE}`);
    }
    const execution = this.executionsByArn.get(arn);
    if (!execution) throw new AwsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    this.refreshTasksOf(arn);
    const reverse = input.reverseOrder === true;
    const includeData = input.includeExecutionData !== false;
    // the token names the arguments it was issued for ("keep all other arguments unchanged")
    const scope = `${arn}|${reverse}|${includeData}|${maxResults}`;
    let offset = 0;
    if (input.nextToken !== undefined && input.nextToken !== null) {
      const opened = typeof input.nextToken === 'string' ? this.openPageToken(input.nextToken, scope) : undefined;
      if (opened === undefined) throw new AwsError('InvalidToken', `Invalid Token: '${String(input.nextToken).slice(0, 40)}'`);
      offset = opened;
    }
    const ordered = reverse ? [...execution.events].reverse() : execution.events;
    const size = maxResults === 0 ? DEFAULT_HISTORY_PAGE : maxResults;
    const page = ordered.slice(offset, offset + size);
    const next = offset + page.length < ordered.length ? this.sealPageToken(scope, offset + page.length) : undefined;
    return { events: page.map((e) => this.eventJson(e, includeData)), nextToken: next };
  }

  /**
   * The open task a token names, or the error Step Functions gives: ValidationException (length),
   * InvalidToken (not a token), TaskDoesNotExist (unknown task), `check()` (request content, e.g.
   * InvalidOutput), TaskTimedOut (timed out, answered, or its execution closed).
   */
  private openTask(rawToken: unknown, action: string, check?: () => AwsError | undefined): MutableTask {
    const token = typeof rawToken === 'string' ? rawToken : '';
    if (token.length === 0) {
      throw new AwsError('ValidationException', "1 validation error detected: Value at 'taskToken' failed to satisfy constraint: Member must have length greater than or equal to 1");
    }
    if (token.length > SFN_MAX_TOKEN_LENGTH) throw lengthError('taskToken', SFN_MAX_TOKEN_LENGTH);
    const id = this.openToken(token);
    if (id === undefined) throw new AwsError('InvalidToken', "Invalid Token: 'Invalid token'");
    const task = this.tasksById.get(id);
    const at = new Date(this.nowMs());
    const refuse = (err: AwsError): never => {
      task?.calls.push({ action, at, error: err.code });
      throw err;
    };
    if (!task || task.status === 'GONE') return refuse(new AwsError('TaskDoesNotExist', "Task Does Not Exist: 'Provided task does not exist'"));
    const invalid = check?.();
    if (invalid) return refuse(invalid);
    this.refresh(task);
    if (task.status !== 'OPEN') return refuse(new AwsError('TaskTimedOut', TASK_TIMED_OUT_MESSAGE));
    task.calls.push({ action, at });
    return task;
  }

  // --- internals ----------------------------------------------------------------------------------

  private nowMs(): number {
    return this.baseNow() + this.offsetMs;
  }

  /** Applies the task's timeout and heartbeat timeout at the current clock. */
  private refresh(task: MutableTask): void {
    if (task.status !== 'OPEN') return;
    const now = this.nowMs();
    const timeoutAt = task.timeoutSeconds !== undefined ? task.issuedAt.getTime() + task.timeoutSeconds * 1000 : Infinity;
    const heartbeatAt = task.heartbeatSeconds !== undefined ? task.lastBeat + task.heartbeatSeconds * 1000 : Infinity;
    if (now >= Math.min(timeoutAt, heartbeatAt)) {
      this.timeOut(task, heartbeatAt < timeoutAt ? 'States.HeartbeatTimeout' : 'States.Timeout', Math.min(timeoutAt, heartbeatAt));
    }
  }

  private refreshTasksOf(executionArn: string): void {
    for (const task of this.tasksById.values()) if (task.executionArn === executionArn) this.refresh(task);
  }

  /** The task timed out at `atMs`: TIMED_OUT, and a TaskTimedOut event in its execution's history. */
  private timeOut(task: MutableTask, error: string, atMs: number): void {
    task.status = 'TIMED_OUT';
    const execution = this.executionOf(task);
    if (execution) {
      this.addEvent(execution, 'TaskTimedOut', { member: 'taskTimedOutEventDetails', value: { resourceType: task.resourceType, resource: task.resource, error } }, atMs);
    }
  }

  private executionOf(task: MutableTask): MutableExecution | undefined {
    return task.executionArn === undefined ? undefined : this.executionsByArn.get(task.executionArn);
  }

  /** A new RUNNING execution, started now, with its ExecutionStarted event. */
  private addExecution(fields: Pick<MutableExecution, 'executionArn' | 'stateMachineArn' | 'stateMachineVersionArn' | 'stateMachineAliasArn' | 'name' | 'input'>): MutableExecution {
    const execution: MutableExecution = { ...fields, startDate: new Date(this.nowMs()), status: 'RUNNING', startCount: 1, events: [] };
    this.executionsByArn.set(execution.executionArn, execution);
    const [, partition, , account] = EXECUTION_ARN.exec(execution.executionArn)!;
    this.addEvent(execution, 'ExecutionStarted', {
      member: 'executionStartedEventDetails',
      value: {
        input: execution.input,
        inputDetails: { truncated: false },
        roleArn: `arn:${partition}:iam::${account}:role/StateMachineRole`,
        stateMachineVersionArn: execution.stateMachineVersionArn,
        stateMachineAliasArn: execution.stateMachineAliasArn,
      },
    });
    return execution;
  }

  private addEvent(execution: MutableExecution, type: string, details?: HistoryEventRecord['details'], atMs = this.nowMs()): void {
    const previous = execution.events.at(-1);
    // a timeout found late (timeouts are applied when the fake is next asked) never goes back in time
    const at = Math.max(atMs, previous?.timestamp.getTime() ?? atMs);
    execution.events.push({ id: (previous?.id ?? 0) + 1, previousEventId: previous?.id ?? 0, timestamp: new Date(at), type, details });
  }

  /** An event as the wire carries it; without execution data, no input, output or parameters. */
  private eventJson(e: HistoryEventRecord, includeData: boolean): Record<string, unknown> {
    const json: Record<string, unknown> = { timestamp: epochSeconds(e.timestamp), type: e.type, id: e.id, previousEventId: e.previousEventId };
    if (e.details) {
      const value = { ...e.details.value };
      if (!includeData) for (const member of ['input', 'output', 'parameters']) delete value[member];
      json[e.details.member] = value;
    }
    return json;
  }

  private record(e: MutableExecution): ExecutionRecord {
    const { events: _events, ...rest } = e;
    return { ...rest };
  }

  /** A page token: the arguments it belongs to and where the next page starts, sealed. */
  private sealPageToken(scope: string, offset: number): string {
    const body = Buffer.from(JSON.stringify({ scope, offset }), 'utf8');
    const mac = crypto.createHmac('sha256', this.tokenKey).update(body).digest();
    return Buffer.concat([mac, body]).toString('base64');
  }

  private openPageToken(token: string, scope: string): number | undefined {
    const raw = Buffer.from(token, 'base64');
    if (raw.length <= TOKEN_MAC_BYTES) return undefined;
    const mac = raw.subarray(0, TOKEN_MAC_BYTES);
    const body = raw.subarray(TOKEN_MAC_BYTES);
    if (!crypto.timingSafeEqual(mac, crypto.createHmac('sha256', this.tokenKey).update(body).digest())) return undefined;
    const parsed = JSON.parse(body.toString('utf8')) as { scope: string; offset: number };
    return parsed.scope === scope ? parsed.offset : undefined;
  }

  private taskOf(token: string): MutableTask {
    const id = this.openToken(token);
    const task = id === undefined ? undefined : this.tasksById.get(id);
    if (!task) throw new Error('StepFunctionsService: no task was issued for this token');
    return task;
  }

  private unqualified(parsed: RegExpExecArray): string {
    const [, partition, region, account, machineName] = parsed;
    return `arn:${partition}:states:${region}:${account}:stateMachine:${machineName}`;
  }

  /** version | id | padding | HMAC(version | id | padding), base64: opaque and tamper-evident. */
  private sealToken(id: Buffer): string {
    const body = Buffer.concat([Buffer.from([TOKEN_VERSION]), id, crypto.randomBytes(TOKEN_PADDING_BYTES)]);
    const mac = crypto.createHmac('sha256', this.tokenKey).update(body).digest();
    return Buffer.concat([body, mac]).toString('base64');
  }

  /** The task id a token carries, or undefined when it is not a token of this fake. */
  private openToken(token: string): string | undefined {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(token)) return undefined;
    const raw = Buffer.from(token, 'base64');
    if (raw.length !== 1 + TOKEN_ID_BYTES + TOKEN_PADDING_BYTES + TOKEN_MAC_BYTES || raw[0] !== TOKEN_VERSION) return undefined;
    const body = raw.subarray(0, raw.length - TOKEN_MAC_BYTES);
    const mac = raw.subarray(raw.length - TOKEN_MAC_BYTES);
    const expected = crypto.createHmac('sha256', this.tokenKey).update(body).digest();
    if (!crypto.timingSafeEqual(mac, expected)) return undefined;
    return body.subarray(1, 1 + TOKEN_ID_BYTES).toString('hex');
  }
}
