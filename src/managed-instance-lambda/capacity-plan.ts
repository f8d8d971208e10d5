/**
 * The capacity arithmetic of a Lambda Managed Instances pool, pure: what one execution environment
 * takes, whether it fits an instance type of the pool, and whether the functions attached to the pool
 * fit its vCPU ceiling. Used by ManagedCapacityPool's synth-time check and by ManagedInstanceLambda.
 */

/** What one function attached to a pool may take (the public shape is ExecutionEnvironmentFootprint). @internal */
export interface Footprint {
  /** Who takes it (the function's construct path), for the messages. */
  readonly owner: string;
  /** vCPUs of one execution environment: memory (GiB) divided by the memory per vCPU. */
  readonly vCpuPerEnvironment: number;
  /** Execution environments the published version keeps running. */
  readonly minExecutionEnvironments: number;
  /** The most execution environments the published version may run. */
  readonly maxExecutionEnvironments: number;
}

/** What the capacity check found. @internal */
export interface CapacityFindings {
  /** The most vCPUs the attached functions may take at once (every function at its maximum). */
  readonly peakVCpu: number;
  /** vCPUs the minimum environments keep busy. */
  readonly minimumVCpu: number;
  /** Peak plus a new version of every function starting its minimum during a deploy. */
  readonly deployPeakVCpu: number;
  readonly errors: string[];
  readonly warnings: string[];
}

/** vCPUs of one execution environment. @internal */
export function vCpuPerEnvironment(memorySizeMiB: number, memoryGiBPerVCpu: number): number {
  return memorySizeMiB / 1024 / memoryGiBPerVCpu;
}

const SIZE = /^([a-z]+)(\d+)([a-z-]*)\.(\d*)(x?large|medium|small|micro|nano|metal[a-z0-9-]*)$/;

/** The size of an EC2 instance type read from its name, when the name follows the usual scheme. @internal */
export interface InstanceShape {
  readonly vCpu: number;
  /** GiB of memory, for the C (2 per vCPU), M (4) and R (8) families; undefined for others. */
  readonly memoryGiB?: number;
  /** True when the generation letter marks a Graviton (arm64) type: m7g, c6gn, r8gd... */
  readonly graviton: boolean;
  readonly family: string;
}

/**
 * Reads vCPUs (large 2, xlarge 4, Nxlarge 4N, medium 1) and, for the C/M/R families, memory from an
 * instance type name. Undefined for names outside the scheme (metal, unusual families).
 * @internal
 */
export function instanceShape(instanceType: string): InstanceShape | undefined {
  const m = SIZE.exec(instanceType);
  if (!m) return undefined;
  const [, family, , attributes, multiplier, size] = m;
  let vCpu: number;
  if (size === 'large') vCpu = 2;
  else if (size === 'xlarge') vCpu = 4 * (multiplier ? Number(multiplier) : 1);
  else if (size === 'medium') vCpu = 1;
  else return undefined;
  if (size === 'large' && multiplier) return undefined;
  const perVCpu: Record<string, number> = { c: 2, m: 4, r: 8 };
  return {
    vCpu,
    memoryGiB: perVCpu[family] !== undefined ? perVCpu[family] * vCpu : undefined,
    graviton: attributes.startsWith('g'),
    family,
  };
}

/** Checks the attached functions against the pool's ceiling. @internal */
export function checkCapacity(maxVCpu: number, footprints: Footprint[]): CapacityFindings {
  const round = (n: number) => Math.round(n * 100) / 100;
  const peak = round(footprints.reduce((s, f) => s + f.maxExecutionEnvironments * f.vCpuPerEnvironment, 0));
  const minimum = round(footprints.reduce((s, f) => s + f.minExecutionEnvironments * f.vCpuPerEnvironment, 0));
  const deployPeak = round(peak + minimum);
  const detail = footprints
    .map((f) => `${f.owner}: ${f.maxExecutionEnvironments} x ${round(f.vCpuPerEnvironment)} vCPU (minimum ${f.minExecutionEnvironments})`)
    .join('; ');
  const errors: string[] = [];
  const warnings: string[] = [];
  if (peak > maxVCpu) {
    errors.push(`the attached functions may run ${peak} vCPUs at their maximum execution environments, above maxVCpu ${maxVCpu} `
      + `(${detail}). At the ceiling Lambda fails new versions at deploy time: raise maxVCpu or lower maxExecutionEnvironments.`);
  } else if (deployPeak > maxVCpu) {
    warnings.push('during a deploy a new version starts its minimum execution environments while the old one may still run its maximum: '
      + `${deployPeak} vCPUs, above maxVCpu ${maxVCpu} (${detail}). A deploy at peak load may fail; raise maxVCpu for headroom.`);
  }
  if (minimum > maxVCpu / 2) {
    warnings.push(`the minimum execution environments alone take ${minimum} of the pool's ${maxVCpu} vCPUs (more than half), `
      + `leaving little room to scale (${detail}).`);
  }
  return { peakVCpu: peak, minimumVCpu: minimum, deployPeakVCpu: deployPeak, errors, warnings };
}
