/**
 * The typed, null-safe projection of GetItem tool results done by the digest step
 * (runtime/tool-results.ts and the reasoner's digest mode), against what the four Pass states per
 * tool produced: every projected field present, null when the item or the attribute is absent or
 * has another type, N as a JSON number.
 */
import { digestToolResults, handleDigest } from '../../src/agent-workflow/runtime/reasoner.lambda';
import { parseToolProjections, projectItem, projectToolResults } from '../../src/agent-workflow/runtime/tool-results';

const POLICY = [
  { field: 'autoApproveLimit', attribute: 'autoApproveLimit', type: 'N' as const },
  { field: 'coverageLimit', attribute: 'coverageLimit', type: 'N' as const },
  { field: 'status', attribute: 'status', type: 'S' as const },
  { field: 'active', attribute: 'active', type: 'BOOL' as const },
  // one attribute under two fields
  { field: 'limit', attribute: 'autoApproveLimit', type: 'N' as const },
];
const META = { SdkHttpMetadata: { HttpStatusCode: 200 }, SdkResponseMetadata: { RequestId: 'r' } };

describe('projectItem', () => {
  test('present attributes of the declared type, in the declared order; N as a JSON number', () => {
    const projected = projectItem({ Item: { autoApproveLimit: { N: '1500' }, coverageLimit: { N: '25000.50' }, status: { S: 'ACTIVE' }, active: { BOOL: true } }, ...META }, POLICY);
    expect(projected).toEqual({ autoApproveLimit: 1500, coverageLimit: 25000.5, status: 'ACTIVE', active: true, limit: 1500 });
    expect(Object.keys(projected)).toEqual(['autoApproveLimit', 'coverageLimit', 'status', 'active', 'limit']);
  });

  test('no such item (the integration answers without Item): every field present, null', () => {
    expect(projectItem({ ...META }, POLICY)).toEqual({ autoApproveLimit: null, coverageLimit: null, status: null, active: null, limit: null });
    expect(projectItem(undefined, POLICY)).toEqual({ autoApproveLimit: null, coverageLimit: null, status: null, active: null, limit: null });
  });

  test('an attribute stored with another type (or NULL) is null, never its other value', () => {
    const item = { Item: { autoApproveLimit: { S: '1500' }, coverageLimit: { NULL: true }, status: { N: '1' }, active: { S: 'true' } } };
    expect(projectItem(item, POLICY)).toEqual({ autoApproveLimit: null, coverageLimit: null, status: null, active: null, limit: null });
  });

  test('a field or attribute named like an Object property stays an ordinary field', () => {
    const projected = projectItem({ Item: { constructor: { S: 'x' } } }, [{ field: '__proto__', attribute: 'constructor', type: 'S' }]);
    expect(Object.keys(projected)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(projected)).toBe(Object.prototype);
    expect(projectItem({ Item: {} }, [{ field: 'f', attribute: 'toString', type: 'S' }])).toEqual({ f: null });
  });
});

describe('projectToolResults and the digest mode', () => {
  const tools = {
    history: { items: [{ claimId: { S: 'c-1' } }], count: 1 },
    policy: { Item: { autoApproveLimit: { N: '1500' }, coverageLimit: { N: '25000' }, status: { S: 'ACTIVE' }, active: { BOOL: true } }, ...META },
  };

  test('GetItem results are projected; the other tools\' results pass as they are, in the same order', () => {
    const out = projectToolResults(tools, { policy: POLICY });
    expect(out).toEqual({ history: tools.history, policy: { autoApproveLimit: 1500, coverageLimit: 25000, status: 'ACTIVE', active: true, limit: 1500 } });
    expect(Object.keys(out)).toEqual(['history', 'policy']);
  });

  test('with projections: the projected results and their digest (what Use Tool Results merges over the state)', () => {
    const out = digestToolResults({ mode: 'digest', tools, projections: { policy: POLICY } }) as any;
    expect(out.tools).toEqual(projectToolResults(tools, { policy: POLICY }));
    // the digest is the digest of the projected results, as when four Pass states projected them
    expect(out.toolsDigest).toEqual(digestToolResults({ mode: 'digest', tools: out.tools }));
    expect(out.toolsDigest).toEqual({ value: expect.stringMatching(/^[0-9a-f]{64}$/), bytes: Buffer.byteLength(JSON.stringify(out.tools)) });
  });

  test('without projections (an execution of an earlier definition): the digest alone, as before', () => {
    expect(digestToolResults({ mode: 'digest', tools: { a: 1 } })).toEqual({ value: expect.stringMatching(/^[0-9a-f]{64}$/), bytes: 7 });
  });

  test('malformed projections are a construct bug: an error naming the path', () => {
    expect(() => parseToolProjections({ policy: [{ field: 'a', attribute: 'a', type: 'SS' }] }, 'projections')).toThrow('projections.policy[0] must be');
    expect(() => parseToolProjections({ policy: [] }, 'projections')).toThrow('projections.policy must be a non-empty array');
    expect(() => digestToolResults({ mode: 'digest', tools, projections: 'x' })).toThrow('invalid digest event: projections must be an object');
  });

  test('digest mode sends the "tools" progress event when the payload asks for it', async () => {
    const sent: any[] = [];
    const progress = {
      config: { eventBusName: 'b', eventSource: 's', workflowName: 'w' },
      putEvents: async (input: any) => {
        sent.push(input);
        return { FailedEntryCount: 0, Entries: [{ EventId: 'e' }], $metadata: {} };
      },
      log: { error: () => undefined },
      now: () => new Date('2026-12-01T10:00:00.000Z'),
    };
    await handleDigest({ mode: 'digest', tools: {} }, { progress });
    expect(sent).toEqual([]);
    await handleDigest({ mode: 'digest', tools: {}, progress: { executionId: 'arn:x' } }, { progress });
    expect(sent.flatMap((i) => i.Entries.map((e: any) => JSON.parse(e.Detail))))
      .toEqual([{ workflow: 'w', executionId: 'arn:x', step: 'tools', status: 'DONE', percent: 65, at: '2026-12-01T10:00:00.000Z' }]);
  });
});
