/**
 * CloudFormation on the wire (awsQuery): DescribeStacks, answering the stack status the test sets
 * (CREATE_IN_PROGRESS while custom resources are created, DELETE_IN_PROGRESS while the stack is
 * deleted), and `ValidationError` ("Stack with id … does not exist") for unknown stacks.
 */
import { AwsError, parseQueryBody, queryResponse, WireRequest, WireResponse } from '../protocols';
import { ServiceModule } from '../wire-server';

export class CloudFormationService implements ServiceModule {
  public readonly signingNames = ['cloudformation'];
  public readonly endpointEnvNames = ['CLOUDFORMATION'];
  public readonly protocol = 'query' as const;
  private readonly stacks = new Map<string, { name: string; status: string }>();

  public action(req: WireRequest): string {
    return String(parseQueryBody(req.body).Action ?? '');
  }

  public decode(req: WireRequest): unknown {
    return parseQueryBody(req.body);
  }

  /** Registers a stack (by its id ARN) with a status; call again to change the status. */
  public setStack(stackId: string, name: string, status: string): void {
    this.stacks.set(stackId, { name, status });
  }

  public handle(req: WireRequest, action: string): WireResponse {
    const input = parseQueryBody(req.body);
    if (action !== 'DescribeStacks') throw new AwsError('InvalidAction', `Could not find operation ${action}`);
    const wanted = String(input.StackName ?? '');
    const entry = [...this.stacks.entries()].find(([id, s]) => id === wanted || s.name === wanted);
    if (!entry) throw new AwsError('ValidationError', `Stack with id ${wanted} does not exist`);
    const [stackId, s] = entry;
    return queryResponse('DescribeStacks', 'http://cloudformation.amazonaws.com/doc/2010-05-15/', {
      Stacks: [{ StackId: stackId, StackName: s.name, StackStatus: s.status, CreationTime: '2026-12-01T00:00:00.000Z' }],
    });
  }
}
