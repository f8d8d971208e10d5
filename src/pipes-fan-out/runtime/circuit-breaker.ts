/**
 * The circuit breaker's logic: given an alarm state change, stop the pipe (ALARM), start it again
 * (OK, only with auto-restart), or do nothing. Idempotent: the pipe's state is read first, and a
 * ConflictException (another actor changed the state between the read and the call) is settled by
 * reading it again. The Pipes client, the clock and the log are passed in.
 */
import {
  DescribePipeCommand, PipesClient, StartPipeCommand, StopPipeCommand,
} from '@aws-sdk/client-pipes';
import { ALARM_EVENT_DETAIL_TYPE, ALARM_EVENT_SOURCE, BREAKER_ENV, BREAKER_METRIC, BreakerAction } from './circuit-breaker-contract';
import { requireEnv } from '../../core/runtime/env';
import type { StructuredLog } from '../../core/runtime/log';
import { errorName, withRetry } from '../../core/runtime/retry';

/** The handler's configuration (from the environment the construct set). */
export interface BreakerConfig {
  readonly pipeName: string;
  readonly autoRestart: boolean;
  readonly tripAlarmArn: string;
}

/** Reads and checks the configuration; an error names the variable. */
export function parseBreakerConfig(env: Record<string, string | undefined>): BreakerConfig {
  const pipeName = requireEnv(env, BREAKER_ENV.pipeName);
  if (!/^[.\-_A-Za-z0-9]{1,64}$/.test(pipeName)) {
    throw new Error(`Environment variable ${BREAKER_ENV.pipeName} must be a pipe name ([.-_A-Za-z0-9]{1,64}), got ${JSON.stringify(pipeName)}`);
  }
  const autoRestart = requireEnv(env, BREAKER_ENV.autoRestart);
  if (autoRestart !== 'true' && autoRestart !== 'false') {
    throw new Error(`Environment variable ${BREAKER_ENV.autoRestart} must be 'true' or 'false', got ${JSON.stringify(autoRestart)}`);
  }
  const tripAlarmArn = requireEnv(env, BREAKER_ENV.tripAlarmArn);
  if (!/^arn:[a-z-]+:cloudwatch:[^:]*:\d{12}:alarm:.+$/.test(tripAlarmArn)) {
    throw new Error(`Environment variable ${BREAKER_ENV.tripAlarmArn} must be a CloudWatch alarm ARN, got ${JSON.stringify(tripAlarmArn)}`);
  }
  return { pipeName, autoRestart: autoRestart === 'true', tripAlarmArn };
}

/** What the breaker is given (tests inject fakes). */
export interface BreakerDeps {
  readonly pipes: PipesClient;
  readonly sleep: (ms: number) => Promise<void>;
  readonly log: StructuredLog;
  /** Counts an event (PipeStopped, PipeStarted). */
  readonly count: (metric: string) => void;
  /** A number in [0, 1) for the retry jitter. @default Math.random */
  readonly random?: () => number;
}

/** An alarm state change, as the handler reads it from the EventBridge event. */
export interface AlarmStateChange {
  readonly alarmArn: string;
  readonly alarmName: string;
  /** ALARM, OK or INSUFFICIENT_DATA. */
  readonly state: string;
  readonly previousState?: string;
  readonly reason?: string;
  readonly time?: string;
}

/** A malformed or unexpected event: the handler fails loudly on it (the function's error alarm fires). */
export class BreakerInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BreakerInputError';
  }
}

/** The pipe is in a state the breaker cannot move it out of (CREATE_FAILED, UPDATING...): retried, then alarmed. */
export class PipeStateError extends Error {
  constructor(message: string, public readonly pipeName: string, public readonly currentState: string | undefined) {
    super(message);
    this.name = 'PipeStateError';
  }
}

const ALARM_STATES = new Set(['ALARM', 'OK', 'INSUFFICIENT_DATA']);

/** Reads an EventBridge "CloudWatch Alarm State Change" event; throws BreakerInputError for anything else. */
export function parseAlarmEvent(event: unknown): AlarmStateChange {
  const e = event as Record<string, any> | undefined;
  if (!e || typeof e !== 'object') throw new BreakerInputError(`expected an EventBridge event, got ${JSON.stringify(event)}`);
  if (e.source !== ALARM_EVENT_SOURCE || e['detail-type'] !== ALARM_EVENT_DETAIL_TYPE) {
    throw new BreakerInputError(`expected source '${ALARM_EVENT_SOURCE}' and detail-type '${ALARM_EVENT_DETAIL_TYPE}', `
      + `got source ${JSON.stringify(e.source)} and detail-type ${JSON.stringify(e['detail-type'])}`);
  }
  const alarmArn = Array.isArray(e.resources) ? e.resources[0] : undefined;
  const state = e.detail?.state?.value;
  if (typeof alarmArn !== 'string' || !alarmArn) throw new BreakerInputError('the event names no alarm (resources is empty)');
  if (typeof state !== 'string' || !ALARM_STATES.has(state)) {
    throw new BreakerInputError(`detail.state.value must be ALARM, OK or INSUFFICIENT_DATA, got ${JSON.stringify(state)}`);
  }
  return {
    alarmArn,
    alarmName: String(e.detail?.alarmName ?? alarmArn.slice(alarmArn.lastIndexOf(':alarm:') + 7)),
    state,
    previousState: e.detail?.previousState?.value,
    reason: e.detail?.state?.reason,
    time: e.time,
  };
}

/** What the breaker did, for the invoke result and the tests. */
export interface BreakerOutcome {
  readonly action: BreakerAction;
  readonly pipeName: string;
  readonly alarmName: string;
  /** The pipe's state as read before acting (absent when nothing was read). */
  readonly stateBefore?: string;
  /** The state StopPipe/StartPipe answered, or the state read when nothing was done. */
  readonly stateAfter?: string;
}

const STOPPED_OR_STOPPING = new Set(['STOPPED', 'STOPPING']);
const RUNNING_OR_STARTING = new Set(['RUNNING', 'STARTING']);

/** Where the data waits while the pipe is stopped, and for how long (the loud log line says it). */
export const STOPPED_PIPE_WARNING = 'Records wait in the pipe source while it is stopped and are LOST once they are older than the '
  + 'source\'s retention (24 hours for DynamoDB Streams, the stream\'s retention period for Kinesis, the queue\'s message retention for SQS).';

/** Acts on one alarm state change. */
export async function runBreaker(event: unknown, config: BreakerConfig, deps: BreakerDeps): Promise<BreakerOutcome> {
  const change = parseAlarmEvent(event);
  if (change.alarmArn !== config.tripAlarmArn) {
    throw new BreakerInputError(`the event is for alarm ${change.alarmArn}, not this breaker's trip alarm ${config.tripAlarmArn}`);
  }
  const base = { pipeName: config.pipeName, alarmName: change.alarmName };
  const retry = { sleep: deps.sleep, log: deps.log, random: deps.random };
  const describe = async (): Promise<string | undefined> =>
    (await withRetry(retry, 'DescribePipe', () => deps.pipes.send(new DescribePipeCommand({ Name: config.pipeName })))).CurrentState;

  if (change.state === 'INSUFFICIENT_DATA') {
    deps.log.info('trip alarm has insufficient data: the pipe is left as it is', { pipeName: config.pipeName, alarm: change.alarmName });
    return { ...base, action: 'IGNORED' };
  }

  if (change.state === 'ALARM') {
    const stateBefore = await describe();
    if (stateBefore && STOPPED_OR_STOPPING.has(stateBefore)) {
      deps.log.warn('trip alarm is in ALARM; the pipe is already stopped', { pipeName: config.pipeName, alarm: change.alarmName, currentState: stateBefore });
      return { ...base, action: 'ALREADY_STOPPED', stateBefore, stateAfter: stateBefore };
    }
    let stateAfter: string | undefined;
    try {
      stateAfter = (await withRetry(retry, 'StopPipe', () => deps.pipes.send(new StopPipeCommand({ Name: config.pipeName })))).CurrentState;
    } catch (err) {
      if (errorName(err) !== 'ConflictException') throw err;
      const now = await describe();
      if (now && STOPPED_OR_STOPPING.has(now)) {
        deps.log.warn('StopPipe conflicted: the pipe was stopped meanwhile', { pipeName: config.pipeName, alarm: change.alarmName, currentState: now });
        return { ...base, action: 'ALREADY_STOPPED', stateBefore, stateAfter: now };
      }
      throw new PipeStateError(`cannot stop pipe ${config.pipeName}: it is ${now ?? 'in an unknown state'} (StopPipe: ${(err as Error).message}); `
        + 'the invocation is retried, then fails into the dead-letter queue: stop the pipe by hand (aws pipes stop-pipe --name '
        + `${config.pipeName})`, config.pipeName, now);
    }
    deps.count(BREAKER_METRIC.pipeStopped);
    // Loud on purpose: a stopped stream source loses records after its retention.
    deps.log.error(`CIRCUIT BREAKER TRIPPED: pipe ${config.pipeName} stopped because alarm ${change.alarmName} is in ALARM. ${STOPPED_PIPE_WARNING} `
      + (config.autoRestart
        ? 'It starts again when the alarm returns to OK.'
        : `Fix the cause, then start it: aws pipes start-pipe --name ${config.pipeName}`), {
      pipeName: config.pipeName,
      alarm: change.alarmName,
      alarmArn: change.alarmArn,
      alarmReason: change.reason,
      stateBefore,
      stateAfter,
      autoRestart: config.autoRestart,
    });
    return { ...base, action: 'STOPPED', stateBefore, stateAfter };
  }

  // OK
  if (!config.autoRestart) {
    deps.log.warn(`trip alarm ${change.alarmName} is OK again; auto-restart is off: pipe ${config.pipeName} stays as it is until started by hand `
      + `(aws pipes start-pipe --name ${config.pipeName})`, { pipeName: config.pipeName, alarm: change.alarmName });
    return { ...base, action: 'MANUAL_RESTART_REQUIRED' };
  }
  const stateBefore = await describe();
  if (stateBefore && RUNNING_OR_STARTING.has(stateBefore)) {
    deps.log.info('trip alarm is OK; the pipe is already running', { pipeName: config.pipeName, alarm: change.alarmName, currentState: stateBefore });
    return { ...base, action: 'ALREADY_RUNNING', stateBefore, stateAfter: stateBefore };
  }
  let stateAfter: string | undefined;
  try {
    stateAfter = (await withRetry(retry, 'StartPipe', () => deps.pipes.send(new StartPipeCommand({ Name: config.pipeName })))).CurrentState;
  } catch (err) {
    if (errorName(err) !== 'ConflictException') throw err;
    const now = await describe();
    if (now && RUNNING_OR_STARTING.has(now)) {
      deps.log.info('StartPipe conflicted: the pipe was started meanwhile', { pipeName: config.pipeName, alarm: change.alarmName, currentState: now });
      return { ...base, action: 'ALREADY_RUNNING', stateBefore, stateAfter: now };
    }
    throw new PipeStateError(`cannot start pipe ${config.pipeName}: it is ${now ?? 'in an unknown state'} (StartPipe: ${(err as Error).message}); `
      + `the invocation is retried, then fails into the dead-letter queue: start the pipe by hand (aws pipes start-pipe --name ${config.pipeName})`,
    config.pipeName, now);
  }
  deps.count(BREAKER_METRIC.pipeStarted);
  deps.log.warn(`circuit breaker closed: pipe ${config.pipeName} started again because alarm ${change.alarmName} is OK`, {
    pipeName: config.pipeName, alarm: change.alarmName, stateBefore, stateAfter,
  });
  return { ...base, action: 'STARTED', stateBefore, stateAfter };
}
