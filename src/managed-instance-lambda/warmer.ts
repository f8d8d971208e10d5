import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { throwPropError } from '../core/errors';
import { handlerDeadLetterQueue } from '../core/handlers';

/**
 * The `source` of every warmer invocation's payload. A handler recognises a warm-up by it and returns
 * at once:
 *
 * ```json
 * { "source": "cdk-production-patterns.warmer", "warmer": true, "alias": "live", "scheduledAt": "2026-12-01T18:00:00Z" }
 * ```
 */
export const WARMER_EVENT_SOURCE = 'cdk-production-patterns.warmer';

/**
 * The opt-in warmer of a ManagedInstanceLambda: EventBridge Scheduler invokes the alias every
 * `interval` with a marker payload (`WARMER_EVENT_SOURCE`).
 *
 * On Lambda Managed Instances a warmer does little: execution environments are not started by
 * requests (there are no cold starts in the usual sense), the minimum number stays running, and the
 * pool scales on CPU and concurrency, not on arrivals. The lever for latency is
 * `minExecutionEnvironments`. A warmer helps only to keep a code path warm inside running
 * environments (a lazily opened connection, a JIT-compiled path, a cache that expires) when real
 * traffic is too sparse to do so.
 */
export interface WarmerOptions {
  /**
   * How often the alias is invoked: 1 to 60 minutes, in whole minutes.
   * @default Duration.minutes(5)
   */
  readonly interval?: Duration;
}

/** What the warmer created. @internal */
export interface Warmer {
  readonly schedule: scheduler.Schedule;
  readonly deadLetterQueue: sqs.IQueue;
}

/** Creates the warmer schedule of an alias. @internal */
export function createWarmer(scope: Construct, alias: lambda.Alias, options: WarmerOptions, key?: kms.IKey): Warmer {
  const interval = options.interval ?? Duration.minutes(5);
  const minutes = Token.isUnresolved(interval.toMinutes({ integral: false })) ? undefined : interval.toMinutes({ integral: false });
  if (minutes !== undefined && (!Number.isInteger(minutes) || minutes < 1 || minutes > 60)) {
    throwPropError(scope, 'warmer.interval', `must be whole minutes in 1..60, got ${interval.toHumanString()}`);
  }
  const deadLetterQueue = handlerDeadLetterQueue(scope, 'WarmerDeadLetterQueue', 'the warmer schedule', key, []);
  // Scheduler sends dead letters with the schedule's role: the target grants it the queue (and the key).
  const schedule = new scheduler.Schedule(scope, 'WarmerSchedule', {
    schedule: scheduler.ScheduleExpression.rate(interval),
    description: `Warm-up pings of ${Stack.of(scope).resolve(alias.aliasName)} (payload source ${WARMER_EVENT_SOURCE})`,
    key,
    target: new schedulerTargets.LambdaInvoke(alias, {
      input: scheduler.ScheduleTargetInput.fromObject({
        source: WARMER_EVENT_SOURCE,
        warmer: true,
        alias: alias.aliasName,
        scheduledAt: scheduler.ContextAttribute.scheduledTime,
      }),
      deadLetterQueue,
      // A ping that could not be delivered within a few minutes is worthless: the next one follows.
      maxEventAge: Duration.minutes(5),
      retryAttempts: 2,
    }),
  });
  return { schedule, deadLetterQueue };
}
