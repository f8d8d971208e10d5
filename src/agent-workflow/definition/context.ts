import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

/**
 * What every stage of the definition needs. The states are created in `scope` (the workflow
 * itself), so their names and the template do not depend on how the definition is split.
 * @internal
 */
export interface DefinitionContext {
  readonly scope: Construct;
  readonly workflowName: string;
  readonly eventBus: events.IEventBus;
  readonly eventSource: string;
  readonly auditTable: dynamodb.ITable;
  readonly contextTable: dynamodb.ITable;
}

/** Sends any error of a task to the recorded failure ending (see `endings.ts`). @internal */
export type CatchAll = (t: sfn.TaskStateBase | sfn.Parallel) => void;

/** A stage: the state it starts with and the state the next stage follows. @internal */
export interface Stage {
  readonly start: sfn.IChainable;
  readonly end: sfn.INextable;
}
