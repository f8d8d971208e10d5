/**
 * Local simulation of the claim processor (see simulation.ts): synthesizes this app, runs every
 * scenario through the synthesized state machine with the real handlers against an in-memory AWS,
 * and prints the path, the outcome, transitions, retries, the largest state payload and the cost
 * per 1,000 claims computed from what was measured.
 */
import { createApp } from './app';
import { costPerExecution, PRICES, runScenario, SCENARIOS, synthTemplate, workflowDefinition } from './simulation';

const PAYLOAD_BUDGET = 32 * 1024;

async function main(): Promise<void> {
  const definition = workflowDefinition(synthTemplate(createApp));
  console.log(`State machine: ${Object.keys(definition.States).length} top-level states\n`);
  let failures = 0;
  const rows: string[][] = [];
  for (const scenario of SCENARIOS) {
    const run = await runScenario(definition, scenario);
    const ok = run.result.status === scenario.expect.status && run.outcome?.outcome === scenario.expect.outcome
      && run.result.maxPayloadBytes < PAYLOAD_BUDGET;
    if (!ok) failures++;
    console.log(`## ${scenario.name}: ${scenario.description}`);
    console.log(`   path: ${run.result.path.filter((s) => !s.startsWith('Progress ')).join(' > ')}`);
    console.log(`   execution ${run.result.status}${run.result.error ? ` (${run.result.error})` : ''}; audit outcome ${run.outcome?.outcome ?? '-'}`
      + `${run.outcome?.approver && run.outcome.approver !== 'policy' ? ` by ${run.outcome.approver}${run.outcome.approverName ? ` (${run.outcome.approverName})` : ''}` : ''}${ok ? '' : '   <-- UNEXPECTED'}`);
    if (run.outcome?.reason) console.log(`   reason: ${run.outcome.reason}`);
    const cost = costPerExecution(run);
    rows.push([scenario.name, String(run.result.transitions), JSON.stringify(run.result.retries), `${run.result.maxPayloadBytes}`,
      `${run.tokens.input}/${run.tokens.output}`, `$${(cost * 1000).toFixed(2)}`]);
  }
  console.log('\n| scenario | transitions | retries | max state payload (bytes) | model tokens in/out | cost per 1,000 claims |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log(`\nPrices: Step Functions $${PRICES.transitionPer1k}/1k transitions; Nova Pro $${PRICES.novaProInputPer1k}/$${PRICES.novaProOutputPer1k} per 1k in/out tokens;`
    + ` Nova Micro $${PRICES.novaMicroInputPer1k}/$${PRICES.novaMicroOutputPer1k}; Lambda arm64 300 ms x 512 MB per invocation; EventBridge $1/M events; DynamoDB $0.625/M writes.`);
  console.log('Token counts are the scripted Converse usage (1,850 in / 160 out: a ~1 MP photo plus prompt, as Nova Pro reports them), not measured from a live model.');
  if (failures) throw new Error(`${failures} scenario(s) ended unexpectedly`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
