/**
 * EventBridge Pipes on the wire (REST-JSON, signing name `pipes`): DescribePipe
 * (`GET /v1/pipes/{Name}`), StopPipe (`POST /v1/pipes/{Name}/stop`) and StartPipe
 * (`POST /v1/pipes/{Name}/start`), with the transitional states: StopPipe answers STOPPING (desired
 * STOPPED) and the pipe settles into STOPPED after `describesToSettle` further DescribePipe calls
 * (1 by default: the next one); StartPipe answers STARTING and settles into RUNNING the same way.
 *
 * Errors with the codes and HTTP statuses of the service model: NotFoundException 404 (no such pipe),
 * ConflictException 409, ValidationException 400 (a name outside `[.\-_A-Za-z0-9]{1,64}`),
 * ThrottlingException 429 (inject it with the server's `fail()`). The body carries `message` only (the
 * model's optional members, resourceId/resourceType/fieldList, are left out).
 *
 * Which states conflict: the API reference documents ConflictException for StopPipe and StartPipe
 * without listing the states. The fake takes the conservative reading the circuit breaker must
 * survive: StopPipe is accepted only from RUNNING, StartPipe only from STOPPED; anything else
 * (already STOPPED/STOPPING, STARTING, CREATING, UPDATING, DELETING, *_FAILED) is a ConflictException.
 * Timestamps are epoch seconds (REST-JSON's default).
 */
import { AwsError, jsonResponse, WireRequest, WireResponse } from '../protocols';
import { ServiceModule } from '../wire-server';

/** Every CurrentState the service model lists. */
export const PIPE_STATES = [
  'RUNNING', 'STOPPED', 'CREATING', 'UPDATING', 'DELETING', 'STARTING', 'STOPPING', 'CREATE_FAILED', 'UPDATE_FAILED',
  'START_FAILED', 'STOP_FAILED', 'DELETE_FAILED', 'CREATE_ROLLBACK_FAILED', 'DELETE_ROLLBACK_FAILED', 'UPDATE_ROLLBACK_FAILED',
] as const;
export type PipeState = typeof PIPE_STATES[number];

/** One pipe the fake holds. */
export interface FakePipe {
  readonly name: string;
  readonly arn: string;
  currentState: PipeState;
  desiredState: 'RUNNING' | 'STOPPED';
  stateReason?: string;
  source: string;
  target: string;
  roleArn: string;
  readonly creationTime: number;
  lastModifiedTime: number;
  /** DescribePipe calls left before a transitional state settles (STOPPING -> STOPPED, STARTING -> RUNNING). */
  settleIn?: number;
}

/** What a test gives to create a pipe. */
export interface CreatePipeOptions {
  /** @default 'RUNNING' */
  readonly state?: PipeState;
  /** @default an SQS queue ARN */
  readonly source?: string;
  /** @default an SNS topic ARN */
  readonly target?: string;
}

const NAME = /^[.\-_A-Za-z0-9]{1,64}$/;
const ACCOUNT = '123456789012';

export class PipesService implements ServiceModule {
  public readonly signingNames = ['pipes'];
  public readonly endpointEnvNames = ['PIPES'];
  public readonly protocol = 'rest-json' as const;
  /**
   * DescribePipe calls after StopPipe/StartPipe until the pipe settles: 1 (default) answers the
   * final state on the next DescribePipe; 2 answers the transitional state once more first.
   */
  public describesToSettle = 1;
  private readonly pipes = new Map<string, FakePipe>();

  public action(req: WireRequest): string {
    const m = /^\/v1\/pipes\/([^/]+)(\/(start|stop))?$/.exec(req.path);
    if (!m) return `Unknown ${req.method} ${req.path}`;
    if (req.method === 'GET' && !m[2]) return 'DescribePipe';
    if (req.method === 'POST' && m[3] === 'stop') return 'StopPipe';
    if (req.method === 'POST' && m[3] === 'start') return 'StartPipe';
    return `Unknown ${req.method} ${req.path}`;
  }

  public decode(req: WireRequest): unknown {
    return { Name: this.nameOf(req) };
  }

  /** Adds a pipe (RUNNING unless told). */
  public createPipe(name: string, options: CreatePipeOptions = {}): FakePipe {
    const now = Math.floor(Date.now() / 1000);
    const state = options.state ?? 'RUNNING';
    const pipe: FakePipe = {
      name,
      arn: `arn:aws:pipes:us-east-1:${ACCOUNT}:pipe/${name}`,
      currentState: state,
      desiredState: state === 'STOPPED' || state === 'STOPPING' ? 'STOPPED' : 'RUNNING',
      source: options.source ?? `arn:aws:sqs:us-east-1:${ACCOUNT}:${name}-source`,
      target: options.target ?? `arn:aws:sns:us-east-1:${ACCOUNT}:${name}-target`,
      roleArn: `arn:aws:iam::${ACCOUNT}:role/${name}-role`,
      creationTime: now,
      lastModifiedTime: now,
    };
    this.pipes.set(name, pipe);
    return pipe;
  }

  /** A pipe's state as the fake holds it (no settling). */
  public pipe(name: string): FakePipe {
    const p = this.pipes.get(name);
    if (!p) throw new Error(`PipesService: no pipe ${name}`);
    return p;
  }

  /** Another actor (the console, an update) puts the pipe in a state. */
  public setState(name: string, state: PipeState): void {
    const p = this.pipe(name);
    p.currentState = state;
    p.settleIn = undefined;
    if (state === 'STOPPED' || state === 'RUNNING') p.desiredState = state;
  }

  public handle(req: WireRequest, action: string): WireResponse {
    const name = this.nameOf(req);
    if (action.startsWith('Unknown')) throw new AwsError('UnknownOperationException', `${action} is not an operation of EventBridge Pipes`, 404);
    if (!NAME.test(name)) {
      throw validation(`1 validation error detected: Value '${name}' at 'name' failed to satisfy constraint: `
        + 'Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+');
    }
    const pipe = this.pipes.get(name);
    if (!pipe) throw new AwsError('NotFoundException', `Pipe ${name} does not exist.`, 404);
    switch (action) {
      case 'DescribePipe':
        this.advance(pipe);
        return jsonResponse({
          Arn: pipe.arn,
          Name: pipe.name,
          DesiredState: pipe.desiredState,
          CurrentState: pipe.currentState,
          StateReason: pipe.stateReason,
          Source: pipe.source,
          SourceParameters: {},
          Target: pipe.target,
          TargetParameters: {},
          RoleArn: pipe.roleArn,
          Tags: {},
          CreationTime: pipe.creationTime,
          LastModifiedTime: pipe.lastModifiedTime,
        });
      case 'StopPipe':
        if (pipe.currentState !== 'RUNNING') throw conflict(pipe, 'stop', 'RUNNING');
        return this.transition(pipe, 'STOPPING', 'STOPPED');
      case 'StartPipe':
        if (pipe.currentState !== 'STOPPED') throw conflict(pipe, 'start', 'STOPPED');
        return this.transition(pipe, 'STARTING', 'RUNNING');
      default:
        throw new AwsError('UnknownOperationException', `unknown operation ${action}`, 404);
    }
  }

  private transition(pipe: FakePipe, through: PipeState, desired: 'RUNNING' | 'STOPPED'): WireResponse {
    pipe.currentState = through;
    pipe.desiredState = desired;
    pipe.stateReason = undefined;
    pipe.lastModifiedTime = Math.floor(Date.now() / 1000);
    pipe.settleIn = this.describesToSettle;
    if (pipe.settleIn <= 0) pipe.settleIn = undefined;
    const answer = jsonResponse({
      Arn: pipe.arn,
      Name: pipe.name,
      DesiredState: desired,
      CurrentState: through,
      CreationTime: pipe.creationTime,
      LastModifiedTime: pipe.lastModifiedTime,
    });
    if (this.describesToSettle <= 0) pipe.currentState = desired;
    return answer;
  }

  /** A DescribePipe call: a transitional state moves one step towards the desired state. */
  private advance(pipe: FakePipe): void {
    if (pipe.settleIn === undefined) return;
    pipe.settleIn--;
    if (pipe.settleIn <= 0) {
      pipe.currentState = pipe.desiredState;
      pipe.settleIn = undefined;
    }
  }

  private nameOf(req: WireRequest): string {
    const m = /^\/v1\/pipes\/([^/]+)/.exec(req.path);
    return m ? decodeURIComponent(m[1]) : '';
  }
}

function conflict(pipe: FakePipe, verb: string, needed: string): AwsError {
  return new AwsError('ConflictException', `Pipe ${pipe.name} cannot be ${verb === 'stop' ? 'stopped' : 'started'} in state `
    + `${pipe.currentState}: it must be ${needed}.`, 409);
}

function validation(message: string): AwsError {
  return new AwsError('ValidationException', message, 400);
}
