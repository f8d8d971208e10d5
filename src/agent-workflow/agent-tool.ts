import { Token } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { FieldProjection } from './runtime/tool-results';
import { throwArgumentError } from '../core/errors';

/**
 * How one DynamoDB attribute becomes a field of the tool result.
 *
 * The factories name the attribute's DynamoDB type (`N`, `S`, `BOOL`): `numberAttribute`,
 * `stringAttribute`, `booleanAttribute` (not `number`/`string`/`boolean`, which are reserved words in
 * C#, Go and Java).
 */
export class DynamoProjection {
  /**
   * A number attribute (N), as a JSON number (null when the item or attribute is absent).
   * @param attribute the attribute name in the item
   */
  public static numberAttribute(attribute: string): DynamoProjection {
    return new DynamoProjection('numberAttribute', attribute, 'N');
  }
  /**
   * A string attribute (S), as a JSON string (null when the item or attribute is absent).
   * @param attribute the attribute name in the item
   */
  public static stringAttribute(attribute: string): DynamoProjection {
    return new DynamoProjection('stringAttribute', attribute, 'S');
  }
  /**
   * A boolean attribute (BOOL), as a JSON boolean (null when the item or attribute is absent).
   * @param attribute the attribute name in the item
   */
  public static booleanAttribute(attribute: string): DynamoProjection {
    return new DynamoProjection('booleanAttribute', attribute, 'BOOL');
  }
  /** The attribute name. */
  public readonly attribute: string;
  /** @internal */ public readonly _type: 'N' | 'S' | 'BOOL';
  private constructor(factory: string, attribute: string, type: 'N' | 'S' | 'BOOL') {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,254}$/.test(attribute)) {
      throwArgumentError(`DynamoProjection.${factory}`, 'attribute', `must be letters, digits and _ (not starting with a digit), got '${attribute}'`);
    }
    this.attribute = attribute;
    this._type = type;
  }
}

/** Options of a DynamoDB GetItem tool. */
export interface DynamoDbGetItemToolOptions {
  /**
   * The key of the item to read.
   *
   * Values usually come from the state, e.g.
   * `DynamoAttributeValue.fromString(JsonPath.stringAt(AgentField.metadata('policy_id').jsonPath))`.
   */
  readonly key: { [name: string]: tasks.DynamoAttributeValue };
  /** The attributes kept in the result (field name → attribute). Only these reach the state. */
  readonly attributes: { [field: string]: DynamoProjection };
  /**
   * Strongly consistent read.
   * @default false
   */
  readonly consistentRead?: boolean;
}

/** Options of a DynamoDB Query tool (AWS SDK integration). */
export interface DynamoDbQueryToolOptions {
  /** `KeyConditionExpression`, e.g. `customerId = :c`. */
  readonly keyConditionExpression: string;
  /**
   * `ExpressionAttributeValues` in DynamoDB JSON.
   *
   * Values may be JSONPath (`{ ':c': { 'S.$': '$.validation.metadata.customer_id' } }`).
   */
  readonly expressionAttributeValues: { [name: string]: any };
  /**
   * Items read at most (they join the state: keep it small).
   * @default 5
   */
  readonly limit?: number;
  /**
   * Index to query.
   * @default - the table
   */
  readonly indexName?: string;
}

/** Options of a Lambda tool. */
export interface LambdaToolOptions {
  /**
   * The payload.
   * @default - `{ validation, reasoning }` from the state (keys and scalar fields only)
   */
  readonly payload?: sfn.TaskInput;
}

/** Options of an HTTP tool (Step Functions HTTP task). */
export interface HttpToolOptions {
  /** The EventBridge connection that authorizes the call. */
  readonly connection: events.IConnection;
  /** API root, e.g. `https://api.example.com`. */
  readonly apiRoot: string;
  /** Path, e.g. `/fraud-score`. */
  readonly path: string;
  /**
   * HTTP method.
   * @default 'POST'
   */
  readonly method?: string;
  /**
   * The request body.
   * @default - `{ validation, reasoning }` from the state (keys and scalar fields only)
   */
  readonly body?: sfn.TaskInput;
  /**
   * JSONPath, into the HTTP task's result (`StatusCode`, `ResponseHeaders`, `ResponseBody`), of the part kept in the state.
   * @default '$.ResponseBody'
   */
  readonly selectPath?: string;
}

/** Checks a tool name (the factory named in the error). */
function checkToolName(factory: string, name: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) {
    throwArgumentError(factory, 'name', `must be letters, digits and _ (at most 64, not starting with a digit), got '${name}'`);
  }
}

/** @internal What a tool builds: its task (for retries) and the branch to run. */
export interface BoundTool {
  readonly state: sfn.TaskStateBase;
  readonly branch: sfn.IChainable;
  /** Statements the state machine role needs beyond what the task grants (e.g. the table's key). */
  readonly policyStatements?: iam.PolicyStatement[];
  /**
   * How the digest step projects the branch's raw result into `$.tools.<name>` (runtime/tool-results.ts);
   * absent when the branch's result is already the projection.
   */
  readonly projection?: FieldProjection[];
}

/**
 * A tool or enrichment step whose (small, projected) result joins the context under `$.tools.<name>`.
 *
 * Made only by the static factories (`dynamoDbGetItem`, `dynamoDbQuery`, `lambdaFunction`, `http`):
 * the class is sealed (its binding is internal), so it cannot be instantiated directly or subclassed
 * in any language, and the workflow rejects an object made another way with an error naming the
 * factories.
 */
export abstract class AgentTool {
  /**
   * DynamoDB GetItem (native integration), of which only the projected attributes reach the state.
   * @param name the tool name (`$.tools.<name>` in the state)
   * @param table the table to read
   * @param options the key and the projected attributes
   */
  public static dynamoDbGetItem(name: string, table: dynamodb.ITable, options: DynamoDbGetItemToolOptions): AgentTool {
    return new GetItemTool(name, table, options);
  }

  /**
   * DynamoDB Query (AWS SDK integration), of which `Items` (at most `limit`) and `Count` reach the state.
   * @param name the tool name (`$.tools.<name>` in the state)
   * @param table the table to query
   * @param options the key condition and its values
   */
  public static dynamoDbQuery(name: string, table: dynamodb.ITable, options: DynamoDbQueryToolOptions): AgentTool {
    return new QueryTool(name, table, options);
  }

  /**
   * A Lambda function, whose (small) returned payload reaches the state.
   * @param name the tool name (`$.tools.<name>` in the state)
   * @param fn the function to invoke
   * @param options the payload
   */
  public static lambdaFunction(name: string, fn: lambda.IFunction, options: LambdaToolOptions = {}): AgentTool {
    return new LambdaTool(name, fn, options);
  }

  /**
   * An HTTPS API, called through the Step Functions HTTP task (an EventBridge connection authorizes it).
   * @param name the tool name (`$.tools.<name>` in the state)
   * @param options the connection, the endpoint and the request
   */
  public static http(name: string, options: HttpToolOptions): AgentTool {
    return new HttpTool(name, options);
  }

  /** The tool name (`$.tools.<name>` in the state). */
  public readonly name: string;

  /**
   * Only the static factories make tools (the class is sealed).
   * @param name the tool name (`$.tools.<name>` in the state)
   */
  protected constructor(name: string) {
    this.name = name;
  }

  /** @internal */
  public abstract _bind(scope: Construct, id: string): BoundTool;
}

const DEFAULT_TOOL_PAYLOAD = { 'validation.$': '$.validation', 'reasoning.$': '$.reasoning' };

class GetItemTool extends AgentTool {
  constructor(name: string, private readonly table: dynamodb.ITable, private readonly options: DynamoDbGetItemToolOptions) {
    checkToolName('AgentTool.dynamoDbGetItem', name);
    super(name);
    if (Object.keys(options.attributes).length === 0) throwArgumentError('AgentTool.dynamoDbGetItem', 'options.attributes', 'must name at least one attribute');
    const types = new Map<string, string>();
    for (const p of Object.values(options.attributes)) {
      if (types.has(p.attribute) && types.get(p.attribute) !== p._type) {
        throwArgumentError('AgentTool.dynamoDbGetItem', 'options.attributes', `attribute '${p.attribute}' is projected as both ${types.get(p.attribute)} and ${p._type}`);
      }
      types.set(p.attribute, p._type);
    }
  }
  public _bind(scope: Construct, id: string): BoundTool {
    // The branch is the GetItem task alone: its raw answer ({ Item } or {} when there is no such
    // item, plus the integration's metadata) reaches the digest step, which projects it (typed and
    // null-safe: runtime/tool-results.ts) where the data already is. The projection expression
    // keeps the raw answer to the projected attributes (names through placeholders: many, such as
    // `status`, are reserved words).
    const attrs = Object.entries(this.options.attributes);
    const attributes = [...new Set(attrs.map(([, p]) => p.attribute))];
    const state = tasks.DynamoGetItem.jsonPath(scope, id, {
      table: this.table,
      key: this.options.key,
      consistentRead: this.options.consistentRead ?? false,
      projectionExpression: attributes.map((_, i) => new tasks.DynamoProjectionExpression().withAttribute(`#p${i}`)),
      expressionAttributeNames: Object.fromEntries(attributes.map((a, i) => [`#p${i}`, a])),
    });
    const policyStatements = this.table.encryptionKey
      ? [new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [this.table.encryptionKey.keyArn] })]
      : [];
    const projection = attrs.map(([field, p]) => ({ field, attribute: p.attribute, type: p._type }));
    return { state, branch: state, policyStatements, projection };
  }
}

class QueryTool extends AgentTool {
  constructor(name: string, private readonly table: dynamodb.ITable, private readonly options: DynamoDbQueryToolOptions) {
    checkToolName('AgentTool.dynamoDbQuery', name);
    super(name);
    const limit = options.limit ?? 5;
    if (!Token.isUnresolved(limit) && (!Number.isInteger(limit) || limit < 1 || limit > 50)) {
      throwArgumentError('AgentTool.dynamoDbQuery', 'options.limit', `must be an integer in 1..50, got ${limit}`);
    }
  }
  public _bind(scope: Construct, id: string): BoundTool {
    const state = tasks.CallAwsService.jsonPath(scope, id, {
      service: 'dynamodb',
      action: 'query',
      parameters: {
        TableName: this.table.tableName,
        KeyConditionExpression: this.options.keyConditionExpression,
        ExpressionAttributeValues: this.options.expressionAttributeValues,
        Limit: this.options.limit ?? 5,
        ...(this.options.indexName ? { IndexName: this.options.indexName } : {}),
      },
      iamResources: [this.table.tableArn, ...(this.options.indexName ? [`${this.table.tableArn}/index/${this.options.indexName}`] : [])],
      resultSelector: { 'items.$': '$.Items', 'count.$': '$.Count' },
      additionalIamStatements: this.table.encryptionKey
        ? [new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [this.table.encryptionKey.keyArn] })]
        : undefined,
    });
    return { state, branch: state };
  }
}

class LambdaTool extends AgentTool {
  constructor(name: string, private readonly fn: lambda.IFunction, private readonly options: LambdaToolOptions) {
    checkToolName('AgentTool.lambdaFunction', name);
    super(name);
  }
  public _bind(scope: Construct, id: string): BoundTool {
    const state = tasks.LambdaInvoke.jsonPath(scope, id, {
      lambdaFunction: this.fn,
      payload: this.options.payload ?? sfn.TaskInput.fromObject(DEFAULT_TOOL_PAYLOAD),
      payloadResponseOnly: true,
    });
    return { state, branch: state };
  }
}

class HttpTool extends AgentTool {
  constructor(name: string, private readonly options: HttpToolOptions) {
    checkToolName('AgentTool.http', name);
    super(name);
    if (!options.apiRoot.startsWith('https://')) throwArgumentError('AgentTool.http', 'options.apiRoot', `must be an https:// URL, got '${options.apiRoot}'`);
  }
  public _bind(scope: Construct, id: string): BoundTool {
    const state = tasks.HttpInvoke.jsonPath(scope, id, {
      apiRoot: this.options.apiRoot,
      apiEndpoint: sfn.TaskInput.fromText(this.options.path),
      method: sfn.TaskInput.fromText(this.options.method ?? 'POST'),
      connection: this.options.connection,
      body: this.options.body ?? sfn.TaskInput.fromObject(DEFAULT_TOOL_PAYLOAD),
      resultSelector: { 'value.$': this.options.selectPath ?? '$.ResponseBody' },
    });
    return { state, branch: state };
  }
}
