import { Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as pipes from 'aws-cdk-lib/aws-pipes';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { throwArgumentError } from '../core/errors';

/** Options every enrichment takes. */
export interface EnrichmentOptions {
  /**
   * An input template: what the enrichment receives instead of the event, e.g.
   * `{"orderId": <$.dynamodb.Keys.orderId.S>}` (Pipes input transformation syntax; at most 8192 characters).
   * @default - the event (the batch) as the source delivers it
   */
  readonly inputTemplate?: string;
}

/** Options of an API destination enrichment. */
export interface ApiDestinationEnrichmentOptions extends EnrichmentOptions {
  /**
   * Headers sent with each request (values may be JSON paths such as `$.detail.id`).
   * @default - none
   */
  readonly headerParameters?: { [name: string]: string };
  /**
   * Values of the wildcards (`*`) of the endpoint's path, in order.
   * @default - none
   */
  readonly pathParameterValues?: string[];
  /**
   * Query string parameters sent with each request.
   * @default - none
   */
  readonly queryStringParameters?: { [name: string]: string };
}

/** What a bound enrichment gives the pipe. @internal */
export interface PipeEnrichmentConfig {
  readonly arn: string;
  readonly parameters?: pipes.CfnPipe.PipeEnrichmentParametersProperty;
}

const MAX_TEMPLATE = 8192;

function checkTemplate(factory: string, template: string | undefined): void {
  if (template !== undefined && !Token.isUnresolved(template) && (template.length === 0 || template.length > MAX_TEMPLATE)) {
    throwArgumentError(factory, 'options.inputTemplate', `must be 1..${MAX_TEMPLATE} characters, got ${template.length}`);
  }
}

/**
 * What enriches each batch of filtered events before the fan-out, synchronously: its answer is
 * what the consumers receive. An enrichment that fails fails the batch (retried, then the source
 * dead-letter target).
 */
export abstract class PipeEnrichment {
  /**
   * A Lambda function, invoked synchronously with the batch (an array of events); it returns the
   * enriched array.
   * @param fn the function (the pipe may invoke exactly it, not its other versions)
   * @param options the input template
   */
  public static lambdaFunction(fn: lambda.IFunction, options: EnrichmentOptions = {}): PipeEnrichment {
    checkTemplate('PipeEnrichment.lambdaFunction', options.inputTemplate);
    return new Enrichment(fn.functionArn, 'lambda:InvokeFunction', options.inputTemplate);
  }

  /**
   * An Express state machine, started synchronously (`StartSyncExecution`) with the batch. A
   * Standard state machine cannot enrich (it cannot run synchronously): it is rejected when its type
   * is known.
   * @param stateMachine the Express state machine
   * @param options the input template
   */
  public static stateMachine(stateMachine: sfn.IStateMachine, options: EnrichmentOptions = {}): PipeEnrichment {
    const factory = 'PipeEnrichment.stateMachine';
    const type = (stateMachine as { stateMachineType?: unknown }).stateMachineType;
    if (type !== undefined && type !== sfn.StateMachineType.EXPRESS) {
      throwArgumentError(factory, 'stateMachine', `${stateMachine.node.path} is a ${String(type)} state machine; Pipes enrich only with EXPRESS state machines (invoked synchronously)`);
    }
    checkTemplate(factory, options.inputTemplate);
    return new Enrichment(stateMachine.stateMachineArn, 'states:StartSyncExecution', options.inputTemplate);
  }

  /**
   * An EventBridge API destination (an HTTPS endpoint with a connection holding its credentials).
   * @param destination the API destination
   * @param options the input template, headers, path values and query string
   */
  public static apiDestination(destination: events.IApiDestination, options: ApiDestinationEnrichmentOptions = {}): PipeEnrichment {
    checkTemplate('PipeEnrichment.apiDestination', options.inputTemplate);
    const http = options.headerParameters || options.pathParameterValues || options.queryStringParameters
      ? {
        headerParameters: options.headerParameters,
        pathParameterValues: options.pathParameterValues,
        queryStringParameters: options.queryStringParameters,
      }
      : undefined;
    return new Enrichment(destination.apiDestinationArn, 'events:InvokeApiDestination', options.inputTemplate, http);
  }

  protected constructor() {}

  /** @internal */
  public abstract _bind(policy: iam.Policy): PipeEnrichmentConfig;
}

class Enrichment extends PipeEnrichment {
  constructor(
    private readonly arn: string,
    private readonly action: string,
    private readonly inputTemplate?: string,
    private readonly http?: pipes.CfnPipe.PipeEnrichmentHttpParametersProperty,
  ) {
    super();
  }

  /** @internal */
  public _bind(policy: iam.Policy): PipeEnrichmentConfig {
    policy.addStatements(new iam.PolicyStatement({ actions: [this.action], resources: [this.arn] }));
    const parameters = this.inputTemplate || this.http ? { inputTemplate: this.inputTemplate, httpParameters: this.http } : undefined;
    return { arn: this.arn, parameters };
  }
}
