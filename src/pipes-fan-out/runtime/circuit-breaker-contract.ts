/**
 * The one contract between the PipeCircuitBreaker construct and its handler: environment variable
 * names, metric names and namespace, and the event it is invoked with. Both sides import it. No AWS
 * client and no aws-cdk-lib here.
 */

/** Environment variables the construct sets and the handler reads (at cold start). */
export const BREAKER_ENV = {
  /** The name of the pipe to stop and start. */
  pipeName: 'PIPE_NAME',
  /** `true`: start the pipe again when the trip alarm returns to OK; `false`: only manually. */
  autoRestart: 'AUTO_RESTART',
  /** The ARN of the alarm whose state changes the handler acts on (the breaker's trip alarm). */
  tripAlarmArn: 'TRIP_ALARM_ARN',
} as const;

/** Custom metrics (EMF), namespace BREAKER_METRICS_NAMESPACE, dimension `PipeName`. */
export const BREAKER_METRIC = {
  /** 1 each time the handler stopped the pipe. The construct alarms on it (loud: records wait in the source). */
  pipeStopped: 'PipeStopped',
  /** 1 each time the handler started the pipe again (auto-restart). */
  pipeStarted: 'PipeStarted',
  /** 1 each time the handler failed (its error is logged and thrown). */
  breakerFailure: 'CircuitBreakerFailure',
} as const;

export const BREAKER_METRICS_NAMESPACE = 'CdkProductionPatterns/PipesFanOut';
export const BREAKER_SERVICE_NAME = 'pipes-circuit-breaker';
/** The metric dimension naming the pipe. */
export const BREAKER_DIMENSION = 'PipeName';

/** The EventBridge event the handler is invoked with (source aws.cloudwatch). */
export const ALARM_EVENT_SOURCE = 'aws.cloudwatch';
export const ALARM_EVENT_DETAIL_TYPE = 'CloudWatch Alarm State Change';

/** What the handler did with one event. */
export type BreakerAction =
  | 'STOPPED' // StopPipe called and accepted
  | 'ALREADY_STOPPED' // the pipe was STOPPED or STOPPING: nothing to do
  | 'STARTED' // StartPipe called and accepted (auto-restart)
  | 'ALREADY_RUNNING' // the pipe was RUNNING or STARTING: nothing to do
  | 'MANUAL_RESTART_REQUIRED' // the alarm is OK, auto-restart is off: the pipe stays as it is
  | 'IGNORED'; // INSUFFICIENT_DATA: nothing to do
