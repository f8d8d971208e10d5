import { Duration } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { throwArgumentError } from '../core/errors';

const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** The highest key segment index (the validator outputs the first 20 segments). */
const MAX_KEY_SEGMENT = 19;

/**
 * A value in the workflow's state that a decision condition reads: a field of the model's
 * structured answer, a field of a tool result, S3 object metadata, or a segment of the object key.
 */
export class AgentField {
  /**
   * A top-level scalar property of the model's structured answer (e.g. `estimated_cost`).
   *
   * Checked at synth time against `outputSchema`.
   * @param name the property name in the output schema
   */
  public static output(name: string): AgentField {
    return new AgentField('output', `$.reasoning.fields.${checkName('AgentField.output', 'name', name)}`, `output.${name}`, name);
  }

  /**
   * A field of a tool's projected result (e.g. `AgentField.tool('policy', 'autoApproveLimit')`).
   * @param toolName the tool's name
   * @param field the field of the tool's result
   */
  public static tool(toolName: string, field: string): AgentField {
    return new AgentField('tool', `$.tools.${checkName('AgentField.tool', 'toolName', toolName)}.${checkName('AgentField.tool', 'field', field)}`, `${toolName}.${field}`, field, toolName);
  }

  /**
   * S3 user metadata of the trigger object (name normalized: lower case, `-` becomes `_`).
   *
   * Metadata is whatever the uploader sent (no IAM policy restricts its values): fine for a hint,
   * not to choose which record is read (a policy, a customer). For that use `keySegment` under a
   * prefix IAM restricts per uploader.
   * @param name the metadata name, without `x-amz-meta-`
   */
  public static metadata(name: string): AgentField {
    const normalized = name.toLowerCase().replace(/[^a-z0-9_]/g, '_');
    return new AgentField('metadata', `$.validation.metadata.${checkName('AgentField.metadata', 'name', normalized)}`, `metadata.${normalized}`, normalized);
  }

  /**
   * A segment of the trigger object's key (the key split on `/`, counted from 0): e.g. `keySegment(1)` is
   * `P-1001` in `claims/P-1001/photo.jpg`.
   *
   * Unlike metadata, which the uploader sets freely, a key prefix can be restricted per uploader by IAM
   * (e.g. `s3:PutObject` only on `claims/${aws:PrincipalTag/policyId}/*`), so a segment can safely
   * choose what is looked up. Only folders count (never the object's name): the validator rejects a key
   * without the segment (REJECTED_INVALID) when a condition, `actorIdKeySegment` or
   * `requiredKeySegments` reads it. Needs the built-in validator (or a custom one that returns
   * `keySegments`).
   * @param index the segment, 0 to 19
   */
  public static keySegment(index: number): AgentField {
    if (!Number.isInteger(index) || index < 0 || index > MAX_KEY_SEGMENT) {
      throwArgumentError('AgentField.keySegment', 'index', `must be an integer from 0 to ${MAX_KEY_SEGMENT} (the key split on '/', counted from 0), got ${index}`);
    }
    return new AgentField('keySegment', `$.validation.keySegments[${index}]`, `keySegment[${index}]`, String(index));
  }

  /**
   * Any JSONPath into the workflow state, for advanced uses (the state shape is documented in the README).
   * @param jsonPath a JSONPath starting with `$.`
   */
  public static path(jsonPath: string): AgentField {
    if (!jsonPath.startsWith('$.')) throwArgumentError('AgentField.path', 'jsonPath', `must be a JSONPath starting with '$.', got '${jsonPath}'`);
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

function checkName(factory: string, argument: string, name: string): string {
  if (!FIELD_NAME.test(name)) {
    throwArgumentError(factory, argument, `must be a plain field name (letters, digits and _, at most 64, not starting with a digit), got '${name}'`);
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
  /**
   * The field is greater than a number.
   * @param field the field compared (a number)
   * @param value the number it must exceed
   */
  public static greaterThan(field: AgentField, value: number): DecisionCondition {
    return DecisionCondition.numeric(field, `${field.label} > ${fmt(value)}`, sfn.Condition.numberGreaterThan(field.jsonPath, value));
  }
  /**
   * The field is greater than or equal to a number.
   * @param field the field compared (a number)
   * @param value the number it must reach
   */
  public static greaterThanOrEqual(field: AgentField, value: number): DecisionCondition {
    return DecisionCondition.numeric(field, `${field.label} >= ${fmt(value)}`, sfn.Condition.numberGreaterThanEquals(field.jsonPath, value));
  }
  /**
   * The field is less than a number.
   * @param field the field compared (a number)
   * @param value the number it must stay below
   */
  public static lessThan(field: AgentField, value: number): DecisionCondition {
    return DecisionCondition.numeric(field, `${field.label} < ${fmt(value)}`, sfn.Condition.numberLessThan(field.jsonPath, value));
  }
  /**
   * The field is less than or equal to a number.
   * @param field the field compared (a number)
   * @param value the number it must not exceed
   */
  public static lessThanOrEqual(field: AgentField, value: number): DecisionCondition {
    return DecisionCondition.numeric(field, `${field.label} <= ${fmt(value)}`, sfn.Condition.numberLessThanEquals(field.jsonPath, value));
  }
  /**
   * The field is greater than another field (e.g. the estimated cost above the policy's auto-approve limit).
   * @param field the field compared (a number)
   * @param other the field it must exceed (a number)
   */
  public static greaterThanField(field: AgentField, other: AgentField): DecisionCondition {
    return new DecisionCondition(`${field.label} > ${other.label}`, [{ field, type: 'number' }, { field: other, type: 'number' }],
      sfn.Condition.numberGreaterThanJsonPath(field.jsonPath, other.jsonPath));
  }
  /**
   * The field is less than another field.
   * @param field the field compared (a number)
   * @param other the field it must stay below (a number)
   */
  public static lessThanField(field: AgentField, other: AgentField): DecisionCondition {
    return new DecisionCondition(`${field.label} < ${other.label}`, [{ field, type: 'number' }, { field: other, type: 'number' }],
      sfn.Condition.numberLessThanJsonPath(field.jsonPath, other.jsonPath));
  }
  /**
   * The field equals a string.
   * @param field the field compared (a string)
   * @param value the string it must equal
   */
  public static stringEquals(field: AgentField, value: string): DecisionCondition {
    return new DecisionCondition(`${field.label} = '${value}'`, [{ field, type: 'string' }], sfn.Condition.stringEquals(field.jsonPath, value));
  }
  /**
   * The field equals a boolean.
   * @param field the field compared (a boolean)
   * @param value the boolean it must equal
   */
  public static booleanEquals(field: AgentField, value: boolean): DecisionCondition {
    return new DecisionCondition(`${field.label} = ${value}`, [{ field, type: 'boolean' }], sfn.Condition.booleanEquals(field.jsonPath, value));
  }
  /**
   * All of the conditions hold.
   * @param conditions the conditions (at least one)
   */
  public static all(conditions: DecisionCondition[]): DecisionCondition {
    if (conditions.length === 0) throwArgumentError('DecisionCondition.all', 'conditions', 'must list at least one condition');
    return new DecisionCondition(conditions.map((c) => c.description).join(' and '), conditions.flatMap((c) => c._checks),
      sfn.Condition.and(...conditions.map((c) => c._comparison)));
  }
  /**
   * Any of the conditions holds.
   * @param conditions the conditions (at least one)
   */
  public static any(conditions: DecisionCondition[]): DecisionCondition {
    if (conditions.length === 0) throwArgumentError('DecisionCondition.any', 'conditions', 'must list at least one condition');
    return new DecisionCondition(conditions.map((c) => c.description).join(' or '), conditions.flatMap((c) => c._checks),
      sfn.Condition.or(...conditions.map((c) => c._comparison)));
  }

  private static numeric(field: AgentField, description: string, compare: sfn.Condition): DecisionCondition {
    return new DecisionCondition(description, [{ field, type: 'number' }], compare);
  }

  private constructor(
    /** The condition in words, recorded as the decision reason. */
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
  /** Reject, with the outcome REJECTED_TIMEOUT. */
  public static reject(): ApprovalTimeout {
    return new ApprovalTimeout();
  }

  /**
   * Notify a second topic once and wait again, then reject when that wait also times out.
   * @param topic the escalation topic (e.g. team leads)
   * @param timeout how long the escalation waits (by default the primary timeout)
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
   * How long the workflow waits for a decision (signed links expire then).
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
  /**
   * Rotate the key that signs approval links automatically, this often (a whole number of days).
   *
   * A rotation function of the workflow writes a new random key as the secret's AWSCURRENT
   * version; the key before it stays valid as AWSPREVIOUS, so links already mailed keep working
   * until the next rotation. Each link names its key (the secret's VersionId); a link whose key a
   * second rotation retired answers 410 "signed with a key that has since been retired".
   *
   * Secrets Manager keeps one previous version only, so the interval must be longer than the
   * longest approval wait (the timeout, plus the escalation timeout when the approval escalates)
   * plus one day (Secrets Manager picks the hour of a scheduled rotation at random within its day,
   * and the handlers cache the keys for 5 minutes); at most 1000 days. Deploying the schedule, or
   * changing the interval, does not rotate the key by itself: rotations follow the schedule.
   * @default - no automatic rotation (the key can be rotated by hand: see the README)
   */
  readonly signingKeyRotation?: Duration;
}

/** A person decides, by signed links sent through SNS (and an EventBridge event). */
export class HumanApproval {
  /**
   * Notify the topic with signed approve/reject links, and wait for the decision to arrive by callback.
   * @param topic the topic approvers subscribe to
   * @param options the timeout, what happens then, and the heartbeat
   */
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
   * A person approves when any condition holds, or when a field a condition reads is missing or mistyped (fail-safe).
   *
   * Otherwise the workflow approves automatically (unless a `rejectWhen` condition holds).
   * @param conditions the conditions that send the decision to a person (at least one: use `always` or `never` otherwise)
   * @param approval the human approval step
   * @param options conditions that reject automatically
   */
  public static when(conditions: DecisionCondition[], approval: HumanApproval, options: ApprovalPolicyOptions = {}): ApprovalPolicy {
    if (conditions.length === 0) {
      // no condition would never hold: every execution would be approved automatically
      throwArgumentError('ApprovalPolicy.when', 'conditions', 'must list at least one condition (with none, every execution would be approved automatically); use ApprovalPolicy.always() or ApprovalPolicy.never()');
    }
    return new ApprovalPolicy(conditions, approval, options.rejectWhen ?? []);
  }

  /**
   * A person approves every execution that passes validation.
   * @param approval the human approval step
   * @param options conditions that reject automatically (before a person is asked)
   */
  public static always(approval: HumanApproval, options: ApprovalPolicyOptions = {}): ApprovalPolicy {
    return new ApprovalPolicy([], approval, options.rejectWhen ?? [], true);
  }

  /**
   * No person decides, and the workflow approves automatically unless a `rejectWhen` condition holds.
   * @param options conditions that reject automatically
   */
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
