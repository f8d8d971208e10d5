/**
 * Every example "deploys" offline: each custom resource of each example stack goes through Create,
 * Update (a property changed) and Delete (the stack deleted), answered by its bundled handler on
 * the wire layer, and the state after each step is what the example's README promises.
 */
import { deployExampleOffline } from '../harness/aws/example-deploy';
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
    expect(result.resources.length).toBeGreaterThan(0);
    expect(result.ok).toBe(true);
  });
});
