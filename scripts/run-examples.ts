/**
 * `npx projen examples`: synthesizes every examples/<app>/app.ts into cdk.out/<app>/ offline,
 * runs cdk-nag (AwsSolutions + Serverless) and the AWS Control Tower proactive controls (cfn-guard) on
 * each, writes its least-privilege CloudFormation execution policy (DeploymentPolicy) to
 * examples/<app>/cdk-execution-policy.json (committed; under CI a changed file fails the run), "deploys" it offline, runs its simulate.ts if it has one, prints a table, and exits non-zero on
 * any unsuppressed nag error, error annotation, failed control that examples/<app>/control-tower.ts
 * does not acknowledge, stale acknowledgement, failed deploy or failed simulation.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { DeploymentPolicy } from '../src';
import { deployExampleOffline, summarize } from '../test/harness/aws/example-deploy';
import { failedCount, formatAcknowledgements, formatFailures } from '../test/harness/control-tower';
import { checkExampleControlTower, discoverExamples, synthExample } from '../test/harness/examples';
import { formatFindings } from '../test/harness/nag';

interface Row {
  app: string;
  stacks: number | string;
  resources: number | string;
  nagErrors: number | string;
  nagWarnings: number | string;
  /** Control Tower: failed (control, resource) pairs / acknowledged ones, the failed controls, and what fails the run. */
  controlTower: string;
  /** DeploymentPolicy: regional + global services of examples/<app>/cdk-execution-policy.json, and whether it changed. */
  policy: string;
  synthSeconds: string;
  deploy: string;
  simulation: string;
}

async function main(): Promise<number> {
  const root = path.resolve(__dirname, '..');
  const examples = discoverExamples();
  if (examples.length === 0) {
    console.error('No examples found under examples/*/app.ts');
    return 1;
  }
  const rows: Row[] = [];
  let failed = false;
  for (const ex of examples) {
    const outdir = path.join(root, 'cdk.out', ex.name);
    fs.rmSync(outdir, { recursive: true, force: true });
    console.log(`\n=== ${ex.name}: synth into ${path.relative(root, outdir)}/`);
    const row: Row = { app: ex.name, stacks: '-', resources: '-', nagErrors: '-', nagWarnings: '-', controlTower: '-', policy: '-', synthSeconds: '-', deploy: '-', simulation: ex.simulateFile ? 'pending' : 'none' };
    rows.push(row);
    try {
      const r = synthExample(ex, outdir);
      Object.assign(row, {
        stacks: r.stacks,
        resources: r.resources,
        nagErrors: r.nagErrors.length,
        nagWarnings: r.nagWarnings.length,
        synthSeconds: r.seconds.toFixed(1),
      });
      if (r.nagWarnings.length) console.log(`cdk-nag warnings:\n${formatFindings(r.nagWarnings)}`);
      if (r.nagErrors.length) {
        failed = true;
        console.error(`cdk-nag errors:\n${formatFindings(r.nagErrors)}`);
      }
      if (r.annotationErrors.length) {
        failed = true;
        console.error(`error annotations:\n  ${r.annotationErrors.join('\n  ')}`);
      }
      console.log(`=== ${ex.name}: CloudFormation execution policy (DeploymentPolicy)`);
      try {
        const policyFile = path.join(ex.dir, DeploymentPolicy.DEFAULT_OUTPUT_FILE);
        const policy = DeploymentPolicy.fromAssemblyDirectory(outdir);
        const json = policy.toJson();
        const previous = fs.existsSync(policyFile) ? fs.readFileSync(policyFile, 'utf8') : undefined;
        if (previous !== json) fs.writeFileSync(policyFile, json);
        const state = previous === undefined ? 'new' : previous === json ? 'unchanged' : 'UPDATED';
        row.policy = `${policy.regionalServices.length}+${policy.globalServices.length} services, ${state}`;
        console.log(`  ${path.relative(root, policyFile)} (${state}): ${policy.regionalServices.join(', ')}` +
          `${policy.globalServices.length ? `; global: ${policy.globalServices.join(', ')}` : ''}; regions ${policy.regions.join(', ')}`);
        for (const w of policy.warnings) console.error(`  WARNING: ${w}`);
        if (state !== 'unchanged' && process.env.CI) {
          failed = true;
          console.error(`${path.relative(root, policyFile)} was ${state === 'new' ? 'missing' : 'stale'}: run 'npx projen examples' and commit it`);
        }
      } catch (err) {
        failed = true;
        row.policy = 'FAILED';
        console.error(err);
      }
      console.log(`=== ${ex.name}: AWS Control Tower proactive controls (cfn-guard)`);
      try {
        const ct = checkExampleControlTower(ex, r.templateFiles);
        const problems = [
          ct.unacknowledged.length ? `${failedCount(ct.unacknowledged)} UNACKNOWLEDGED` : '',
          ct.stale.length ? `${ct.stale.length} STALE` : '',
        ].filter(Boolean);
        row.controlTower = `${ct.failed}/${ct.acknowledged} (${ct.failures.length} controls)${problems.length ? `, ${problems.join(', ')}` : ''}`;
        console.log(`  ${ct.evaluated} controls evaluated in ${ct.seconds.toFixed(1)} s; failed: ${ct.failures.map((f) => `${f.control} x${f.resources.length}`).join(', ') || 'none'}`);
        if (ct.unacknowledged.length) {
          failed = true;
          console.error(`failed controls not acknowledged in examples/${ex.name}/control-tower.ts:\n${formatFailures(ct.unacknowledged)}`);
        }
        if (ct.stale.length) {
          failed = true;
          console.error(`stale acknowledgements in examples/${ex.name}/control-tower.ts (they match no failure):\n${formatAcknowledgements(ct.stale)}`);
        }
      } catch (err) {
        failed = true;
        row.controlTower = 'FAILED';
        console.error(err);
      }
    } catch (err) {
      failed = true;
      row.synthSeconds = 'FAILED';
      console.error(err);
      continue;
    }
    // Offline deploy: every custom resource through Create, Update and Delete on the wire layer.
    console.log(`=== ${ex.name}: offline deploy (custom resources on the wire layer)`);
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const deployed = await deployExampleOffline(ex.name, require(ex.appFile).createApp);
      row.deploy = summarize(deployed);
      for (const r of deployed.resources) {
        console.log(`  ${r.logicalId} (${r.type}): Create ${r.create} | Update ${r.update} | Delete ${r.delete}${r.problems.length ? ` | PROBLEMS: ${r.problems.join('; ')}` : ''}`);
      }
      if (!deployed.ok) failed = true;
    } catch (err) {
      failed = true;
      row.deploy = 'FAILED';
      console.error(err);
    }
    if (ex.simulateFile) {
      console.log(`=== ${ex.name}: simulate.ts`);
      const started = Date.now();
      const sim = spawnSync('npx', ['ts-node', '--transpile-only', '--project', path.join(root, 'tsconfig.dev.json'), ex.simulateFile], {
        cwd: root,
        stdio: 'inherit',
      });
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      row.simulation = sim.status === 0 ? `ok (${secs}s)` : `FAILED (exit ${sim.status})`;
      if (sim.status !== 0) failed = true;
    }
  }
  printTable(rows);
  fs.writeFileSync(path.join(root, '.examples-report.json'), JSON.stringify(rows, null, 2));
  return failed ? 1 : 0;
}

function printTable(rows: Row[]): void {
  const headers: Array<[keyof Row, string]> = [
    ['app', 'app'], ['stacks', 'stacks'], ['resources', 'resources'], ['nagErrors', 'nag errors'],
    ['nagWarnings', 'nag warnings'], ['controlTower', 'CT failed/acknowledged'],
    ['policy', 'execution policy'], ['synthSeconds', 'synth s'], ['deploy', 'deploy (offline)'], ['simulation', 'simulation'],
  ];
  const widths = headers.map(([k, h]) => Math.max(h.length, ...rows.map((r) => String(r[k]).length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log('\n' + line(headers.map(([, h]) => h)));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(headers.map(([k]) => String(r[k]))));
}

main().then((code) => {
  process.exitCode = code;
}, (err) => {
  console.error(err);
  process.exitCode = 1;
});
