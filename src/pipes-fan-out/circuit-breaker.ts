import { Duration, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  ALARM_EVENT_DETAIL_TYPE, ALARM_EVENT_SOURCE, BREAKER_DIMENSION, BREAKER_ENV, BREAKER_METRIC, BREAKER_METRICS_NAMESPACE, BREAKER_SERVICE_NAME,
} from './runtime/circuit-breaker-contract';
import { CircuitBreakerFunction } from './runtime/circuit-breaker-function';
import { alarmMaker } from '../core/alarms';
import { throwPropError, validateRange } from '../core/errors';
import { bundledFunction } from '../core/functions';
import { HandlerNetworkProps } from '../core/handler-network-props';
import { handlerNetwork } from '../core/network';

/**
 * The opt-in circuit breaker of a `PipesFanOut`: when a consumer's dead-letter queue receives messages
 * or a consumer's error rate crosses its threshold, the pipe is stopped (`StopPipe`) so that events wait
 * in the source instead of flooding the dead-letter queues.
 *
 * A stopped pipe does not read its source: records older than the source's retention are lost (24 hours
 * for DynamoDB Streams, the stream's retention for Kinesis, the message retention period for SQS). The
 * breaker therefore alarms loudly when it stops the pipe; restart it within that window.
 */
export interface CircuitBreakerOptions {
  /**
   * Start the pipe again when every alarm of the breaker is back to OK.
   *
   * Off by default: an alarm that returns to OK (a dead-letter queue drained, an error rate that fell
   * because nothing flowed) does not prove the consumer is fixed, so a person restarts the pipe
   * (`aws pipes start-pipe --name <pipe>`), within the source's retention.
   * @default false
   */
  readonly autoRestart?: boolean;
  /**
   * Messages visible in any consumer's dead-letter queue (the maximum over one minute) that trip the breaker.
   * @default 1
   */
  readonly deadLetterThreshold?: number;
  /**
   * Error rate of a consumer's Lambda handler, in percent of its invocations over five minutes, that trips
   * the breaker (consumers with a handler only).
   * @default 10
   */
  readonly errorRatePercent?: number;
  /**
   * More alarms that trip the breaker (the pipe's own execution failures, a downstream dependency...).
   * @default - none
   */
  readonly alarms?: cloudwatch.IAlarm[];
}

/** Props of a PipeCircuitBreaker. */
export interface PipeCircuitBreakerProps extends HandlerNetworkProps {
  /** The name of the pipe the breaker stops and starts. */
  readonly pipeName: string;
  /** The ARN of that pipe: the handler's role may stop, start and describe this pipe only. */
  readonly pipeArn: string;
  /** The alarms that trip the breaker (1 to 100): any of them in ALARM stops the pipe. */
  readonly alarms: cloudwatch.IAlarm[];
  /**
   * Start the pipe again when every alarm is back to OK.
   * @default false - restart the pipe by hand
   */
  readonly autoRestart?: boolean;
  /**
   * Encrypts the handler's log group and dead-letter queue.
   * @default - the log group with CloudWatch Logs' key, the dead-letter queue with SSE-SQS
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Where the breaker's alarms (tripped, pipe stopped, handler errors, dead letters) notify.
   * @default - no notification: the alarms are only visible in CloudWatch
   */
  readonly alarmTopic?: sns.ITopic;
}

/**
 * Stops a pipe when any of the given alarms goes into ALARM, and (only with `autoRestart`) starts it
 * again when all of them are OK.
 *
 * The alarms are combined into one composite "trip" alarm (ALARM when any is in ALARM, OK only when
 * none is), so a pipe is never restarted while another alarm still holds. An EventBridge rule sends the
 * trip alarm's "CloudWatch Alarm State Change" events to a small handler whose role may only call
 * `pipes:DescribePipe`, `pipes:StopPipe` and `pipes:StartPipe` on this pipe. The handler logs an
 * ERROR line and counts `PipeStopped` when it stops the pipe; `pipeStoppedAlarm` fires on it.
 */
export class PipeCircuitBreaker extends Construct {
  /** The composite alarm that trips the breaker (ALARM while any of the alarms is in ALARM). */
  public readonly tripAlarm: cloudwatch.CompositeAlarm;
  /** The handler that stops and starts the pipe. */
  public readonly handler: lambda.IFunction;
  /** The rule that sends the trip alarm's state changes to the handler. */
  public readonly rule: events.Rule;
  /** Events the handler could not process after its retries. */
  public readonly deadLetterQueue: sqs.IQueue;
  /** Fires when the breaker stopped the pipe: records wait in the source and expire after its retention. */
  public readonly pipeStoppedAlarm: cloudwatch.Alarm;
  /** Fires when the handler failed (the pipe may not have been stopped or started). */
  public readonly handlerErrorsAlarm: cloudwatch.Alarm;
  /** Fires when alarm events landed in the dead-letter queue. */
  public readonly deadLettersAlarm: cloudwatch.Alarm;
  /** Every alarm of the breaker: trip, pipe stopped, handler errors, dead letters. */
  public readonly breakerAlarms: cloudwatch.IAlarm[];
  private readonly pipeName: string;

  constructor(scope: Construct, id: string, props: PipeCircuitBreakerProps) {
    super(scope, id);
    if (!Token.isUnresolved(props.pipeName) && !/^[.\-_A-Za-z0-9]{1,64}$/.test(props.pipeName)) {
      throwPropError(this, 'pipeName', `must be a pipe name (1..64 of [.-_A-Za-z0-9]), got ${JSON.stringify(props.pipeName)}`);
    }
    if (!props.alarms || props.alarms.length === 0) {
      throwPropError(this, 'alarms', 'must name at least one alarm that trips the breaker (a consumer DLQ depth or error rate alarm)');
    }
    validateRange(this, 'alarms.length', props.alarms.length, 1, 100, { integer: true });
    const network = handlerNetwork(this, props);
    this.pipeName = props.pipeName;
    const autoRestart = props.autoRestart ?? false;

    this.tripAlarm = new cloudwatch.CompositeAlarm(this, 'TripAlarm', {
      alarmRule: cloudwatch.AlarmRule.anyOf(...props.alarms.map((a) => cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM))),
      alarmDescription: `Circuit breaker of pipe ${props.pipeName}: in ALARM while any of its alarms is; the breaker then stops the pipe `
        + `(${autoRestart ? 'and starts it again when this alarm is OK' : 'restart it by hand'}).`,
    });
    if (props.alarmTopic) this.tripAlarm.addAlarmAction(new cwActions.SnsAction(props.alarmTopic));

    const breaker = bundledFunction(this, 'Handler', CircuitBreakerFunction, {
      description: 'cdk-production-patterns: stops the pipe when its circuit-breaker alarm fires',
      memorySize: 256,
      timeout: Duration.minutes(1),
      // One at a time: ALARM and OK events of the same alarm are applied in turn.
      reservedConcurrentExecutions: 1,
      environment: {
        [BREAKER_ENV.pipeName]: props.pipeName,
        [BREAKER_ENV.autoRestart]: String(autoRestart),
        [BREAKER_ENV.tripAlarmArn]: this.tripAlarm.alarmArn,
      },
    }, {
      logGroupId: 'HandlerLogs',
      encryptionKey: props.encryptionKey,
      network,
      asyncFailures: { queueId: 'DeadLetters', owner: 'the circuit breaker handler and its rule' },
    });
    const fn = breaker.fn;
    this.handler = fn;
    this.deadLetterQueue = breaker.deadLetterQueue!;
    fn.addToRolePolicy(new iam.PolicyStatement({
      actions: ['pipes:DescribePipe', 'pipes:StopPipe', 'pipes:StartPipe'],
      resources: [props.pipeArn],
    }));
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Only the X-Ray actions (PutTraceSegments, PutTelemetryRecords) are on *: they support no resource-level permissions. '
        + 'The Pipes actions are scoped to the one pipe.',
    });

    this.rule = new events.Rule(this, 'AlarmStateRule', {
      description: `Sends the state changes of the circuit-breaker alarm of pipe ${props.pipeName} to its handler`,
      eventPattern: {
        source: [ALARM_EVENT_SOURCE],
        detailType: [ALARM_EVENT_DETAIL_TYPE],
        resources: [this.tripAlarm.alarmArn],
      },
      targets: [new targets.LambdaFunction(fn, { deadLetterQueue: this.deadLetterQueue, retryAttempts: 2, maxEventAge: Duration.hours(1) })],
    });

    const alarm = alarmMaker(this, props.alarmTopic);
    this.pipeStoppedAlarm = alarm('PipeStoppedAlarm', this.metricPipeStopped(),
      `The circuit breaker STOPPED pipe ${props.pipeName}. Records wait in its source and are LOST after the source's retention `
      + '(24 hours for DynamoDB Streams). Fix the failing consumer, then '
      + (autoRestart ? 'the pipe starts again when the alarms are OK.' : `start the pipe: aws pipes start-pipe --name ${props.pipeName}`));
    this.handlerErrorsAlarm = alarm('HandlerErrorsAlarm', fn.metricErrors({ period: Duration.minutes(1), statistic: 'Sum' }),
      `The circuit breaker handler of pipe ${props.pipeName} failed: the pipe may not have been stopped (or started); check its state now.`);
    this.deadLettersAlarm = alarm('DeadLettersAlarm',
      this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      `Alarm events of the circuit breaker of pipe ${props.pipeName} could not be processed after retries.`);
    this.breakerAlarms = [this.tripAlarm, this.pipeStoppedAlarm, this.handlerErrorsAlarm, this.deadLettersAlarm];
  }

  /** Times the breaker stopped the pipe (Sum over one minute by default). */
  public metricPipeStopped(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.breakerMetric(BREAKER_METRIC.pipeStopped, props);
  }

  /** Times the breaker started the pipe again (auto-restart; Sum over one minute by default). */
  public metricPipeStarted(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.breakerMetric(BREAKER_METRIC.pipeStarted, props);
  }

  /** Handler failures (Sum over one minute by default). */
  public metricFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.breakerMetric(BREAKER_METRIC.breakerFailure, props);
  }

  private breakerMetric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: BREAKER_METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: BREAKER_SERVICE_NAME, [BREAKER_DIMENSION]: this.pipeName },
      statistic: 'Sum',
      period: Duration.minutes(1),
      ...props,
    });
  }
}
