import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** What differs from the shared shape for one alarm. @internal */
export interface AlarmShape {
  /** @default 1 */
  readonly threshold?: number;
  /** @default 1 */
  readonly evaluationPeriods?: number;
  /** @default GREATER_THAN_OR_EQUAL_TO_THRESHOLD */
  readonly comparisonOperator?: cloudwatch.ComparisonOperator;
  /** @default NOT_BREACHING (no data: nothing happened) */
  readonly treatMissingData?: cloudwatch.TreatMissingData;
}

/** Creates one alarm in the factory's scope. @internal */
export type AlarmMaker = (id: string, metric: cloudwatch.IMetric, description: string, shape?: AlarmShape) => cloudwatch.Alarm;

/**
 * The alarms of a pattern share one shape: the metric at or above 1 for one period, missing data
 * not breaching, and every alarm notifying the pattern's alarm topic when there is one. Each pattern
 * keeps its own list; the ids are the alarms' logical ids in `scope`.
 * @internal
 */
export function alarmMaker(scope: Construct, alarmTopic?: sns.ITopic): AlarmMaker {
  return (id, metric, description, shape = {}) => {
    const alarm = new cloudwatch.Alarm(scope, id, {
      metric,
      threshold: shape.threshold ?? 1,
      evaluationPeriods: shape.evaluationPeriods ?? 1,
      comparisonOperator: shape.comparisonOperator ?? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: shape.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    if (alarmTopic) alarm.addAlarmAction(new cwActions.SnsAction(alarmTopic));
    return alarm;
  };
}
