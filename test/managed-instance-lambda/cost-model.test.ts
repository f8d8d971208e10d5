import {
  LambdaCostArchitecture,
  ManagedInstanceCostModel,
  ManagedInstanceCostOptionKind,
  ManagedInstanceCostProps,
} from '../../src/managed-instance-lambda/cost-model';

/** Rounds to the cent, as a bill does. */
const cents = (usd: number) => Math.round(usd * 100) / 100;

/**
 * The seed article ("Would Lambda Managed instance reduce your cost?"), as issue 10 states it: a
 * steady 24/7 log-ingestion service, 50M requests a month of 200 ms at 1 GB (x86_64, first-tier
 * price), against 2 x c7g.large at $0.07/h for 730 h. (The article's $0.07/h is rounded: c7g.large
 * lists at about $0.0725/h in us-east-1; the instance price is an input, so the model follows the
 * article.)
 */
const ARTICLE: ManagedInstanceCostProps = {
  requestsPerMonth: 50_000_000,
  averageDurationMs: 200,
  memoryMb: 1024,
  instanceHourlyUsd: 0.07,
  instanceCount: 2,
};

describe('ManagedInstanceCostModel.compare: the seed article\'s scenario', () => {
  const c = ManagedInstanceCostModel.compare(ARTICLE);

  test('standard Lambda: 10M GB-s x $0.0000166667 = $166.67 compute + $10 requests = $176.67', () => {
    expect(c.gbSecondsPerMonth).toBeCloseTo(10_000_000, 6);
    expect(c.standardLambda.kind).toBe(ManagedInstanceCostOptionKind.STANDARD_LAMBDA);
    // exact: 166.667 rounds to 166.67 (the article truncates it to "~$166", and the total to "about $176")
    expect(c.standardLambda.computeUsd).toBeCloseTo(166.667, 9);
    expect(cents(c.standardLambda.computeUsd)).toBe(166.67);
    expect(c.standardLambda.managementFeeUsd).toBe(0);
    expect(cents(c.standardLambda.requestsUsd)).toBe(10.00);
    expect(cents(c.standardLambda.totalUsd)).toBe(176.67);
    expect(c.standardLambda.savingsVsStandardUsd).toBe(0);
  });

  test('Managed Instances On-Demand: 2 x $0.07/h x 730 h = $102.20, + 15% fee $15.33, + $10 requests = $127.53', () => {
    const m = c.managedOnDemand;
    expect(m.kind).toBe(ManagedInstanceCostOptionKind.MANAGED_ON_DEMAND);
    // every figure here is exact to the cent in the article
    expect(m.computeUsd).toBeCloseTo(102.20, 9);
    expect(m.managementFeeUsd).toBeCloseTo(15.33, 9);
    expect(m.requestsUsd).toBeCloseTo(10.00, 9);
    expect(m.totalUsd).toBeCloseTo(127.53, 9);
    expect(cents(m.savingsVsStandardUsd)).toBe(49.14);
    expect(m.savingsVsStandardPercent).toBeCloseTo(27.8, 1);
  });

  test('with a 1-year Compute Savings Plan at the article\'s 36% (the default): $65.41 + $15.33 fee + $10 = $90.74', () => {
    // 102.20 x (1 - 0.36) = 65.408. The article writes "about $65.00" and "about $90.33": it
    // rounded the instance cost down; the stated 36% gives 65.41 and 90.74 (next test: the
    // discount that gives exactly 65.00).
    const m = c.managedSavingsPlan;
    expect(m.kind).toBe(ManagedInstanceCostOptionKind.MANAGED_SAVINGS_PLAN);
    expect(m.computeUsd).toBeCloseTo(65.408, 9);
    expect(cents(m.computeUsd)).toBe(65.41);
    // the fee is charged on the On-Demand price, not on the discounted one
    expect(m.managementFeeUsd).toBeCloseTo(15.33, 9);
    expect(cents(m.totalUsd)).toBe(90.74);
    // "about 48% below standard Lambda": (176.667 - 90.738) / 176.667 = 48.6%
    expect(m.savingsVsStandardPercent).toBeGreaterThanOrEqual(48);
    expect(m.savingsVsStandardPercent).toBeLessThan(49);
    expect(cents(m.savingsVsStandardUsd)).toBe(85.93);
  });

  test('with the discount that gives the article\'s $65.00 (36.4%): $65.00 + $15.33 + $10 = $90.33', () => {
    const discount = 1 - 65 / 102.2; // 0.36399...: the article's "about 36%"
    const m = ManagedInstanceCostModel.compare({ ...ARTICLE, savingsPlanDiscount: discount }).managedSavingsPlan;
    expect(m.computeUsd).toBeCloseTo(65.00, 9);
    expect(m.managementFeeUsd).toBeCloseTo(15.33, 9);
    expect(m.totalUsd).toBeCloseTo(90.33, 9);
    // (176.667 - 90.33) / 176.667 = 48.87%: the article's "about 48%" (it compares with ~$176: 48.7%)
    expect(m.savingsVsStandardPercent).toBeGreaterThanOrEqual(48);
    expect(m.savingsVsStandardPercent).toBeLessThan(49);
  });

  test('the cheapest is Managed Instances with a Savings Plan, with the savings in $ and %', () => {
    expect(c.cheapest.kind).toBe(ManagedInstanceCostOptionKind.MANAGED_SAVINGS_PLAN);
    expect(c.cheapest).toEqual(c.managedSavingsPlan);
    expect(c.savingsUsd).toBeCloseTo(c.standardLambda.totalUsd - c.managedSavingsPlan.totalUsd, 9);
    expect(c.savingsPercent).toBeCloseTo(c.managedSavingsPlan.savingsVsStandardPercent, 9);
  });

  test('the average rate: 50M requests over 730 h is 19.03 requests/s', () => {
    expect(c.averageRequestsPerSecond).toBeCloseTo(50_000_000 / (730 * 3600), 9);
    expect(c.averageRequestsPerSecond).toBeCloseTo(19.03, 2);
  });

  test('every option\'s total is the sum of its lines', () => {
    for (const o of [c.standardLambda, c.managedOnDemand, c.managedSavingsPlan]) {
      expect(o.totalUsd).toBeCloseTo(o.computeUsd + o.managementFeeUsd + o.requestsUsd, 9);
      expect(o.description.length).toBeGreaterThan(10);
    }
  });
});

describe('ManagedInstanceCostModel.compare: inputs', () => {
  test('arm64 standard Lambda: 10M GB-s x $0.0000133334 = $133.33', () => {
    const c = ManagedInstanceCostModel.compare({ ...ARTICLE, architecture: LambdaCostArchitecture.ARM_64 });
    expect(c.standardLambda.computeUsd).toBeCloseTo(133.334, 9);
    expect(cents(c.standardLambda.totalUsd)).toBe(143.33);
    // the managed options do not depend on standard Lambda's architecture
    expect(c.managedOnDemand.totalUsd).toBeCloseTo(127.53, 9);
  });

  test('x86_64 is the default architecture', () => {
    const x86 = ManagedInstanceCostModel.compare({ ...ARTICLE, architecture: LambdaCostArchitecture.X86_64 });
    expect(ManagedInstanceCostModel.compare(ARTICLE)).toEqual(x86);
  });

  test('memory and duration scale GB-seconds: 512 MB x 100 ms is a quarter of 1 GB x 200 ms', () => {
    const c = ManagedInstanceCostModel.compare({ ...ARTICLE, memoryMb: 512, averageDurationMs: 100 });
    expect(c.gbSecondsPerMonth).toBeCloseTo(2_500_000, 6);
    expect(c.standardLambda.computeUsd).toBeCloseTo(41.66675, 9);
    // at this size standard Lambda is the cheapest, and the savings are 0
    expect(c.cheapest.kind).toBe(ManagedInstanceCostOptionKind.STANDARD_LAMBDA);
    expect(c.savingsUsd).toBe(0);
    expect(c.savingsPercent).toBe(0);
    expect(c.managedOnDemand.savingsVsStandardUsd).toBeLessThan(0);
  });

  test('hours, fee, request price and a Lambda Savings Plan are inputs', () => {
    const c = ManagedInstanceCostModel.compare({
      ...ARTICLE,
      hoursPerMonth: 720,
      savingsPlanDiscount: 0.5,
      lambdaSavingsPlanDiscount: 0.17,
      prices: { managementFeeFraction: 0.2, requestsPerMillionUsd: 0.25 },
    });
    expect(c.managedOnDemand.computeUsd).toBeCloseTo(100.8, 9); // 2 x 0.07 x 720
    expect(c.managedOnDemand.managementFeeUsd).toBeCloseTo(20.16, 9);
    expect(c.managedOnDemand.requestsUsd).toBeCloseTo(12.5, 9);
    expect(c.managedSavingsPlan.computeUsd).toBeCloseTo(50.4, 9);
    expect(c.managedSavingsPlan.managementFeeUsd).toBeCloseTo(20.16, 9);
    // Compute Savings Plans lower Lambda's duration charge, not its requests
    expect(c.standardLambda.computeUsd).toBeCloseTo(166.667 * 0.83, 9);
    expect(c.standardLambda.requestsUsd).toBeCloseTo(12.5, 9);
  });

  test('no discount: On-Demand and Savings Plan tie, and the tie goes to On-Demand (no commitment)', () => {
    const c = ManagedInstanceCostModel.compare({ ...ARTICLE, savingsPlanDiscount: 0 });
    expect(c.managedSavingsPlan.totalUsd).toBe(c.managedOnDemand.totalUsd);
    expect(c.cheapest.kind).toBe(ManagedInstanceCostOptionKind.MANAGED_ON_DEMAND);
  });

  test('no requests: standard Lambda costs nothing and is the cheapest; percentages are 0, not NaN', () => {
    const c = ManagedInstanceCostModel.compare({ ...ARTICLE, requestsPerMonth: 0 });
    expect(c.standardLambda.totalUsd).toBe(0);
    expect(c.cheapest.kind).toBe(ManagedInstanceCostOptionKind.STANDARD_LAMBDA);
    expect(c.managedOnDemand.savingsVsStandardPercent).toBe(0);
    expect(c.savingsPercent).toBe(0);
  });

  test('the defaults are the documented list prices', () => {
    expect(ManagedInstanceCostModel.DEFAULT_PRICES).toEqual({
      x86GbSecondUsd: 0.0000166667,
      x86GbSecondTier2Usd: 0.000015,
      x86GbSecondTier3Usd: 0.0000133334,
      arm64GbSecondUsd: 0.0000133334,
      arm64GbSecondTier2Usd: 0.0000120001,
      arm64GbSecondTier3Usd: 0.0000106667,
      requestsPerMillionUsd: 0.20,
      managementFeeFraction: 0.15,
    });
    expect(ManagedInstanceCostModel.DEFAULT_HOURS_PER_MONTH).toBe(730);
    expect(ManagedInstanceCostModel.DEFAULT_SAVINGS_PLAN_DISCOUNT).toBe(0.36);
  });

  test('changing the public DEFAULT_PRICES copy does not change the model', () => {
    const before = ManagedInstanceCostModel.compare(ARTICLE);
    const copy = ManagedInstanceCostModel.DEFAULT_PRICES as { x86GbSecondUsd?: number };
    const saved = copy.x86GbSecondUsd;
    copy.x86GbSecondUsd = 1;
    try {
      expect(ManagedInstanceCostModel.compare(ARTICLE)).toEqual(before);
    } finally {
      copy.x86GbSecondUsd = saved;
    }
  });

  test('an undefined price keeps its default', () => {
    expect(ManagedInstanceCostModel.compare({ ...ARTICLE, prices: { x86GbSecondUsd: undefined } }))
      .toEqual(ManagedInstanceCostModel.compare(ARTICLE));
  });
});

describe('ManagedInstanceCostModel: tiered pricing (optional, off by default)', () => {
  const B = 1_000_000_000;

  test('flat by default: every GB-second at the first-tier price', () => {
    expect(ManagedInstanceCostModel.standardComputeUsd(20 * B)).toBeCloseTo(20 * B * 0.0000166667, 3);
  });

  test('x86_64: 6B at the first tier, 9B at $0.000015, the rest at $0.0000133334', () => {
    const usd = ManagedInstanceCostModel.standardComputeUsd(20 * B, LambdaCostArchitecture.X86_64, true);
    expect(usd).toBeCloseTo(6 * B * 0.0000166667 + 9 * B * 0.000015 + 5 * B * 0.0000133334, 3);
    expect(ManagedInstanceCostModel.standardComputeUsd(6 * B, LambdaCostArchitecture.X86_64, true))
      .toBeCloseTo(ManagedInstanceCostModel.standardComputeUsd(6 * B), 6);
  });

  test('arm64: 7.5B at the first tier, 11.25B at $0.0000120001, the rest at $0.0000106667', () => {
    const usd = ManagedInstanceCostModel.standardComputeUsd(20 * B, LambdaCostArchitecture.ARM_64, true);
    expect(usd).toBeCloseTo(7.5 * B * 0.0000133334 + 11.25 * B * 0.0000120001 + 1.25 * B * 0.0000106667, 3);
  });

  test('below the first boundary tiers change nothing (the article\'s 10M GB-s)', () => {
    const tiered = ManagedInstanceCostModel.compare({ ...ARTICLE, tieredPricing: true });
    expect(tiered.standardLambda.computeUsd).toBe(ManagedInstanceCostModel.compare(ARTICLE).standardLambda.computeUsd);
    expect(tiered.standardLambda.description).toMatch(/\(tiered\)/);
  });

  test('the tier boundaries are the announced ones', () => {
    expect(ManagedInstanceCostModel.X86_TIER_STARTS_GB_SECONDS).toEqual([6 * B, 15 * B]);
    expect(ManagedInstanceCostModel.ARM64_TIER_STARTS_GB_SECONDS).toEqual([7.5 * B, 18.75 * B]);
  });

  test('gbSeconds', () => {
    expect(ManagedInstanceCostModel.gbSeconds(50_000_000, 200, 1024)).toBeCloseTo(10_000_000, 6);
    expect(ManagedInstanceCostModel.gbSeconds(1, 1000, 128)).toBe(0.125);
  });
});

describe('ManagedInstanceCostModel.breakEven', () => {
  const { requestsPerMonth: _ignored, ...WORKLOAD_AND_FLEET } = ARTICLE;

  test('the article\'s workload: On-Demand breaks even at 35.26M requests a month (13.42/s)', () => {
    const b = ManagedInstanceCostModel.breakEven(WORKLOAD_AND_FLEET);
    expect(b.gbSecondsPerRequest).toBeCloseTo(0.2, 12);
    expect(b.onDemand.breaksEven).toBe(true);
    expect(b.onDemand.fixedMonthlyUsd).toBeCloseTo(117.53, 9); // 102.20 + 15.33
    // 117.53 / (0.2 GB-s x $0.0000166667) = 35,258,929.48 requests
    expect(b.onDemand.requestsPerMonth).toBeCloseTo(117.53 / (0.2 * 0.0000166667), 3);
    expect(Math.round(b.onDemand.requestsPerMonth)).toBe(35_258_929);
    expect(b.onDemand.requestsPerSecond).toBeCloseTo(b.onDemand.requestsPerMonth / (730 * 3600), 9);
    expect(b.onDemand.requestsPerSecond).toBeCloseTo(13.42, 2);
    expect(b.onDemand.summary).toMatch(/above 35258930 requests a month \(13\.42 requests\/s/);
  });

  test('with the Savings Plan it breaks even lower: 24.22M requests a month (9.22/s)', () => {
    // 80.738 / (0.2 x $0.0000166667) = 24,221,351.56 requests
    const b = ManagedInstanceCostModel.breakEven(WORKLOAD_AND_FLEET);
    expect(b.savingsPlan.breaksEven).toBe(true);
    expect(b.savingsPlan.fixedMonthlyUsd).toBeCloseTo(65.408 + 15.33, 9);
    expect(b.savingsPlan.requestsPerMonth).toBeCloseTo(80.738 / (0.2 * 0.0000166667), 3);
    expect(b.savingsPlan.requestsPerSecond).toBeCloseTo(9.22, 2);
  });

  test('at the break-even point the totals are equal to the cent, and cross there', () => {
    const b = ManagedInstanceCostModel.breakEven(WORKLOAD_AND_FLEET);
    for (const [point, key] of [[b.onDemand, 'managedOnDemand'], [b.savingsPlan, 'managedSavingsPlan']] as const) {
      const at = ManagedInstanceCostModel.compare({ ...ARTICLE, requestsPerMonth: point.requestsPerMonth });
      expect(cents(at.standardLambda.totalUsd)).toBe(cents(at[key].totalUsd));
      expect(Math.abs(at.standardLambda.totalUsd - at[key].totalUsd)).toBeLessThan(1e-6);
      const below = ManagedInstanceCostModel.compare({ ...ARTICLE, requestsPerMonth: Math.floor(point.requestsPerMonth) - 1000 });
      const above = ManagedInstanceCostModel.compare({ ...ARTICLE, requestsPerMonth: Math.ceil(point.requestsPerMonth) + 1000 });
      expect(below.standardLambda.totalUsd).toBeLessThan(below[key].totalUsd);
      expect(above.standardLambda.totalUsd).toBeGreaterThan(above[key].totalUsd);
    }
  });

  test('arm64 standard Lambda is cheaper, so the break-even moves up by 1.25x', () => {
    const x86 = ManagedInstanceCostModel.breakEven(WORKLOAD_AND_FLEET);
    const arm = ManagedInstanceCostModel.breakEven({ ...WORKLOAD_AND_FLEET, architecture: LambdaCostArchitecture.ARM_64 });
    expect(arm.onDemand.requestsPerMonth / x86.onDemand.requestsPerMonth).toBeCloseTo(0.0000166667 / 0.0000133334, 9);
  });

  test('the request price cancels out', () => {
    const a = ManagedInstanceCostModel.breakEven(WORKLOAD_AND_FLEET);
    const b = ManagedInstanceCostModel.breakEven({ ...WORKLOAD_AND_FLEET, prices: { requestsPerMillionUsd: 5 } });
    expect(b.onDemand.requestsPerMonth).toBeCloseTo(a.onDemand.requestsPerMonth, 6);
  });

  test('a Lambda Savings Plan on standard duration raises the break-even', () => {
    const b = ManagedInstanceCostModel.breakEven({ ...WORKLOAD_AND_FLEET, lambdaSavingsPlanDiscount: 0.17 });
    expect(b.onDemand.requestsPerMonth).toBeCloseTo(117.53 / (0.2 * 0.0000166667 * 0.83), 3);
    const at = ManagedInstanceCostModel.compare({ ...ARTICLE, lambdaSavingsPlanDiscount: 0.17, requestsPerMonth: b.onDemand.requestsPerMonth });
    expect(at.standardLambda.totalUsd).toBeCloseTo(at.managedOnDemand.totalUsd, 6);
  });

  test('with tiered pricing, a break-even inside the second tier matches compare()', () => {
    // a fleet big enough that standard Lambda must pass 6B GB-s (about $100,000) first
    const fleet = { ...WORKLOAD_AND_FLEET, instanceCount: 1000, instanceHourlyUsd: 0.2, tieredPricing: true };
    const b = ManagedInstanceCostModel.breakEven(fleet);
    expect(b.onDemand.fixedMonthlyUsd).toBeCloseTo(1000 * 0.2 * 730 * 1.15, 6); // 167,900
    const gbs = b.onDemand.requestsPerMonth * 0.2;
    expect(gbs).toBeGreaterThan(6_000_000_000);
    expect(gbs).toBeLessThan(15_000_000_000);
    // 6B x 0.0000166667 = 100,000.2; the rest at 0.000015
    expect(gbs).toBeCloseTo(6_000_000_000 + (167_900 - 100_000.2) / 0.000015, 0);
    const at = ManagedInstanceCostModel.compare({ ...fleet, requestsPerMonth: b.onDemand.requestsPerMonth });
    expect(at.standardLambda.totalUsd).toBeCloseTo(at.managedOnDemand.totalUsd, 4);
    // flat pricing would put it lower
    expect(ManagedInstanceCostModel.breakEven({ ...fleet, tieredPricing: false }).onDemand.requestsPerMonth)
      .toBeLessThan(b.onDemand.requestsPerMonth);
  });

  test('with tiered pricing, a break-even inside the last tier', () => {
    const fleet = { ...WORKLOAD_AND_FLEET, instanceCount: 2000, instanceHourlyUsd: 0.2, tieredPricing: true };
    const b = ManagedInstanceCostModel.breakEven(fleet);
    expect(b.onDemand.requestsPerMonth * 0.2).toBeGreaterThan(15_000_000_000);
    const at = ManagedInstanceCostModel.compare({ ...fleet, requestsPerMonth: b.onDemand.requestsPerMonth });
    expect(at.standardLambda.totalUsd).toBeCloseTo(at.managedOnDemand.totalUsd, 4);
  });

  test('managed never cheaper: a free GB-second gives breaksEven false and 0 (no Infinity)', () => {
    const b = ManagedInstanceCostModel.breakEven({ ...WORKLOAD_AND_FLEET, prices: { x86GbSecondUsd: 0 } });
    for (const p of [b.onDemand, b.savingsPlan]) {
      expect(p.breaksEven).toBe(false);
      expect(p.requestsPerMonth).toBe(0);
      expect(p.requestsPerSecond).toBe(0);
      expect(Number.isFinite(p.fixedMonthlyUsd)).toBe(true);
      expect(p.summary).toMatch(/never costs less than standard Lambda/);
    }
    // and compare() agrees at any volume
    expect(ManagedInstanceCostModel.compare({ ...ARTICLE, requestsPerMonth: 1e12, prices: { x86GbSecondUsd: 0 } }).cheapest.kind)
      .toBe(ManagedInstanceCostOptionKind.STANDARD_LAMBDA);
  });

  test('managed never cheaper with tiers whose every price is 0', () => {
    const b = ManagedInstanceCostModel.breakEven({
      ...WORKLOAD_AND_FLEET,
      tieredPricing: true,
      prices: { x86GbSecondUsd: 0, x86GbSecondTier2Usd: 0, x86GbSecondTier3Usd: 0 },
    });
    expect(b.onDemand.breaksEven).toBe(false);
  });

  test('a break-even above what the fleet can serve is not reachable', () => {
    const b = ManagedInstanceCostModel.breakEven({ ...WORKLOAD_AND_FLEET, maxRequestsPerSecond: 10 });
    // On-Demand needs 13.42/s: out of reach; with the Savings Plan 9.22/s: reachable
    expect(b.onDemand.breaksEven).toBe(false);
    expect(b.onDemand.requestsPerMonth).toBe(0);
    expect(b.onDemand.summary).toMatch(/13\.42 requests\/s, more than the fleet's 10 requests\/s \(maxRequestsPerSecond\)/);
    expect(b.savingsPlan.breaksEven).toBe(true);
    expect(b.savingsPlan.requestsPerSecond).toBeCloseTo(9.22, 2);
  });

  test('a free fleet breaks even at 0 requests', () => {
    const b = ManagedInstanceCostModel.breakEven({ ...WORKLOAD_AND_FLEET, instanceHourlyUsd: 0 });
    expect(b.onDemand.breaksEven).toBe(true);
    expect(b.onDemand.requestsPerMonth).toBe(0);
  });
});

describe('ManagedInstanceCostModel: validation names the field and the allowed range', () => {
  const compare = (over: Partial<ManagedInstanceCostProps>) => () => ManagedInstanceCostModel.compare({ ...ARTICLE, ...over });
  const C = 'ManagedInstanceCostModel\\.compare: invalid argument';

  test.each([
    [{ requestsPerMonth: -1 }, `${C} 'requestsPerMonth': must be >= 0, got -1`],
    [{ requestsPerMonth: NaN }, `${C} 'requestsPerMonth': must be a finite number, got NaN`],
    [{ requestsPerMonth: Infinity }, `${C} 'requestsPerMonth': must be a finite number, got Infinity`],
    [{ averageDurationMs: 0 }, `${C} 'averageDurationMs': must be in \\(0, 900000\\] ms \\(Lambda's 15-minute limit\\), got 0`],
    [{ averageDurationMs: -5 }, `${C} 'averageDurationMs': must be in \\(0, 900000\\] ms`],
    [{ averageDurationMs: 900_001 }, `${C} 'averageDurationMs': must be in \\(0, 900000\\] ms`],
    [{ memoryMb: 127 }, `${C} 'memoryMb': must be in 128\\.\\.10240 MB \\(standard Lambda's memory range\\), got 127`],
    [{ memoryMb: 10_241 }, `${C} 'memoryMb': must be in 128\\.\\.10240 MB`],
    [{ instanceHourlyUsd: -0.07 }, `${C} 'instanceHourlyUsd': must be >= 0, got -0.07`],
    [{ instanceHourlyUsd: Infinity }, `${C} 'instanceHourlyUsd': must be a finite number, got Infinity`],
    [{ instanceCount: 0 }, `${C} 'instanceCount': must be > 0, got 0`],
    [{ hoursPerMonth: 0 }, `${C} 'hoursPerMonth': must be in \\(0, 744\\] \\(a month has at most 744 hours\\), got 0`],
    [{ hoursPerMonth: 745 }, `${C} 'hoursPerMonth': must be in \\(0, 744\\]`],
    [{ savingsPlanDiscount: 1 }, `${C} 'savingsPlanDiscount': must be in \\[0, 1\\) \\(a fraction, not a percentage: 0\\.36 for 36% off\\), got 1`],
    [{ savingsPlanDiscount: 36 }, `${C} 'savingsPlanDiscount': must be in \\[0, 1\\)`],
    [{ savingsPlanDiscount: -0.1 }, `${C} 'savingsPlanDiscount': must be in \\[0, 1\\)`],
    [{ lambdaSavingsPlanDiscount: 1 }, `${C} 'lambdaSavingsPlanDiscount': must be in \\[0, 1\\)`],
    [{ prices: { managementFeeFraction: 15 } }, `${C} 'prices\\.managementFeeFraction': must be in 0\\.\\.1 \\(a fraction, not a percentage\\), got 15`],
    [{ prices: { managementFeeFraction: -0.15 } }, `${C} 'prices\\.managementFeeFraction': must be >= 0, got -0.15`],
    [{ prices: { requestsPerMillionUsd: -0.2 } }, `${C} 'prices\\.requestsPerMillionUsd': must be >= 0, got -0.2`],
    [{ prices: { arm64GbSecondUsd: NaN } }, `${C} 'prices\\.arm64GbSecondUsd': must be a finite number, got NaN`],
    [{ architecture: 'sparc' as unknown as LambdaCostArchitecture }, `${C} 'architecture': must be LambdaCostArchitecture\\.X86_64 or LambdaCostArchitecture\\.ARM_64, got sparc`],
    [{ tieredPricing: 'yes' as unknown as boolean }, `${C} 'tieredPricing': must be true or false, got yes`],
    [{ tieredPricing: true, prices: { x86GbSecondTier2Usd: 0.00002 } }, `${C} 'prices\\.x86GbSecondTier2Usd': must be at most prices\\.x86GbSecondUsd`],
  ])('%j', (over, message) => {
    expect(compare(over as Partial<ManagedInstanceCostProps>)).toThrow(new RegExp(message));
  });

  test('the fee may be 0 or 1 (the range is inclusive); a discount may be 0', () => {
    expect(compare({ prices: { managementFeeFraction: 0 } })).not.toThrow();
    expect(compare({ prices: { managementFeeFraction: 1 } })).not.toThrow();
    expect(compare({ savingsPlanDiscount: 0 })).not.toThrow();
    expect(compare({ memoryMb: 128, averageDurationMs: 900_000, hoursPerMonth: 744 })).not.toThrow();
  });

  test('errors are ValidationErrors', () => {
    try {
      compare({ memoryMb: 64 })();
      throw new Error('no error');
    } catch (e) {
      expect((e as Error).name).toBe('ValidationError');
    }
  });

  test('missing props', () => {
    expect(() => ManagedInstanceCostModel.compare(undefined as unknown as ManagedInstanceCostProps))
      .toThrow(/ManagedInstanceCostModel\.compare: invalid argument 'props': must be an object with requestsPerMonth/);
    expect(() => ManagedInstanceCostModel.compare({ ...ARTICLE, prices: null as unknown as {} }))
      .toThrow(/invalid argument 'prices': must be an object/);
  });

  test('breakEven validates too, and names itself', () => {
    const { requestsPerMonth: _ignored, ...rest } = ARTICLE;
    expect(() => ManagedInstanceCostModel.breakEven({ ...rest, memoryMb: 20_000 }))
      .toThrow(/ManagedInstanceCostModel\.breakEven: invalid argument 'memoryMb': must be in 128\.\.10240 MB/);
    expect(() => ManagedInstanceCostModel.breakEven({ ...rest, maxRequestsPerSecond: -1 }))
      .toThrow(/ManagedInstanceCostModel\.breakEven: invalid argument 'maxRequestsPerSecond': must be >= 0, got -1/);
  });

  test('the helpers validate their arguments', () => {
    expect(() => ManagedInstanceCostModel.gbSeconds(-1, 200, 1024))
      .toThrow(/ManagedInstanceCostModel\.gbSeconds: invalid argument 'requests': must be >= 0, got -1/);
    expect(() => ManagedInstanceCostModel.standardComputeUsd(Infinity))
      .toThrow(/ManagedInstanceCostModel\.standardComputeUsd: invalid argument 'gbSeconds': must be a finite number, got Infinity/);
  });
});
