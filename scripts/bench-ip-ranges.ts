/**
 * Benchmark of the IP range sync's pure logic on the real published documents.
 *
 *   npx ts-node --transpile-only --project tsconfig.dev.json scripts/bench-ip-ranges.ts
 *
 * IP_RANGES_DATA_DIR points at the data (default: ../../shared/data from this folder), which holds
 * aws-ip-ranges/ip-ranges-<synctoken>.json, aws-ip-ranges/sns-messages.json and github-meta/*.json.
 */
import * as fs from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import * as zlib from 'zlib';
import { AddressFamily, CidrCover, minimalCover } from '../src/ip-range-security-group/runtime/cidr';
import { AwsIpRangesDocument, md5Hex, parseAwsIpRanges, parseGithubMeta } from '../src/ip-range-security-group/runtime/documents';
import { selectAwsCidrs, selectGithubCidrs } from '../src/ip-range-security-group/runtime/filter';
import {
  applyPrefixListPlan, applySecurityGroupPlan, OwnedRule, planPrefixList, planSecurityGroups, PrefixListPlan, SecurityGroupPlan,
} from '../src/ip-range-security-group/runtime/plan';
import { SHARED_DATA_DIR } from '../test/harness/shared-data';

const DATA = SHARED_DATA_DIR;
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const FILTER = { services: ['EC2'], regions: ['us-east-1'] };
const PORTS = [{ fromPort: 443, toPort: 443 }];
const RULES_PER_GROUP = 60;
const GROUP_IDS = ['sg-1', 'sg-2', 'sg-3', 'sg-4', 'sg-5'];
const PREFIX_LIST_MAX_ENTRIES = 250;
const SEQUENCE = ['1784747826', '1784760425', '1784768825'];

/** Median wall time of `fn` in milliseconds over RUNS runs, after one warm-up run. */
function median<T>(fn: () => T): { ms: number; result: T } {
  let result = fn();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    result = fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], result };
}

const ms = (n: number): string => `${n.toFixed(2).padStart(8)} ms`;
const awsFile = (token: string): string => path.join(DATA, 'aws-ip-ranges', `ip-ranges-${token}.json`);

function coverOf(doc: AwsIpRangesDocument): CidrCover {
  const sel = selectAwsCidrs(doc, FILTER);
  return minimalCover([...sel.ipv4, ...sel.ipv6]);
}

function main(): void {
  console.log(`node ${process.version}, data ${DATA}, median of ${RUNS} runs\n`);

  // 1. The largest AWS document.
  const awsDir = path.join(DATA, 'aws-ip-ranges');
  const files = fs.readdirSync(awsDir).filter((f) => /^ip-ranges-\d+\.json$/.test(f));
  const largest = files.map((f) => ({ f, size: fs.statSync(path.join(awsDir, f)).size })).sort((a, b) => b.size - a.size)[0];
  const bytes = fs.readFileSync(path.join(awsDir, largest.f));
  const token = largest.f.replace(/^ip-ranges-(\d+)\.json$/, '$1');
  console.log(`Largest AWS document: ${largest.f} (${(largest.size / 1e6).toFixed(2)} MB)`);

  const md5 = median(() => md5Hex(bytes));
  const parse = median(() => parseAwsIpRanges(bytes));
  const doc = parse.result;
  const filter = median(() => selectAwsCidrs(doc, FILTER));
  const sel = filter.result;
  const merge = median(() => minimalCover([...sel.ipv4, ...sel.ipv6]));
  const cover = merge.result;

  // The diff as a sync would see it: against the state left by the previous version.
  const previousToken = SEQUENCE[SEQUENCE.indexOf(token) - 1];
  let previous: CidrCover = { ipv4: [], ipv6: [] };
  if (previousToken) previous = coverOf(parseAwsIpRanges(fs.readFileSync(awsFile(previousToken))));
  const target = { groupIds: GROUP_IDS, ports: PORTS, rulesPerGroup: RULES_PER_GROUP };
  const state = applySecurityGroupPlan([], planSecurityGroups({ ...target, desired: previous, current: [], maxRemovePercent: 100 }));
  const diffSg = median(() => planSecurityGroups({ ...target, desired: cover, current: state }));
  const diffPl = median(() => (['ipv4', 'ipv6'] as AddressFamily[]).map((family) =>
    planPrefixList({ family, desired: cover[family], current: previous[family], maxEntries: PREFIX_LIST_MAX_ENTRIES })));

  console.log(`  md5                     ${ms(md5.ms)}`);
  console.log(`  parse + validate        ${ms(parse.ms)}   prefixes in: ${doc.prefixes.length} IPv4 + ${doc.ipv6Prefixes.length} IPv6 = ${doc.prefixes.length + doc.ipv6Prefixes.length}`);
  console.log(`  filter EC2 us-east-1    ${ms(filter.ms)}   selected: ${sel.ipv4.length} IPv4, ${sel.ipv6.length} IPv6`);
  console.log(`  merge (minimal cover)   ${ms(merge.ms)}   merged: ${cover.ipv4.length} IPv4, ${cover.ipv6.length} IPv6`);
  console.log(`  diff, security groups   ${ms(diffSg.ms)}   vs ${previousToken ?? 'empty'}: ${describeSg(diffSg.result)}`);
  console.log(`  diff, prefix lists      ${ms(diffPl.ms)}   vs ${previousToken ?? 'empty'}: ${diffPl.result.map(describePl).join('; ')}`);
  console.log(`  rules out (tcp/443):    IPv4 ${cover.ipv4.length * PORTS.length} rules, IPv6 ${cover.ipv6.length * PORTS.length} rules; ` +
    `groups needed at ${RULES_PER_GROUP}/group: ${diffSg.result.capacity.families.map((f) => `${f.family} ${f.groupsNeeded}`).join(', ')}`);

  // 2. Successive versions, each plan applied to the state the previous one left.
  console.log(`\nSuccessive versions (EC2 us-east-1, tcp/443; security groups: ${GROUP_IDS.length} groups x ${RULES_PER_GROUP} rules; ` +
    `prefix lists: one per family, maxEntries ${PREFIX_LIST_MAX_ENTRIES})`);
  let sgState: OwnedRule[] = [];
  let plState: Record<AddressFamily, string[]> = { ipv4: [], ipv6: [] };
  let last = 'empty';
  for (const t of SEQUENCE) {
    const c = coverOf(parseAwsIpRanges(fs.readFileSync(awsFile(t))));
    const sg = planSecurityGroups({ desired: c, groupIds: GROUP_IDS, ports: PORTS, current: sgState, rulesPerGroup: RULES_PER_GROUP });
    const pls = (['ipv4', 'ipv6'] as AddressFamily[]).map((family) =>
      planPrefixList({ family, desired: c[family], current: plState[family], maxEntries: PREFIX_LIST_MAX_ENTRIES }));
    console.log(`  ${last} -> ${t}`);
    console.log(`    security groups: ${describeSg(sg)}`);
    console.log(`    prefix lists:    ${pls.map(describePl).join('; ')}`);
    sgState = applySecurityGroupPlan(sgState, sg);
    plState = { ipv4: applyPrefixListPlan(plState.ipv4, pls[0]), ipv6: applyPrefixListPlan(plState.ipv6, pls[1]) };
    last = t;
  }

  // 3. GitHub meta actions.
  console.log('\nGitHub meta "actions"');
  for (const f of ['meta-2025-07-21T16-30-27Z.json', 'meta-2025-07-21T21-00-29Z.json']) {
    const meta = parseGithubMeta(fs.readFileSync(path.join(DATA, 'github-meta', f)));
    const s = selectGithubCidrs(meta, { services: ['actions'] });
    const m = median(() => minimalCover([...s.ipv4, ...s.ipv6]));
    console.log(`  ${f}: in ${s.ipv4.length} IPv4 + ${s.ipv6.length} IPv6 = ${s.ipv4.length + s.ipv6.length}; ` +
      `merged ${m.result.ipv4.length} IPv4 + ${m.result.ipv6.length} IPv6 = ${m.result.ipv4.length + m.result.ipv6.length} (${ms(m.ms).trim()})`);
  }

  // 4. The handler bundle (built by `npx projen bundle`; the AWS SDK is provided by the runtime).
  const bundle = path.resolve(__dirname, '..', 'assets', 'ip-range-security-group', 'runtime', 'sync.lambda', 'index.js');
  if (fs.existsSync(bundle)) {
    const code = fs.readFileSync(bundle);
    console.log(`\nHandler bundle: ${(code.length / 1024).toFixed(1)} KiB (${(zlib.gzipSync(code).length / 1024).toFixed(1)} KiB gzipped), AWS SDK external`);
  } else {
    console.log('\nHandler bundle: not built (run npx projen bundle)');
  }
}

function describeSg(p: SecurityGroupPlan): string {
  if (p.refusal) return `REFUSED ${p.refusal.code}: ${p.refusal.message}`;
  const touched = p.groups.filter((g) => g.add.length + g.remove.length > 0).map((g) => g.groupId);
  return `+${p.counts.add} -${p.counts.remove} rules, ${p.counts.mutatingCalls} mutating calls` +
    `${touched.length ? ` (${touched.join(', ')})` : ''}`;
}

function describePl(p: PrefixListPlan): string {
  if (p.refusal) return `${p.family} REFUSED ${p.refusal.code}: ${p.refusal.message}`;
  return `${p.family} +${p.counts.add} -${p.counts.remove}, ${p.counts.mutatingCalls} calls`;
}

main();
