/**
 * Local simulation of the claim processor on the wire layer (the scenario engine is
 * test/harness/insurance-claims-simulation.ts): synthesizes this
 * app, "deploys" it offline (DynamoDB tables in dynalite; buckets, topics, the signing secret and the
 * state machine in local services that speak the AWS protocols), and runs every scenario end to end:
 * the upload is a PutObject, the bundled starter starts the execution from the "Object Created"
 * event, the synthesized state machine runs in aws-local-stepfunctions with each Lambda task as its
 * bundled asset and each service integration as the real SDK call, and the adjuster decides through
 * the signed link of the e-mail. Prints the path, the outcome as recorded in the audit table,
 * transitions, retries, the largest state payload and the cost per 1,000 claims computed from what
 * was measured, and per path the billed transitions and cost before and after issue 8. Exits non-zero when a
 * scenario ends otherwise than expected or a path takes more transitions than issue 8 allows.
 */
import { createApp } from './app';
import { costPerExecution, pathSummaries, PRICES, SCENARIOS, WireScenarioRun, WireSimulation } from '../../test/harness/insurance-claims-simulation';

const PAYLOAD_BUDGET = 32 * 1024;

async function main(): Promise<void> {
  const started = Date.now();
  const sim = await WireSimulation.start(createApp);
  let failures = 0;
  const rows: string[][] = [];
  const runs: WireScenarioRun[] = [];
  const invoked = new Set<string>();
  try {
    console.log(`State machine: ${Object.keys(sim.definition.States).length} top-level states, as deployed (physical names of the offline stack)\n`);
    for (const scenario of SCENARIOS) {
      let run;
      try {
        run = await sim.run(scenario);
      } catch (err) {
        failures++;
        console.log(`## ${scenario.name}: could not be run: ${err instanceof Error ? err.message : String(err)}   <-- UNEXPECTED`);
        continue;
      }
      const outcomeOk = run.result.status === scenario.expect.status && run.outcome?.outcome === scenario.expect.outcome;
      const ok = outcomeOk && run.result.maxPayloadBytes < PAYLOAD_BUDGET && run.problems.length === 0;
      if (!ok) failures++;
      console.log(`## ${scenario.name}: ${scenario.description}`);
      console.log(`   path: ${run.result.path.filter((s) => !s.startsWith('Progress ')).join(' > ')}`);
      console.log(`   execution ${run.result.status}${run.result.error ? ` (${run.result.error})` : ''}; audit outcome ${run.outcome?.outcome ?? '-'}`
        + `${run.outcome?.approver && run.outcome.approver !== 'policy' ? ` by ${run.outcome.approver}${run.outcome.approverName ? ` (${run.outcome.approverName})` : ''}` : ''}`
        + `${ok ? '' : `   <-- UNEXPECTED (expected ${scenario.expect.status} / ${scenario.expect.outcome})`}`);
      if (run.outcome?.reason) console.log(`   reason: ${run.outcome.reason}`);
      console.log(`   on the wire: ${Object.entries(run.wireCalls).map(([s, n]) => `${s} ${n}`).join(', ')}; ${run.usage.lambdaInvocations} Lambda invocations`);
      run.functions.forEach((f) => invoked.add(f));
      for (const p of run.problems) console.log(`   PROBLEM: ${p}`);
      for (const e of run.taskErrors) console.log(`   task error: ${e}`);
      runs.push(run);
      const cost = costPerExecution(run);
      rows.push([scenario.name, String(run.result.transitions), JSON.stringify(run.result.retries), `${run.result.maxPayloadBytes}`,
        `${run.tokens.input}/${run.tokens.output}`, `$${(cost * 1000).toFixed(2)}`]);
    }
  } finally {
    await sim.stop();
  }
  console.log('\n| scenario | transitions | retries | max state payload (bytes) | model tokens in/out | cost per 1,000 claims |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  // per path: billed transitions and cost now and before issue 8 (whose goal: at most 15 automatic, 19 with a person)
  console.log('\n| path | scenarios | transitions (before issue 8) | cost per 1,000 claims (before) |');
  console.log('|---|---|---|---|');
  for (const p of pathSummaries(runs)) {
    const goal = p.goal === undefined ? '' : p.meetsGoal ? ` (goal <= ${p.goal})` : ` (goal <= ${p.goal} NOT MET)   <-- UNEXPECTED`;
    console.log(`| ${p.path} | ${p.scenarios.join(', ')} | ${p.transitions}${goal} (${p.transitionsBefore}) | $${p.costPer1000.toFixed(2)} ($${p.costPer1000Before.toFixed(2)}) |`);
    if (!p.meetsGoal) failures++;
  }
  console.log(`\nPrices: Step Functions $${PRICES.transitionPer1k}/1k transitions; Nova Pro $${PRICES.novaProInputPer1k}/$${PRICES.novaProOutputPer1k} per 1k in/out tokens;`
    + ` Nova Micro $${PRICES.novaMicroInputPer1k}/$${PRICES.novaMicroOutputPer1k}; Lambda arm64 300 ms x 512 MB per invocation (starter, tasks, approval page and form);`
    + ' EventBridge $1/M events; DynamoDB $0.625/M writes (events and writes counted on the wire).');
  console.log('Per path: the costliest of its scenarios without retries; "before" is the definition before issue 8 (a state per progress event,'
    + ' four Pass states per GetItem tool, Result and Done), which made the same calls, so its cost is the cost now plus the transitions saved.');
  console.log('Token counts are the scripted Converse usage (1,850 in / 160 out: a ~1 MP photo plus prompt, as Nova Pro reports them), not measured from a live model.');
  console.log(`Functions invoked as their bundled assets (template environment, real AWS SDK clients): ${[...invoked].join(', ')}.`);
  console.log(`Simulated in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  if (failures) throw new Error(`${failures} scenario(s) ended unexpectedly`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
