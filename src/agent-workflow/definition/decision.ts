import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { DefinitionContext } from './context';
import { verdictOutput } from './endings';
import { ApprovalPolicy, fieldProblems } from '../approval';

/**
 * The declarative decision: a Choice (`Decide`) over the policy, or straight to the verdict when
 * there is nothing to decide (a Choice with only a Default is not valid ASL). Every verdict is a Pass
 * that sets `$.verdict` (the execution's output, see `verdictOutput`); automatic ones continue at
 * `recordOutcome`, those that need a person at `awaitingApproval` (the approval stage, when the
 * policy has one).
 */
export function decisionStage(
  ctx: DefinitionContext, policy: ApprovalPolicy, recordOutcome: sfn.IChainable, awaitingApproval?: sfn.IChainable,
): sfn.IChainable {
  const verdict = (id: string, route: string, outcome: string, reason: string) => new sfn.Pass(ctx.scope, id, {
    parameters: {
      route,
      outcome,
      reason,
      'approver': 'policy',
      'approverName': '',
      'comment': '',
      'approvalId': '',
      'decidedAt.$': '$$.State.EnteredTime',
      ...verdictOutput(),
    },
    resultPath: '$.verdict',
  });

  const rules: { condition: sfn.Condition; next: sfn.IChainable }[] = [];
  const decideWhen = (condition: sfn.Condition, next: sfn.IChainable) => rules.push({ condition, next });
  const toPerson = (id: string, reason: string) => verdict(id, 'HUMAN', 'PENDING', `approval required: ${reason}`).next(awaitingApproval!);
  // 1. Missing or mistyped data never decides: one rule per field and problem, evaluated in order,
  //    so the comparisons below only ever meet present, well-typed values.
  const seen = new Set<string>();
  const checks = [...policy.rejectWhen, ...(policy._always ? [] : policy.conditions)].flatMap((c) => c._checks)
    .filter((c) => !seen.has(`${c.field.jsonPath}|${c.type}`) && !!seen.add(`${c.field.jsonPath}|${c.type}`));
  checks.forEach((check, i) => {
    const problems = fieldProblems(check);
    const onProblem = (id: string, reason: string) => (awaitingApproval
      ? toPerson(id, reason)
      : verdict(id, 'POLICY', 'AUTO_REJECTED', `auto-rejected: ${reason}`).next(recordOutcome));
    decideWhen(problems.missing, onProblem(`Missing Field ${i + 1}`, `${check.field.label} is missing`));
    decideWhen(problems.mistyped, onProblem(`Mistyped Field ${i + 1}`, `${check.field.label} is null or not a ${check.type}`));
  });
  // 2. Rejections, 3. approvals, 4. otherwise: approve automatically, or ask a person when every input needs one.
  policy.rejectWhen.forEach((c, i) => decideWhen(c._comparison,
    verdict(`Auto Reject ${i + 1}`, 'POLICY', 'AUTO_REJECTED', `auto-rejected: ${c.description}`).next(recordOutcome)));
  let defaultTarget: sfn.IChainable;
  if (policy._always && awaitingApproval) {
    defaultTarget = verdict('Approval Always Required', 'HUMAN', 'PENDING', 'approval required for every input').next(awaitingApproval);
  } else {
    if (awaitingApproval) policy.conditions.forEach((c, i) => decideWhen(c._comparison, toPerson(`Needs Approval ${i + 1}`, c.description)));
    defaultTarget = verdict('Auto Approve', 'POLICY', 'AUTO_APPROVED', 'no approval condition matched').next(recordOutcome);
  }

  if (rules.length === 0) return defaultTarget;
  const choice = new sfn.Choice(ctx.scope, 'Decide');
  for (const rule of rules) choice.when(rule.condition, rule.next);
  return choice.otherwise(defaultTarget);
}
