import { Duration } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';

const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * A value in the workflow's state that a decision condition reads: a field of the model's
 * structured answer, a field of a tool result, or S3 object metadata.
 */
export class AgentField {
  /**
   * A top-level scalar property of the model's structured answer (e.g. `estimated_cost`).
   * Checked at synth time against `outputSchema`.
   */
  public static output(name: string): AgentField {
    return new AgentField('output', `$.reasoning.fields.${checkName(name)}`, `output.${name}`, name);
  }

  /** A field of a tool's projected result (e.g. `AgentField.tool('policy', 'autoApproveLimit')`). */
  public static tool(toolName: string, field: string): AgentField {
    return new AgentField('tool', `$.tools.${checkName(toolName)}.${checkName(field)}`, `${toolName}.${field}`, field, toolName);
  }

  /** S3 user metadata of the trigger object (name normalized: lower case, `-` becomes `_`). */
  public static metadata(name: string): AgentField {
    const normalized = name.toLowerCase().replace(/[^a-z0-9_]/g, '_');
    return new AgentField('metadata', `$.validation.metadata.${checkName(normalized)}`, `metadata.${normalized}`, normalized);
  }

  /** Any JSONPath into the workflow state (advanced; the state shape is documented in the README). */
  public static path(jsonPath: string): AgentField {
    if (!jsonPath.startsWith('$.')) throw new Error(`AgentField.path: a JSONPath starting with '$.' is required, got '${jsonPath}'`);
    return new AgentField('path', jsonPath, jsonPath, jsonPath);
  }

  private constructor(
    /** @internal */ public readonly _kind: string,
    /** The JSONPath of the value in the workflow state. */
    public readonly jsonPath: string,
    /** A readable name used in decision reasons. */
    public readonly label: string,
    /** @internal */ public readonly _name: string,
    /** @internal */ public readonly _tool?: string,
  ) {}
}

function checkName(name: string): string {
  if (!FIELD_NAME.test(name)) {
    throw new Error(`AgentField: '${name}' is not a plain field name (letters, digits, _; at most 64 chars; not starting with a digit)`);
  }
  return name;
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(12)));
}

/** @internal The type a condition needs a field to have. */
export type FieldType = 'number' | 'string' | 'boolean';

/** @internal One field a condition reads, and the type it compares it as. */
export interface FieldCheck {
  readonly field: AgentField;
  readonly type: FieldType;
}

/**
 * A condition over the workflow state, compiled into Step Functions Choice rules.
 *
 * Missing data never decides by default: before any condition is compared, every field the
 * conditions read is checked for presence and type (one Choice rule each, evaluated in order), and a
 * missing or mistyped field sends the execution to a person (or, without human approval, rejects
 * it) with the reason recorded. The comparisons themselves then only meet present, well-typed values.
 */
export class DecisionCondition {
  /** field > value */
  public static greaterThan(field: AgentField, value: number): DecisionCondition {
    return DecisionCondition.numeric(field, `${field.label} > ${fmt(value)}`, sfn.Condition.numberGreaterThan(field.jsonPath, value));
  }
  /** field >= value */
  public static greaterThanOrEqual(field: AgentField, value: number): DecisionCondition {
    return DecisionCondition.numeric(field, `${field.label} >= ${fmt(value)}`, sfn.Condition.numberGreaterThanEquals(field.jsonPath, value));
  }
  /** field < value */
  public static lessThan(field: AgentField, value: number): DecisionCondition {
    return DecisionCondition.numeric(field, `${field.label} < ${fmt(value)}`, sfn.Condition.numberLessThan(field.jsonPath, value));
  }
  /** field <= value */
  public static lessThanOrEqual(field: AgentField, value: number): DecisionCondition {
    return DecisionCondition.numeric(field, `${field.label} <= ${fmt(value)}`, sfn.Condition.numberLessThanEquals(field.jsonPath, value));
  }
  /** field > other field (e.g. the estimated cost above the policy's auto-approve limit) */
  public static greaterThanField(field: AgentField, other: AgentField): DecisionCondition {
    return new DecisionCondition(`${field.label} > ${other.label}`, [{ field, type: 'number' }, { field: other, type: 'number' }],
      sfn.Condition.numberGreaterThanJsonPath(field.jsonPath, other.jsonPath));
  }
  /** field < other field */
  public static lessThanField(field: AgentField, other: AgentField): DecisionCondition {
    return new DecisionCondition(`${field.label} < ${other.label}`, [{ field, type: 'number' }, { field: other, type: 'number' }],
      sfn.Condition.numberLessThanJsonPath(field.jsonPath, other.jsonPath));
  }
  /** field equals a string */
  public static stringEquals(field: AgentField, value: string): DecisionCondition {
    return new DecisionCondition(`${field.label} = '${value}'`, [{ field, type: 'string' }], sfn.Condition.stringEquals(field.jsonPath, value));
  }
  /** field equals a boolean */
  public static booleanEquals(field: AgentField, value: boolean): DecisionCondition {
    return new DecisionCondition(`${field.label} = ${value}`, [{ field, type: 'boolean' }], sfn.Condition.booleanEquals(field.jsonPath, value));
  }
  /** All of the conditions. */
  public static all(conditions: DecisionCondition[]): DecisionCondition {
    if (conditions.length === 0) throw new Error('DecisionCondition.all needs at least one condition');
    return new DecisionCondition(conditions.map((c) => c.description).join(' and '), conditions.flatMap((c) => c._checks),
      sfn.Condition.and(...conditions.map((c) => c._comparison)));
  }
  /** Any of the conditions. */
  public static any(conditions: DecisionCondition[]): DecisionCondition {
    if (conditions.length === 0) throw new Error('DecisionCondition.any needs at least one condition');
    return new DecisionCondition(conditions.map((c) => c.description).join(' or '), conditions.flatMap((c) => c._checks),
      sfn.Condition.or(...conditions.map((c) => c._comparison)));
  }

  private static numeric(field: AgentField, description: string, compare: sfn.Condition): DecisionCondition {
    return new DecisionCondition(description, [{ field, type: 'number' }], compare);
  }

  private constructor(
    /** The condition in words; recorded as the decision reason. */
    public readonly description: string,
    /** @internal the fields read, with the type each is compared as */
    public readonly _checks: FieldCheck[],
    /** @internal the comparison (its fields are known present and well typed when it is evaluated) */
    public readonly _comparison: sfn.Condition,
  ) {}

  /** @internal The fields this condition reads. */
  public get _fields(): AgentField[] {
    return this._checks.map((c) => c.field);
  }
}

/** @internal Choice conditions that hold when a field is absent, or present with another type. */
export function fieldProblems(check: FieldCheck): { missing: sfn.Condition; mistyped: sfn.Condition } {
  const path = check.field.jsonPath;
  const typed = check.type === 'number' ? sfn.Condition.isNumeric(path)
    : check.type === 'string' ? sfn.Condition.isString(path) : sfn.Condition.isBoolean(path);
  // Not(IsPresent) rather than IsPresent:false: the same on Step Functions, and the local interpreter
  // (aws-local-stepfunctions 3.0) never matches IsPresent:false
  return { missing: sfn.Condition.not(sfn.Condition.isPresent(path)), mistyped: sfn.Condition.not(typed) };
}

/** What happens when nobody decides in time. */
export class ApprovalTimeout {
  /** Reject (outcome REJECTED_TIMEOUT). */
  public static reject(): ApprovalTimeout {
    return new ApprovalTimeout();
  }

  /**
   * Notify a second topic once and wait again; reject when that wait also times out.
   * @param topic the escalation topic (e.g. team leads)
   * @param timeout how long the escalation waits (@default the primary timeout)
   */
  public static escalate(topic: sns.ITopic, timeout?: Duration): ApprovalTimeout {
    return new ApprovalTimeout(topic, timeout);
  }

  private constructor(
    /** The escalation topic, when the timeout escalates. */
    public readonly escalationTopic?: sns.ITopic,
    /** How long the escalation waits. */
    public readonly escalationTimeout?: Duration,
  ) {}
}

/** Options of a human approval step. */
export interface HumanApprovalOptions {
  /**
   * How long the workflow waits for a decision; signed links expire then.
   * @default Duration.days(2)
   */
  readonly timeout?: Duration;
  /**
   * What happens when the timeout passes without a decision.
   * @default ApprovalTimeout.reject()
   */
  readonly onTimeout?: ApprovalTimeout;
  /**
   * Heartbeat: when set, an approver must acknowledge (the "I'm on it" link, or
   * SendTaskHeartbeat) within this interval, else the step times out (and escalates if configured).
   * @default - no heartbeat
   */
  readonly heartbeat?: Duration;
}

/** A person decides, by signed links sent through SNS (and an EventBridge event). */
export class HumanApproval {
  /** Notify the topic with signed approve/reject links; the decision arrives by callback. */
  public static notify(topic: sns.ITopic, options: HumanApprovalOptions = {}): HumanApproval {
    return new HumanApproval(topic, options);
  }

  private constructor(
    /** The topic approvers subscribe to. */
    public readonly topic: sns.ITopic,
    /** The options. */
    public readonly options: HumanApprovalOptions,
  ) {}
}

/** Options of an approval policy. */
export interface ApprovalPolicyOptions {
  /**
   * Conditions that reject automatically (checked before the approval conditions). A missing or
   * mistyped field they read goes to a person (or, without human approval, rejects with that reason).
   * @default - nothing is rejected automatically
   */
  readonly rejectWhen?: DecisionCondition[];
}

/** When the agent's decision needs a person. */
export class ApprovalPolicy {
  /**
   * A person approves when any condition holds, or when a field a condition reads is missing or
   * mistyped (fail-safe); otherwise the workflow approves automatically.
   */
  public static when(conditions: DecisionCondition[], approval: HumanApproval, options: ApprovalPolicyOptions = {}): ApprovalPolicy {
    return new ApprovalPolicy(conditions, approval, options.rejectWhen ?? []);
  }

  /** A person approves every execution that passes validation. */
  public static always(approval: HumanApproval, options: ApprovalPolicyOptions = {}): ApprovalPolicy {
    return new ApprovalPolicy([], approval, options.rejectWhen ?? [], true);
  }

  /** No person: approve automatically unless a `rejectWhen` condition holds. */
  public static never(options: ApprovalPolicyOptions = {}): ApprovalPolicy {
    return new ApprovalPolicy([], undefined, options.rejectWhen ?? []);
  }

  private constructor(
    /** Conditions that send the decision to a person. */
    public readonly conditions: DecisionCondition[],
    /** The human approval step, if any. */
    public readonly approval: HumanApproval | undefined,
    /** Conditions that reject automatically. */
    public readonly rejectWhen: DecisionCondition[],
    /** @internal */ public readonly _always = false,
  ) {}
}
