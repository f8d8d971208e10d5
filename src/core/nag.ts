import { Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * An ARN as cdk-nag names it in a finding id (`<LogicalId.Arn>/prefix*`, `<LogicalId.Arn>:*`), for a
 * cdk-nag acknowledgement scoped to that one resource pattern.
 * @internal
 */
export function nagArn(scope: IConstruct, arn: string): string {
  const render = (v: any): string => {
    if (typeof v === 'string') return v;
    if (v?.['Fn::GetAtt']) return `<${v['Fn::GetAtt'].join('.')}>`;
    if (v?.Ref) return `<${v.Ref}>`;
    if (v?.['Fn::Join']) return (v['Fn::Join'][1] as any[]).map(render).join(v['Fn::Join'][0]);
    return JSON.stringify(v);
  };
  return render(Stack.of(scope).resolve(arn));
}
