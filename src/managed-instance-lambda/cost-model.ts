import { checkNonNegative, checkNumber, checkPositive, throwArgumentError } from '../core/errors';

// Lambda's monthly volume tiers (AWS Compute Blog, "Introducing tiered pricing for AWS Lambda"):
// where the second (10% off) and third (20% off) tiers start, in GB-seconds a month.
const X86_TIER_STARTS: readonly number[] = [6_000_000_000, 15_000_000_000];
const ARM64_TIER_STARTS: readonly number[] = [7_500_000_000, 18_750_000_000];

// the defaults documented on ManagedInstanceCostPrices (the public DEFAULT_PRICES is a copy, so
// changing it does not change the model)
const DEFAULT_PRICES: Readonly<Required<ManagedInstanceCostPrices>> = Object.freeze({
  x86GbSecondUsd: 0.0000166667,
  x86GbSecondTier2Usd: 0.000015,
  x86GbSecondTier3Usd: 0.0000133334,
  arm64GbSecondUsd: 0.0000133334,
  arm64GbSecondTier2Usd: 0.0000120001,
  arm64GbSecondTier3Usd: 0.0000106667,
  requestsPerMillionUsd: 0.20,
  managementFeeFraction: 0.15,
});

/**
 * The processor architecture of a standard (on-demand) Lambda function, which sets its price per
 * GB-second. Requests cost the same on both.
 */
export enum LambdaCostArchitecture {
  /** x86_64: Lambda's default architecture. */
  X86_64 = 'x86_64',
  /** arm64 (Graviton): about 20% less per GB-second than x86_64. */
  ARM_64 = 'arm64',
}

/** Which of the three ways of running the function a cost line describes. */
export enum ManagedInstanceCostOptionKind {
  /** Standard Lambda: billed per request and per GB-second of duration. */
  STANDARD_LAMBDA = 'STANDARD_LAMBDA',
  /** Lambda Managed Instances on On-Demand EC2 prices: instance-hours, management fee, requests. */
  MANAGED_ON_DEMAND = 'MANAGED_ON_DEMAND',
  /** Lambda Managed Instances with the instance-hours covered by a Savings Plan. */
  MANAGED_SAVINGS_PLAN = 'MANAGED_SAVINGS_PLAN',
}

/**
 * List prices the cost model uses, in USD (US East, N. Virginia). Every field is optional: an
 * omitted one takes its documented default, so `{ requestsPerMillionUsd: 0.25 }` changes one price.
 *
 * Sources: the AWS Lambda pricing page (https://aws.amazon.com/lambda/pricing/, as transcribed by
 * third parties: the page renders its rate tables client-side) and the AWS Compute Blog
 * "Introducing tiered pricing for AWS Lambda" (the tier boundaries and their 10% / 20% discounts).
 * Check them against your region and date.
 */
export interface ManagedInstanceCostPrices {
  /**
   * Standard Lambda on x86_64, per GB-second, first tier (the first 6 billion GB-seconds a month).
   * @default 0.0000166667 - Lambda pricing page, US East (N. Virginia)
   */
  readonly x86GbSecondUsd?: number;

  /**
   * Standard Lambda on x86_64, per GB-second, from 6 to 15 billion GB-seconds a month (10% off).
   * Used only with `tieredPricing`.
   * @default 0.000015 - Lambda pricing page, US East (N. Virginia)
   */
  readonly x86GbSecondTier2Usd?: number;

  /**
   * Standard Lambda on x86_64, per GB-second, above 15 billion GB-seconds a month (20% off).
   * Used only with `tieredPricing`.
   * @default 0.0000133334 - Lambda pricing page, US East (N. Virginia)
   */
  readonly x86GbSecondTier3Usd?: number;

  /**
   * Standard Lambda on arm64, per GB-second, first tier (the first 7.5 billion GB-seconds a month).
   * @default 0.0000133334 - Lambda pricing page, US East (N. Virginia)
   */
  readonly arm64GbSecondUsd?: number;

  /**
   * Standard Lambda on arm64, per GB-second, from 7.5 to 18.75 billion GB-seconds a month (10% off).
   * Used only with `tieredPricing`.
   * @default 0.0000120001 - Lambda pricing page, US East (N. Virginia)
   */
  readonly arm64GbSecondTier2Usd?: number;

  /**
   * Standard Lambda on arm64, per GB-second, above 18.75 billion GB-seconds a month (20% off).
   * Used only with `tieredPricing`.
   * @default 0.0000106667 - 20% off the first tier, per the AWS tiered-pricing announcement
   */
  readonly arm64GbSecondTier3Usd?: number;

  /**
   * Requests, per million, for standard Lambda and for Lambda Managed Instances alike (the same
   * price on both, so it cancels out of the break-even point).
   * @default 0.20 - Lambda pricing page (standard and Managed Instances)
   */
  readonly requestsPerMillionUsd?: number;

  /**
   * The Lambda Managed Instances management fee, as a fraction (0..1) of the EC2 **On-Demand**
   * price of the instances. It is charged on the On-Demand price even when a Savings Plan or
   * Reserved Instances lower the instance cost.
   * @default 0.15 - Lambda pricing page: "15% premium on the EC2 on-demand instance price"
   */
  readonly managementFeeFraction?: number;
}

/** The function being priced: how long a request runs, with how much memory, on which architecture. */
export interface ManagedInstanceCostWorkload {
  /** Average billed duration of one request in standard Lambda, in milliseconds (> 0, at most 900,000). */
  readonly averageDurationMs: number;

  /**
   * Memory configured for the standard Lambda function, in MB (128..10240). A GB-second is 1,024 MB
   * for one second.
   */
  readonly memoryMb: number;

  /**
   * Architecture of the standard Lambda function (its price per GB-second).
   * @default LambdaCostArchitecture.X86_64 - Lambda's default architecture
   */
  readonly architecture?: LambdaCostArchitecture;

  /**
   * Apply Lambda's volume tiers to the GB-seconds (10% off above 6 billion GB-seconds a month on
   * x86_64, 7.5 billion on arm64; 20% off above 15 and 18.75 billion). AWS counts the tiers over
   * all the functions of an account in a region, so applying them to one workload alone understates
   * its cost unless it is most of the account's usage.
   * @default false - every GB-second at the first-tier price
   */
  readonly tieredPricing?: boolean;

  /**
   * Discount (0..1, below 1) a Compute Savings Plan gives standard Lambda's duration charge (not
   * its requests). AWS quotes up to 17% for Lambda.
   * @default 0 - On-Demand Lambda prices
   */
  readonly lambdaSavingsPlanDiscount?: number;
}

/** The Managed Instances fleet the function runs on. */
export interface ManagedInstanceCostFleet {
  /**
   * On-Demand price of one instance, in USD per hour (e.g. c7g.large in us-east-1). Find it on the
   * EC2 On-Demand pricing page for your region.
   */
  readonly instanceHourlyUsd: number;

  /**
   * Instances running, on average over the month (> 0; may be fractional for a fleet that
   * scales). Lambda starts three instances by default for Availability Zone resiliency.
   */
  readonly instanceCount: number;

  /**
   * Hours the instances run a month (0 < hours <= 744).
   * @default 730 - the average month (8,760 hours / 12), as AWS pricing examples use
   */
  readonly hoursPerMonth?: number;

  /**
   * Discount (0..1, below 1) a Savings Plan gives the instance-hours, for the "with a Savings
   * Plan" option. Savings Plans do not lower the management fee.
   * @default 0.36 - the seed article's 1-year Compute Savings Plan on c7g; check the Savings Plans
   * pricing page for your instance family, term and payment option
   */
  readonly savingsPlanDiscount?: number;
}

/** The inputs of `ManagedInstanceCostModel.compare`. */
export interface ManagedInstanceCostProps extends ManagedInstanceCostWorkload, ManagedInstanceCostFleet {
  /** Requests (invocations) per month (>= 0). */
  readonly requestsPerMonth: number;

  /**
   * List prices.
   * @default - the defaults documented on `ManagedInstanceCostPrices`
   */
  readonly prices?: ManagedInstanceCostPrices;
}

/** The monthly cost of one way of running the function, in USD (unrounded). */
export interface ManagedInstanceCostOption {
  /** Which option this is. */
  readonly kind: ManagedInstanceCostOptionKind;
  /** What the option is and how its compute is priced. */
  readonly description: string;
  /**
   * Compute: GB-seconds for standard Lambda; instance-hours (after any Savings Plan discount) for
   * Managed Instances.
   */
  readonly computeUsd: number;
  /** The Managed Instances management fee (0 for standard Lambda). */
  readonly managementFeeUsd: number;
  /** Requests. */
  readonly requestsUsd: number;
  /** `computeUsd + managementFeeUsd + requestsUsd`. */
  readonly totalUsd: number;
  /**
   * How much less this option costs than standard Lambda (negative: more; 0 for standard Lambda).
   */
  readonly savingsVsStandardUsd: number;
  /**
   * `savingsVsStandardUsd` as a percentage of standard Lambda's total (48.6 means 48.6% less);
   * 0 when standard Lambda costs nothing.
   */
  readonly savingsVsStandardPercent: number;
}

/** The result of `ManagedInstanceCostModel.compare`. */
export interface ManagedInstanceCostComparison {
  /** GB-seconds standard Lambda bills a month (requests x duration x memory in GB). */
  readonly gbSecondsPerMonth: number;
  /** Average requests per second over the month's hours (`hoursPerMonth`). */
  readonly averageRequestsPerSecond: number;
  /** Standard (on-demand) Lambda. */
  readonly standardLambda: ManagedInstanceCostOption;
  /** Lambda Managed Instances, instances at their On-Demand price. */
  readonly managedOnDemand: ManagedInstanceCostOption;
  /** Lambda Managed Instances, instances covered by a Savings Plan (fee still on the On-Demand price). */
  readonly managedSavingsPlan: ManagedInstanceCostOption;
  /**
   * The cheapest of the three. On a tie the option with less commitment wins: standard Lambda,
   * then Managed Instances On-Demand, then with a Savings Plan.
   */
  readonly cheapest: ManagedInstanceCostOption;
  /** How much less the cheapest option costs than standard Lambda (0 when standard Lambda is cheapest). */
  readonly savingsUsd: number;
  /** `savingsUsd` as a percentage of standard Lambda's total (0 when standard Lambda costs nothing). */
  readonly savingsPercent: number;
}

/** The inputs of `ManagedInstanceCostModel.breakEven`. */
export interface ManagedInstanceBreakEvenProps extends ManagedInstanceCostWorkload, ManagedInstanceCostFleet {
  /**
   * The most requests per second the fleet can serve (measure it with a load test). A break-even
   * point above it is not reachable with this fleet, and is reported as not breaking even.
   * @default - no limit: the fleet is assumed to serve any rate
   */
  readonly maxRequestsPerSecond?: number;

  /**
   * List prices.
   * @default - the defaults documented on `ManagedInstanceCostPrices`
   */
  readonly prices?: ManagedInstanceCostPrices;
}

/** Where one Managed Instances option starts to cost less than standard Lambda. */
export interface ManagedInstanceBreakEvenPoint {
  /**
   * Whether there is a reachable request rate above which this option costs less than standard
   * Lambda. False when standard Lambda's duration is free (a zero GB-second price) or the
   * break-even rate is above `maxRequestsPerSecond`.
   */
  readonly breaksEven: boolean;
  /**
   * Requests a month at which both cost the same (fractional, not rounded); above it Managed
   * Instances cost less. 0 when `breaksEven` is false (read `breaksEven` first) or when the fleet
   * costs nothing.
   */
  readonly requestsPerMonth: number;
  /** `requestsPerMonth` as an average rate over `hoursPerMonth`, per second. 0 when `breaksEven` is false. */
  readonly requestsPerSecond: number;
  /** The fleet's fixed monthly cost: instance-hours (after any discount) plus the management fee. */
  readonly fixedMonthlyUsd: number;
  /** A sentence saying where the break-even is, or why there is none. */
  readonly summary: string;
}

/** The result of `ManagedInstanceCostModel.breakEven`. */
export interface ManagedInstanceBreakEven {
  /** GB-seconds one request bills in standard Lambda (duration x memory in GB). */
  readonly gbSecondsPerRequest: number;
  /** Managed Instances at On-Demand instance prices against standard Lambda. */
  readonly onDemand: ManagedInstanceBreakEvenPoint;
  /** Managed Instances with a Savings Plan against standard Lambda. */
  readonly savingsPlan: ManagedInstanceBreakEvenPoint;
}

/**
 * Monthly cost of a function on standard Lambda, on Lambda Managed Instances at On-Demand prices,
 * and on Managed Instances with a Savings Plan, from list prices; and the request rate above which
 * Managed Instances cost less. Pure arithmetic: no AWS calls, usable in tests and scripts.
 *
 * - Standard Lambda: `requests x duration(s) x memory(GB)` GB-seconds at the architecture's price
 *   (first tier unless `tieredPricing`), less any `lambdaSavingsPlanDiscount`, plus requests.
 * - Managed Instances On-Demand: `instances x hourly price x hours`, plus the management fee
 *   (`managementFeeFraction` of that On-Demand cost), plus requests. No duration charge.
 * - With a Savings Plan: instance cost x `(1 - savingsPlanDiscount)`; the fee stays on the
 *   On-Demand price; plus requests.
 *
 * Not modelled: the free tier (1M requests and 400,000 GB-seconds a month, per account), data
 * transfer, logs, ephemeral storage, and whether the fleet can serve the load (size it apart).
 *
 * @example
 * import { ManagedInstanceCostModel } from 'cdk-production-patterns';
 *
 * const c = ManagedInstanceCostModel.compare({
 *   requestsPerMonth: 50000000, averageDurationMs: 200, memoryMb: 1024,
 *   instanceHourlyUsd: 0.07, instanceCount: 2,
 * });
 * const cheapest = c.cheapest.kind; // MANAGED_SAVINGS_PLAN
 * const saved = c.savingsUsd; // 85.93 a month
 */
export class ManagedInstanceCostModel {
  /** The default list prices (USD), every field set. */
  public static readonly DEFAULT_PRICES: ManagedInstanceCostPrices = { ...DEFAULT_PRICES };

  /** Monthly GB-seconds where x86_64's second and third price tiers start (6 and 15 billion). */
  public static readonly X86_TIER_STARTS_GB_SECONDS: number[] = [...X86_TIER_STARTS];

  /** Monthly GB-seconds where arm64's second and third price tiers start (7.5 and 18.75 billion). */
  public static readonly ARM64_TIER_STARTS_GB_SECONDS: number[] = [...ARM64_TIER_STARTS];

  /** The default hours a month (8,760 / 12). */
  public static readonly DEFAULT_HOURS_PER_MONTH = 730;

  /** The default Savings Plan discount on instance-hours (the seed article's 1-year Compute Savings Plan). */
  public static readonly DEFAULT_SAVINGS_PLAN_DISCOUNT = 0.36;

  /**
   * GB-seconds standard Lambda bills: `requests x durationMs / 1000 x memoryMb / 1024`.
   * @param requests requests per month (>= 0)
   * @param averageDurationMs average duration in ms (> 0, at most 900,000)
   * @param memoryMb memory in MB (128..10240)
   */
  public static gbSeconds(requests: number, averageDurationMs: number, memoryMb: number): number {
    const where = 'ManagedInstanceCostModel.gbSeconds';
    checkNonNegative(where, 'requests', requests);
    return requests * gbSecondsPerRequest(where, averageDurationMs, memoryMb);
  }

  /**
   * Standard Lambda's monthly duration charge for `gbSeconds`, before any Savings Plan.
   * @param gbSeconds GB-seconds per month (>= 0)
   * @param architecture the function's architecture
   * @param tieredPricing apply the monthly volume tiers
   * @param prices list prices (defaults as documented)
   * @default architecture LambdaCostArchitecture.X86_64, tieredPricing false
   */
  public static standardComputeUsd(
    gbSeconds: number,
    architecture?: LambdaCostArchitecture,
    tieredPricing?: boolean,
    prices?: ManagedInstanceCostPrices,
  ): number {
    const where = 'ManagedInstanceCostModel.standardComputeUsd';
    checkNonNegative(where, 'gbSeconds', gbSeconds);
    const tiers = gbSecondTiers(where, resolvePrices(where, prices), checkArchitecture(where, architecture), tieredPricing ?? false);
    return tieredCost(tiers, gbSeconds);
  }

  /**
   * The monthly cost of standard Lambda, Managed Instances On-Demand and Managed Instances with a
   * Savings Plan for the same traffic, the cheapest, and the savings against standard Lambda.
   * @param props the traffic, the function, the fleet and the prices
   */
  public static compare(props: ManagedInstanceCostProps): ManagedInstanceCostComparison {
    const where = 'ManagedInstanceCostModel.compare';
    checkProps(where, props, 'requestsPerMonth, averageDurationMs, memoryMb, instanceHourlyUsd and instanceCount');
    checkNonNegative(where, 'requestsPerMonth', props.requestsPerMonth);
    const w = resolveWorkload(where, props);
    const f = resolveFleet(where, props, w.prices);

    const gbSeconds = props.requestsPerMonth * w.gbSecondsPerRequest;
    const requestsUsd = perMillion(props.requestsPerMonth, w.prices.requestsPerMillionUsd);
    const standardCompute = tieredCost(w.tiers, gbSeconds) * (1 - w.lambdaSavingsPlanDiscount);

    const standard = { total: standardCompute + requestsUsd };
    const option = (
      kind: ManagedInstanceCostOptionKind, description: string, computeUsd: number, managementFeeUsd: number,
    ): ManagedInstanceCostOption => {
      const totalUsd = computeUsd + managementFeeUsd + requestsUsd;
      const savingsVsStandardUsd = kind === ManagedInstanceCostOptionKind.STANDARD_LAMBDA ? 0 : standard.total - totalUsd;
      return {
        kind,
        description,
        computeUsd,
        managementFeeUsd,
        requestsUsd,
        totalUsd,
        savingsVsStandardUsd,
        savingsVsStandardPercent: percentOf(savingsVsStandardUsd, standard.total),
      };
    };

    const standardLambda = option(ManagedInstanceCostOptionKind.STANDARD_LAMBDA,
      `standard Lambda (${w.architecture}): ${gbSeconds} GB-seconds${w.tieredPricing ? ' (tiered)' : ''}` +
      `${w.lambdaSavingsPlanDiscount > 0 ? `, ${w.lambdaSavingsPlanDiscount * 100}% Savings Plan discount on duration` : ''}, plus requests`,
      standardCompute, 0);
    const fleet = `${props.instanceCount} instance(s) x $${props.instanceHourlyUsd}/h x ${f.hoursPerMonth} h`;
    const managedOnDemand = option(ManagedInstanceCostOptionKind.MANAGED_ON_DEMAND,
      `Lambda Managed Instances, On-Demand: ${fleet}, plus a ${w.prices.managementFeeFraction * 100}% management fee, plus requests`,
      f.onDemandUsd, f.managementFeeUsd);
    const managedSavingsPlan = option(ManagedInstanceCostOptionKind.MANAGED_SAVINGS_PLAN,
      `Lambda Managed Instances with a Savings Plan: ${fleet} less ${f.savingsPlanDiscount * 100}%, ` +
      'plus the management fee on the On-Demand price, plus requests',
      f.onDemandUsd * (1 - f.savingsPlanDiscount), f.managementFeeUsd);

    // strict `<` keeps the earlier (less committed) option on a tie
    const cheapest = [managedOnDemand, managedSavingsPlan].reduce((best, o) => (o.totalUsd < best.totalUsd ? o : best), standardLambda);
    return {
      gbSecondsPerMonth: gbSeconds,
      averageRequestsPerSecond: props.requestsPerMonth / (f.hoursPerMonth * 3600),
      standardLambda,
      managedOnDemand,
      managedSavingsPlan,
      cheapest,
      savingsUsd: cheapest.savingsVsStandardUsd,
      savingsPercent: cheapest.savingsVsStandardPercent,
    };
  }

  /**
   * The monthly request count (and average requests per second) above which Managed Instances cost
   * less than standard Lambda, On-Demand and with a Savings Plan. Closed form: the request charge
   * is the same on both, so the point is where standard Lambda's duration charge equals the fleet's
   * fixed cost: `requests = fixed / (GB-seconds per request x price per GB-second x (1 - lambdaSavingsPlanDiscount))`,
   * solved tier by tier when `tieredPricing` is on.
   * @param props the function, the fleet and the prices
   */
  public static breakEven(props: ManagedInstanceBreakEvenProps): ManagedInstanceBreakEven {
    const where = 'ManagedInstanceCostModel.breakEven';
    checkProps(where, props, 'averageDurationMs, memoryMb, instanceHourlyUsd and instanceCount');
    const w = resolveWorkload(where, props);
    const f = resolveFleet(where, props, w.prices);
    const maxRps = props.maxRequestsPerSecond;
    if (maxRps !== undefined) checkNonNegative(where, 'maxRequestsPerSecond', maxRps);

    const point = (fixedMonthlyUsd: number, what: string): ManagedInstanceBreakEvenPoint => {
      // duration charge (after the Lambda Savings Plan) that equals the fixed cost
      const durationUsd = fixedMonthlyUsd / (1 - w.lambdaSavingsPlanDiscount);
      const gbSeconds = invertTieredCost(w.tiers, durationUsd);
      if (gbSeconds === undefined) {
        return {
          breaksEven: false,
          requestsPerMonth: 0,
          requestsPerSecond: 0,
          fixedMonthlyUsd,
          summary: `${what} never costs less than standard Lambda: standard Lambda's duration charge never reaches ` +
            `the fleet's fixed $${fixedMonthlyUsd.toFixed(2)} a month (a zero price per GB-second)`,
        };
      }
      const requestsPerMonth = gbSeconds / w.gbSecondsPerRequest;
      const requestsPerSecond = requestsPerMonth / (f.hoursPerMonth * 3600);
      if (maxRps !== undefined && requestsPerSecond > maxRps) {
        return {
          breaksEven: false,
          requestsPerMonth: 0,
          requestsPerSecond: 0,
          fixedMonthlyUsd,
          summary: `${what} would cost less than standard Lambda above ${requestsPerSecond.toFixed(2)} requests/s, ` +
            `more than the fleet's ${maxRps} requests/s (maxRequestsPerSecond): a larger fleet moves the point`,
        };
      }
      return {
        breaksEven: true,
        requestsPerMonth,
        requestsPerSecond,
        fixedMonthlyUsd,
        summary: `${what} costs less than standard Lambda above ${Math.ceil(requestsPerMonth)} requests a month ` +
          `(${requestsPerSecond.toFixed(2)} requests/s on average); the fleet's fixed cost is $${fixedMonthlyUsd.toFixed(2)} a month`,
      };
    };

    return {
      gbSecondsPerRequest: w.gbSecondsPerRequest,
      onDemand: point(f.onDemandUsd + f.managementFeeUsd, 'Managed Instances On-Demand'),
      savingsPlan: point(f.onDemandUsd * (1 - f.savingsPlanDiscount) + f.managementFeeUsd, 'Managed Instances with a Savings Plan'),
    };
  }

  private constructor() {}
}

type ResolvedPrices = Required<ManagedInstanceCostPrices>;

/** One price tier: GB-seconds from `start` (inclusive) at `price` each, up to the next tier's start. */
interface Tier {
  readonly start: number;
  readonly price: number;
}

interface ResolvedWorkload {
  readonly prices: ResolvedPrices;
  readonly architecture: LambdaCostArchitecture;
  readonly tieredPricing: boolean;
  readonly tiers: Tier[];
  readonly gbSecondsPerRequest: number;
  readonly lambdaSavingsPlanDiscount: number;
}

interface ResolvedFleet {
  readonly hoursPerMonth: number;
  readonly savingsPlanDiscount: number;
  /** Instance-hours at the On-Demand price. */
  readonly onDemandUsd: number;
  /** The management fee: a fraction of the On-Demand instance cost, whatever discount applies. */
  readonly managementFeeUsd: number;
}

function checkProps(where: string, props: unknown, required: string): void {
  if (props === undefined || props === null || typeof props !== 'object') {
    throwArgumentError(where, 'props', `must be an object with ${required}`);
  }
}

function resolveWorkload(where: string, props: ManagedInstanceCostWorkload & { prices?: ManagedInstanceCostPrices }): ResolvedWorkload {
  const prices = resolvePrices(where, props.prices);
  const architecture = checkArchitecture(where, props.architecture);
  if (props.tieredPricing !== undefined && typeof props.tieredPricing !== 'boolean') {
    throwArgumentError(where, 'tieredPricing', `must be true or false, got ${String(props.tieredPricing)}`);
  }
  const tieredPricing = props.tieredPricing ?? false;
  const lambdaSavingsPlanDiscount = props.lambdaSavingsPlanDiscount ?? 0;
  checkDiscount(where, 'lambdaSavingsPlanDiscount', lambdaSavingsPlanDiscount);
  return {
    prices,
    architecture,
    tieredPricing,
    tiers: gbSecondTiers(where, prices, architecture, tieredPricing),
    gbSecondsPerRequest: gbSecondsPerRequest(where, props.averageDurationMs, props.memoryMb),
    lambdaSavingsPlanDiscount,
  };
}

function resolveFleet(where: string, props: ManagedInstanceCostFleet, prices: ResolvedPrices): ResolvedFleet {
  checkNonNegative(where, 'instanceHourlyUsd', props.instanceHourlyUsd);
  checkPositive(where, 'instanceCount', props.instanceCount);
  const hoursPerMonth = props.hoursPerMonth ?? ManagedInstanceCostModel.DEFAULT_HOURS_PER_MONTH;
  checkNumber(where, 'hoursPerMonth', hoursPerMonth);
  if (hoursPerMonth <= 0 || hoursPerMonth > 744) {
    throwArgumentError(where, 'hoursPerMonth', `must be in (0, 744] (a month has at most 744 hours), got ${hoursPerMonth}`);
  }
  const savingsPlanDiscount = props.savingsPlanDiscount ?? ManagedInstanceCostModel.DEFAULT_SAVINGS_PLAN_DISCOUNT;
  checkDiscount(where, 'savingsPlanDiscount', savingsPlanDiscount);
  const onDemandUsd = props.instanceCount * props.instanceHourlyUsd * hoursPerMonth;
  return { hoursPerMonth, savingsPlanDiscount, onDemandUsd, managementFeeUsd: onDemandUsd * prices.managementFeeFraction };
}

function resolvePrices(where: string, prices: ManagedInstanceCostPrices | undefined): ResolvedPrices {
  if (prices !== undefined && (prices === null || typeof prices !== 'object')) {
    throwArgumentError(where, 'prices', 'must be an object of list prices (see ManagedInstanceCostPrices)');
  }
  const resolved = { ...DEFAULT_PRICES, ...definedOnly(prices ?? {}) } as ResolvedPrices;
  for (const [name, value] of Object.entries(resolved)) {
    checkNonNegative(where, `prices.${name}`, value);
  }
  const fee = resolved.managementFeeFraction;
  if (fee > 1) throwArgumentError(where, 'prices.managementFeeFraction', `must be in 0..1 (a fraction, not a percentage), got ${fee}`);
  return resolved;
}

function definedOnly(prices: ManagedInstanceCostPrices): ManagedInstanceCostPrices {
  return Object.fromEntries(Object.entries(prices).filter(([, v]) => v !== undefined)) as ManagedInstanceCostPrices;
}

function checkArchitecture(where: string, architecture: LambdaCostArchitecture | undefined): LambdaCostArchitecture {
  const resolved = architecture ?? LambdaCostArchitecture.X86_64;
  if (resolved !== LambdaCostArchitecture.X86_64 && resolved !== LambdaCostArchitecture.ARM_64) {
    throwArgumentError(where, 'architecture', `must be LambdaCostArchitecture.X86_64 or LambdaCostArchitecture.ARM_64, got ${String(architecture)}`);
  }
  return resolved;
}

function gbSecondTiers(where: string, p: ResolvedPrices, architecture: LambdaCostArchitecture, tiered: boolean): Tier[] {
  const arm = architecture === LambdaCostArchitecture.ARM_64;
  const first = arm ? p.arm64GbSecondUsd : p.x86GbSecondUsd;
  if (!tiered) return [{ start: 0, price: first }];
  const starts = arm ? ARM64_TIER_STARTS : X86_TIER_STARTS;
  const names = arm ? ['arm64GbSecondUsd', 'arm64GbSecondTier2Usd', 'arm64GbSecondTier3Usd'] : ['x86GbSecondUsd', 'x86GbSecondTier2Usd', 'x86GbSecondTier3Usd'];
  const tierPrices = arm ? [first, p.arm64GbSecondTier2Usd, p.arm64GbSecondTier3Usd] : [first, p.x86GbSecondTier2Usd, p.x86GbSecondTier3Usd];
  for (let i = 1; i < tierPrices.length; i++) {
    if (tierPrices[i] > tierPrices[i - 1]) {
      throwArgumentError(where, `prices.${names[i]}`,
        `must be at most prices.${names[i - 1]} (${tierPrices[i - 1]}): higher tiers are cheaper, got ${tierPrices[i]}`);
    }
  }
  return [{ start: 0, price: first }, { start: starts[0], price: tierPrices[1] }, { start: starts[1], price: tierPrices[2] }];
}

function tieredCost(tiers: Tier[], gbSeconds: number): number {
  let cost = 0;
  for (let i = 0; i < tiers.length; i++) {
    const end = i + 1 < tiers.length ? tiers[i + 1].start : Infinity;
    if (gbSeconds <= tiers[i].start) break;
    cost += (Math.min(gbSeconds, end) - tiers[i].start) * tiers[i].price;
  }
  return cost;
}

/** The GB-seconds whose tiered cost is `usd`, or undefined when no amount costs that much. */
function invertTieredCost(tiers: Tier[], usd: number): number | undefined {
  if (usd <= 0) return 0;
  let spent = 0;
  for (let i = 0; i < tiers.length; i++) {
    const end = i + 1 < tiers.length ? tiers[i + 1].start : Infinity;
    const { start, price } = tiers[i];
    const tierCost = (end - start) * price; // Infinity (or NaN for 0 x Infinity) in the last tier
    if (price > 0 && (end === Infinity || spent + tierCost >= usd)) {
      return start + (usd - spent) / price;
    }
    if (end !== Infinity) spent += tierCost;
  }
  return undefined;
}

function gbSecondsPerRequest(where: string, averageDurationMs: number, memoryMb: number): number {
  checkNumber(where, 'averageDurationMs', averageDurationMs);
  if (averageDurationMs <= 0 || averageDurationMs > 900_000) {
    throwArgumentError(where, 'averageDurationMs', `must be in (0, 900000] ms (Lambda's 15-minute limit), got ${averageDurationMs}`);
  }
  checkNumber(where, 'memoryMb', memoryMb);
  if (memoryMb < 128 || memoryMb > 10_240) {
    throwArgumentError(where, 'memoryMb', `must be in 128..10240 MB (standard Lambda's memory range), got ${memoryMb}`);
  }
  return (averageDurationMs / 1000) * (memoryMb / 1024);
}

function perMillion(units: number, pricePerMillion: number): number {
  return (units / 1_000_000) * pricePerMillion;
}

function percentOf(part: number, whole: number): number {
  return whole > 0 ? (part / whole) * 100 : 0;
}

function checkDiscount(where: string, argument: string, value: number): void {
  checkNumber(where, argument, value);
  if (value < 0 || value >= 1) {
    throwArgumentError(where, argument, `must be in [0, 1) (a fraction, not a percentage: 0.36 for 36% off), got ${value}`);
  }
}
