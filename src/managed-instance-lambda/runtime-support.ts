/**
 * Which Lambda runtimes run on Lambda Managed Instances, and each runtime family's default
 * concurrency per vCPU. Pure.
 *
 * Sources: Lambda developer guide, "Lambda Managed Instances runtimes"
 * (lambda-managed-instances-runtimes.html): Java 21+, Python 3.13+, Node.js 22+, .NET 8+, and the
 * OS-only runtime provided.al2023 (Rust and other compiled languages). Per-vCPU defaults of
 * PerExecutionEnvironmentMaxConcurrency: Node.js 64 (lambda-managed-instances-nodejs-runtime.html),
 * Python 16 (lambda-managed-instances-python-runtime.html), Java and .NET 32 (their runtime pages, as
 * summarised by secondary sources; not re-read here).
 */

/** What the library knows of a runtime on Lambda Managed Instances. @internal */
export interface RuntimeSupport {
  /** Supported on Lambda Managed Instances. */
  readonly supported: boolean;
  /** The family's minimum, for the message. */
  readonly requirement: string;
  /** The service's default concurrency per vCPU; undefined for the OS-only runtime (the runtime decides). */
  readonly concurrencyPerVCpu?: number;
}

const RULES: Array<{ pattern: RegExp; min: number; requirement: string; perVCpu?: number }> = [
  { pattern: /^nodejs(\d+)\.x$/, min: 22, requirement: 'Node.js 22 or later', perVCpu: 64 },
  { pattern: /^python3\.(\d+)$/, min: 13, requirement: 'Python 3.13 or later', perVCpu: 16 },
  { pattern: /^java(\d+)$/, min: 21, requirement: 'Java 21 or later', perVCpu: 32 },
  { pattern: /^dotnet(\d+)$/, min: 8, requirement: '.NET 8 or later', perVCpu: 32 },
];

/** Looks a runtime name (`nodejs24.x`, `python3.13`, `java21`, `dotnet8`, `provided.al2023`) up. @internal */
export function runtimeSupport(runtimeName: string): RuntimeSupport {
  for (const rule of RULES) {
    const m = rule.pattern.exec(runtimeName);
    if (m) return { supported: Number(m[1]) >= rule.min, requirement: rule.requirement, concurrencyPerVCpu: rule.perVCpu };
  }
  const os = /^provided\.al(\d+)$/.exec(runtimeName);
  if (os) return { supported: Number(os[1]) >= 2023, requirement: 'the OS-only runtime provided.al2023 or later' };
  return {
    supported: false,
    requirement: 'Node.js 22+, Python 3.13+, Java 21+, .NET 8+ or the OS-only runtime provided.al2023+',
  };
}

/**
 * The explicit default of PerExecutionEnvironmentMaxConcurrency: the runtime family's documented
 * per-vCPU default times the environment's vCPUs, at least 1 and at most 1,600 (the API's range).
 * Undefined when the runtime has no documented default (the service's own applies).
 * @internal
 */
export function defaultMaxConcurrency(runtimeName: string, vCpuPerEnvironment: number): number | undefined {
  const perVCpu = runtimeSupport(runtimeName).concurrencyPerVCpu;
  if (perVCpu === undefined) return undefined;
  return Math.min(1600, Math.max(1, Math.floor(perVCpu * vCpuPerEnvironment)));
}
