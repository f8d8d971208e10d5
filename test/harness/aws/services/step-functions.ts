/**
 * Step Functions on the wire (JSON 1.0, `X-Amz-Target: AWSStepFunctions.<Action>`): a fake that keeps
 * executions and callback task tokens, and answers as the service does for the calls our handlers
 * make: StartExecution (with the name-reuse rules of a Standard workflow), DescribeExecution,
 * SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat. No state machine runs here: a test issues
 * task tokens, times them out, or closes executions to stage what Step Functions would have done.
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
}

interface MutableTask {
  token: string;
  id: string;
  executionArn?: string;
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
    return [...this.executionsByArn.values()].map((e) => ({ ...e }));
  }

  /** One execution, by ARN or by name; undefined when there is none. */
  public execution(arnOrName: string): ExecutionRecord | undefined {
    const found = this.executionsByArn.get(arnOrName) ?? [...this.executionsByArn.values()].find((e) => e.name === arnOrName);
    return found ? { ...found } : undefined;
  }

  /**
   * Closes an execution (it succeeded, failed, timed out or was stopped): its open tasks close with it
   * (TaskTimedOut from then on), and its name can no longer be reused (ExecutionAlreadyExists).
   * An ARN the fake never started still closes the tasks linked to it.
   */
  public closeExecution(executionArn: string, options: CloseExecutionOptions = {}): void {
    const execution = this.executionsByArn.get(executionArn);
    if (execution && execution.status === 'RUNNING') {
      execution.status = options.status ?? 'SUCCEEDED';
      execution.stopDate = new Date(this.nowMs());
      execution.output = options.output;
      execution.error = options.error;
      execution.cause = options.cause;
    }
    for (const task of this.tasksById.values()) {
      this.refresh(task);
      if (task.executionArn === executionArn && task.status === 'OPEN') task.status = 'CLOSED';
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
    this.tasksById.set(id.toString('hex'), {
      token,
      id: id.toString('hex'),
      executionArn: options.executionArn,
      issuedAt: new Date(now),
      status: 'OPEN',
      heartbeatSeconds: options.heartbeatSeconds,
      timeoutSeconds: options.timeoutSeconds,
      lastBeat: now,
      heartbeats: [],
      calls: [],
    });
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
    if (task.status === 'OPEN') task.status = 'TIMED_OUT';
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
    const execution: MutableExecution = {
      executionArn,
      stateMachineArn: machineArn,
      stateMachineVersionArn: qualifier !== undefined && /^\d+$/.test(qualifier) ? arn : undefined,
      stateMachineAliasArn: qualifier !== undefined && !/^\d+$/.test(qualifier) ? arn : undefined,
      name,
      input: executionInput,
      startDate: new Date(this.nowMs()),
      status: 'RUNNING',
      startCount: 1,
    };
    this.executionsByArn.set(executionArn, execution);
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
    return {};
  }

  private sendTaskHeartbeat(input: Record<string, unknown>): Record<string, unknown> {
    const task = this.openTask(input.taskToken, 'SendTaskHeartbeat');
    const now = this.nowMs();
    task.lastBeat = now;
    task.heartbeats.push(new Date(now));
    return {};
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
    const timedOut = (task.timeoutSeconds !== undefined && now >= task.issuedAt.getTime() + task.timeoutSeconds * 1000)
      || (task.heartbeatSeconds !== undefined && now >= task.lastBeat + task.heartbeatSeconds * 1000);
    if (timedOut) task.status = 'TIMED_OUT';
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
