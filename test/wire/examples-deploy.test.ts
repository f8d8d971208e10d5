/**
 * Every example "deploys" offline: each custom resource of each example stack goes through Create,
 * Update (a property changed) and Delete (the stack deleted), answered by its bundled handler on
 * the wire layer, and the state after each step is what the example's README promises.
 */
import { deployExampleOffline } from '../harness/aws/example-deploy';
import { tempOutdir } from '../harness/aws/synth';
import { discoverExamples } from '../harness/examples';

// Each example is synthesized and every custom resource runs three times as a child process.
jest.setTimeout(120_000);


const examples = discoverExamples();

describe.each(examples.map((e) => [e.name, e] as const))('example %s', (name, example) => {
  test('every custom resource answers SUCCESS to Create, Update and Delete, with the documented state after each', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const result = await deployExampleOffline(name, require(example.appFile).createApp);
    for (const r of result.resources.map((x) => ({ ...x, id: x.logicalId }))) {
      expect(r.problems).toEqual([]);
      // Every custom resource runs, ours and aws-cdk-lib's (Node.js and Python).
      expect({ id: r.id, create: r.create, update: r.update.replace(/ \(old resource deleted: SUCCESS\)$/, ''), delete: r.delete })
        .toEqual({ id: r.id, create: 'SUCCESS', update: 'SUCCESS', delete: 'SUCCESS' });
    }
    // as many lifecycles as the templates hold custom resources and rotation schedules (counted
    // apart from the deploy harness, so a resource it fails to find cannot pass unnoticed)
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const assembly = require(example.appFile).createApp({ outdir: tempOutdir(`count-${name}`) }).synth();
    type Template = { Resources?: Record<string, { Type: string }> };
    const expected = assembly.stacks.flatMap((s: { template: Template }) => Object.values(s.template.Resources ?? {}))
      .filter((r: { Type: string }) => r.Type.startsWith('Custom::') || r.Type === 'AWS::CloudFormation::CustomResource'
        || r.Type === 'AWS::SecretsManager::RotationSchedule').length;
    expect(result.resources.length).toBe(expected);
    expect(result.ok).toBe(true);
  });
});
