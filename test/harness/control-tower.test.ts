import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  acknowledgedCount, checkControlTower, ControlAcknowledgement, ControlFailure, failedCount, failuresOf, formatFailures, mergeFailures,
  splitDocuments, unacknowledged, unusedAcknowledgements, validateAcknowledgements,
} from './control-tower';

// One real cfn-guard run over all rules files takes 1-3 s on two cores.
jest.setTimeout(60_000);

const REASON = 'a reason long enough to be one';

/** A cfn-guard result document of one rules file, shaped as cfn-guard 3.1 writes it (trimmed). */
function failDoc(control: string, title: string, paths: Array<{ key: 'traversed_to' | 'from'; path: string }>): any {
  const clause = (p: { key: string; path: string }) => ({
    Clause: {
      Unary: {
        check: { UnResolved: { value: { [p.key]: { path: p.path, value: {} }, remaining_query: 'X' }, comparison: ['Exists', false] } },
        context: ' X EXISTS  ',
        messages: { custom_message: '', error_message: 'Check was not compliant' },
      },
    },
  });
  return {
    name: 'template.json',
    metadata: {},
    status: 'FAIL',
    not_compliant: [{
      Rule: {
        name: 'outer_check',
        metadata: {},
        messages: { custom_message: null, error_message: null },
        checks: [{
          Rule: {
            name: 'check',
            metadata: {},
            messages: { custom_message: `\n        [${control}]: ${title}\n        [FIX]: Set the thing\n          to true.\n        `, error_message: null },
            checks: paths.map(clause),
          },
        }],
      },
    }],
    not_applicable: [],
    compliant: [],
  };
}

const passDoc = { name: 'template.json', metadata: {}, status: 'PASS', not_compliant: [], not_applicable: [], compliant: ['rule'] };

describe('splitDocuments', () => {
  test('splits JSON documents written one after another, braces and escaped quotes inside strings included', () => {
    const a = { status: 'FAIL', msg: 'a } brace and a "quoted { one"' };
    const b = { status: 'PASS', nested: { list: [{ x: '\\' }] } };
    const raw = `${JSON.stringify(a, null, 2)}${JSON.stringify(b)}\n`;
    expect(splitDocuments(raw)).toEqual([a, b]);
  });

  test('throws on output that ends inside a document', () => {
    expect(() => splitDocuments('{"status": "PASS"}{"status": ')).toThrow(/ends inside a JSON document/);
  });

  test('returns nothing for empty output', () => {
    expect(splitDocuments('')).toEqual([]);
  });
});

describe('failuresOf', () => {
  test('names the control, its title and fix, and the resources of the paths cfn-guard traversed', () => {
    const docs = [
      failDoc('CT.S3.PR.11', 'Require versioning', [
        { key: 'traversed_to', path: '/Resources/BucketB/Properties' },
        { key: 'from', path: '/Resources/BucketA/Properties/VersioningConfiguration/Status' },
        { key: 'traversed_to', path: '/Resources/BucketB/Properties' },
      ]),
      passDoc,
    ];
    expect(failuresOf(docs)).toEqual([{ control: 'CT.S3.PR.11', title: 'Require versioning', fix: 'Set the thing to true.', resources: ['BucketA', 'BucketB'] }]);
  });

  test('ignores passing documents and sorts controls by number, not text', () => {
    const docs = [
      failDoc('CT.S3.PR.10', 'Ten', [{ key: 'traversed_to', path: '/Resources/B/Properties' }]),
      passDoc,
      failDoc('CT.S3.PR.2', 'Two', [{ key: 'traversed_to', path: '/Resources/A/Properties' }]),
    ];
    expect(failuresOf(docs).map((f) => f.control)).toEqual(['CT.S3.PR.2', 'CT.S3.PR.10']);
    expect(failuresOf([passDoc])).toEqual([]);
  });

  test('a failure outside /Resources is kept, with no resource named', () => {
    const docs = [failDoc('CT.X.PR.1', 'Template-level', [{ key: 'traversed_to', path: '/Parameters/P' }])];
    expect(failuresOf(docs)).toEqual([{ control: 'CT.X.PR.1', title: 'Template-level', fix: 'Set the thing to true.', resources: [] }]);
  });
});

describe('acknowledgements', () => {
  const failures: ControlFailure[] = [
    { control: 'CT.LAMBDA.PR.3', title: 'VPC', fix: 'f', resources: ['BucketNotificationsHandler050a', 'ClaimsReasonerFunction7EE3', 'ClaimsStarterFunction5E12'] },
    { control: 'CT.S3.PR.9', title: 'Object lock', fix: 'f', resources: ['AccessLogs8B62'] },
    { control: 'CT.X.PR.1', title: 'No resource', fix: 'f', resources: [] },
  ];

  test('a logical id prefix covers every failing resource it starts; the rest stay unacknowledged', () => {
    const acks: ControlAcknowledgement[] = [{ control: 'CT.LAMBDA.PR.3', resources: ['BucketNotificationsHandler', 'ClaimsStarter'], reason: REASON }];
    expect(unacknowledged(failures, acks)).toEqual([
      { ...failures[0], resources: ['ClaimsReasonerFunction7EE3'] },
      failures[1],
      failures[2],
    ]);
    expect(acknowledgedCount(failures, acks)).toBe(2);
  });

  test('an acknowledgement without resources covers the whole control, a failure that names no resource included', () => {
    const acks: ControlAcknowledgement[] = [
      { control: 'CT.LAMBDA.PR.3', reason: REASON },
      { control: 'CT.S3.PR.9', resources: ['AccessLogs'], reason: REASON },
      { control: 'CT.X.PR.1', reason: REASON },
    ];
    expect(unacknowledged(failures, acks)).toEqual([]);
    expect(acknowledgedCount(failures, acks)).toBe(failedCount(failures));
    expect(failedCount(failures)).toBe(5);
  });

  test('a failure that names no resource is not covered by a scoped acknowledgement', () => {
    expect(unacknowledged(failures, [{ control: 'CT.X.PR.1', resources: ['Any'], reason: REASON }]).map((f) => f.control))
      .toEqual(['CT.LAMBDA.PR.3', 'CT.S3.PR.9', 'CT.X.PR.1']);
  });

  test('an acknowledgement of another control covers nothing', () => {
    expect(unacknowledged(failures, [{ control: 'CT.S3.PR.2', resources: ['AccessLogs'], reason: REASON }])).toEqual(failures);
  });

  test('stale: an acknowledgement of a control that passes, and the prefixes of a partly used one', () => {
    const acks: ControlAcknowledgement[] = [
      { control: 'CT.S3.PR.2', reason: REASON },
      { control: 'CT.LAMBDA.PR.3', resources: ['ClaimsStarter', 'RenamedFunction'], reason: REASON },
      { control: 'CT.S3.PR.9', resources: ['AccessLogs'], reason: REASON },
      { control: 'CT.X.PR.1', reason: REASON },
    ];
    expect(unusedAcknowledgements(failures, acks)).toEqual([
      { control: 'CT.S3.PR.2', reason: REASON },
      { control: 'CT.LAMBDA.PR.3', resources: ['RenamedFunction'], reason: REASON },
    ]);
    expect(unusedAcknowledgements([], [])).toEqual([]);
  });

  test('an acknowledgement without a real reason, with a malformed control id or with an empty resource list is refused', () => {
    expect(() => unacknowledged(failures, [{ control: 'CT.S3.PR.9', reason: 'because' }])).toThrow(/needs a real reason/);
    expect(() => validateAcknowledgements([{ control: 'S3.PR.9', reason: REASON }])).toThrow(/not a control id/);
    expect(() => validateAcknowledgements([{ control: 'CT.S3.PR.9', resources: [], reason: REASON }])).toThrow(/at least one non-empty/);
    expect(() => validateAcknowledgements([{ control: 'CT.S3.PR.9', resources: [''], reason: REASON }])).toThrow(/at least one non-empty/);
    expect(() => validateAcknowledgements([{ control: 'CT.S3.PR.9', resources: ['AccessLogs'], reason: REASON }])).not.toThrow();
  });

  test('mergeFailures joins the failures of several templates by control', () => {
    const merged = mergeFailures([
      { failures: [{ control: 'CT.S3.PR.9', title: 't', fix: 'f', resources: ['B', 'A'] }] },
      { failures: [{ control: 'CT.S3.PR.10', title: 't', fix: 'f', resources: ['C'] }, { control: 'CT.S3.PR.9', title: 't', fix: 'f', resources: ['A', 'D'] }] },
    ]);
    expect(merged).toEqual([
      { control: 'CT.S3.PR.9', title: 't', fix: 'f', resources: ['A', 'B', 'D'] },
      { control: 'CT.S3.PR.10', title: 't', fix: 'f', resources: ['C'] },
    ]);
  });

  test('formatFailures names the control, the resources and the fix', () => {
    expect(formatFailures([failures[1]])).toBe('  CT.S3.PR.9 Object lock\n    resources: AccessLogs8B62\n    fix: f');
    expect(formatFailures([failures[2]])).toContain('(none named)');
  });
});

describe('checkControlTower (the bundled cfn-guard on real rules)', () => {
  const bucket = (versioned: boolean) => ({
    Type: 'AWS::S3::Bucket',
    Properties: {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      ...(versioned ? { VersioningConfiguration: { Status: 'Enabled' } } : {}),
    },
  });

  test('a bucket without versioning fails CT.S3.PR.11, naming the bucket; the versioned one passes it', () => {
    const report = checkControlTower({ Resources: { Plain83908E77: bucket(false), VersionedC0FFEE00: bucket(true) } });
    // one document per rules file: the package ships more than 200 controls
    expect(report.evaluated).toBeGreaterThan(200);
    expect(report.passed).toBeGreaterThan(0);
    const pr11 = report.failures.find((f) => f.control === 'CT.S3.PR.11');
    expect(pr11).toEqual({
      control: 'CT.S3.PR.11',
      title: 'Require an Amazon S3 bucket to have versioning enabled',
      fix: expect.stringContaining('VersioningConfiguration'),
      resources: ['Plain83908E77'],
    });
    // the versioned bucket still fails other controls (no lifecycle rule: CT.S3.PR.3 and PR.6)
    expect(report.failures.find((f) => f.control === 'CT.S3.PR.6')?.resources).toEqual(['Plain83908E77', 'VersionedC0FFEE00']);
  });

  test('reads a template file as well as an object, and acknowledging every failure leaves none', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-test-'));
    try {
      const file = path.join(dir, 'template.json');
      fs.writeFileSync(file, JSON.stringify({ Resources: { Plain83908E77: bucket(false) } }));
      const report = checkControlTower(file);
      expect(report.failures.map((f) => f.control)).toContain('CT.S3.PR.11');
      const acks = report.failures.map((f) => ({ control: f.control, resources: ['Plain'], reason: REASON }));
      expect(unacknowledged(report.failures, acks)).toEqual([]);
      expect(unusedAcknowledgements(report.failures, acks)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
