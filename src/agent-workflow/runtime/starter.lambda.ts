/**
 * Starter: SQS batch of EventBridge S3 "Object Created" events -> one StartExecution per object.
 * env: STATE_MACHINE_ARN (checked at cold start).
 *
 * - The execution name is derived from bucket, key and version id / sequencer: a duplicate delivery
 *   maps to the same name, and ExecutionAlreadyExists is a handled duplicate (success).
 * - A malformed message and a failed StartExecution (throttling, any other error) are reported as
 *   batch item failures (ReportBatchItemFailures): SQS redelivers them, then moves them to the DLQ.
 * - Other EventBridge events (not S3 "Object Created") are logged and dropped.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { WorkflowRequest } from './contracts';
import { discriminatorFor, executionNameFor, MalformedEventError, parseObjectCreatedEvent, UnsupportedEventError } from './execution-name';

/** The logging the handler needs: Powertools' Logger (a test passes a recorder). */
export type StarterLog = Pick<Logger, 'info' | 'error'>;

export interface StarterDeps {
  readonly sfn: SFNClient;
  readonly stateMachineArn: string;
  readonly log?: StarterLog;
}

/** What happened to one SQS record. */
export type RecordOutcome = 'started' | 'duplicate' | 'ignored' | 'malformed' | 'failed';

/** A state machine ARN, optionally qualified by a version or an alias. */
const STATE_MACHINE_ARN_PATTERN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[^:\s]{1,80}(:[^:\s]+)?$/;

/** Reads and checks the environment; the error names the variable. */
export function readStateMachineArn(env: NodeJS.ProcessEnv): string {
  const value = env.STATE_MACHINE_ARN;
  if (value === undefined || value === '') throw new Error('Environment variable STATE_MACHINE_ARN is not set');
  if (!STATE_MACHINE_ARN_PATTERN.test(value)) throw new Error(`Environment variable STATE_MACHINE_ARN is not a state machine ARN: "${value}"`);
  return value;
}

const logger = new Logger({ serviceName: 'agent-workflow-starter' });
// Cold start: a missing or wrong variable fails the init with the variable's name.
const stateMachineArn = readStateMachineArn(process.env);
const sfn = new SFNClient({});

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err === 'object' && err !== null && 'name' in err ? String((err as { name: unknown }).name) : 'Error';
}

async function startOne(record: SQSRecord, deps: StarterDeps, log: StarterLog): Promise<RecordOutcome> {
  const messageId = record.messageId;
  let object;
  try {
    object = parseObjectCreatedEvent(record.body);
  } catch (err) {
    if (err instanceof UnsupportedEventError) {
      log.info('Event ignored', { messageId, source: err.source, detailType: err.detailType });
      return 'ignored';
    }
    if (err instanceof MalformedEventError) {
      // The body is not logged (it may be large); the message stays in SQS and reaches the DLQ.
      log.error('Malformed message', { messageId, error: err.message, bodyLength: record.body.length });
      return 'malformed';
    }
    throw err;
  }

  const name = executionNameFor(object.bucket, object.key, discriminatorFor(object));
  const input: WorkflowRequest = { bucket: object.bucket, key: object.key, versionId: object.versionId, actorId: null, sessionId: null };
  try {
    const res = await deps.sfn.send(new StartExecutionCommand({ stateMachineArn: deps.stateMachineArn, name, input: JSON.stringify(input) }));
    log.info('Execution started', { messageId, executionArn: res.executionArn, name, bucket: object.bucket, key: object.key });
    return 'started';
  } catch (err) {
    const errName = errorName(err);
    if (errName === 'ExecutionAlreadyExists') {
      log.info('Duplicate event: execution already exists', { messageId, name, bucket: object.bucket, key: object.key });
      return 'duplicate';
    }
    // not `message`: the logger's own key (Powertools drops an extra key of that name)
    log.error('StartExecution failed; the message will be retried', {
      messageId, name, error: errName, errorMessage: err instanceof Error ? err.message : String(err),
    });
    return 'failed';
  }
}

export async function handle(event: SQSEvent, deps: StarterDeps): Promise<SQSBatchResponse> {
  const log = deps.log ?? logger;
  const records = event.Records ?? [];
  const outcomes = await Promise.all(records.map((record) => startOne(record, deps, log)));
  const batchItemFailures: SQSBatchItemFailure[] = records
    .filter((_, i) => outcomes[i] === 'malformed' || outcomes[i] === 'failed')
    .map((record) => ({ itemIdentifier: record.messageId }));
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
  log.info('Batch processed', { records: records.length, ...counts });
  return { batchItemFailures };
}

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  return handle(event, { sfn, stateMachineArn, log: logger });
}
