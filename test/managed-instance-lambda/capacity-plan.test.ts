/** The pure capacity arithmetic and the runtime table of Lambda Managed Instances. */
import { checkCapacity, instanceShape, vCpuPerEnvironment } from '../../src/managed-instance-lambda/capacity-plan';
import { defaultMaxConcurrency, runtimeSupport } from '../../src/managed-instance-lambda/runtime-support';

describe('instanceShape', () => {
  test.each([
    ['m7g.large', 2, 8, true, 'm'],
    ['m7g.xlarge', 4, 16, true, 'm'],
    ['c7g.2xlarge', 8, 16, true, 'c'],
    ['r8gd.4xlarge', 16, 128, true, 'r'],
    ['c6gn.xlarge', 4, 8, true, 'c'],
    ['m5.large', 2, 8, false, 'm'],
    ['c7i.12xlarge', 48, 96, false, 'c'],
    ['r6a.medium', 1, 8, false, 'r'],
  ])('%s: %d vCPU, %d GiB, graviton %s, family %s', (name, vCpu, memoryGiB, graviton, family) => {
    expect(instanceShape(name)).toEqual({ vCpu, memoryGiB, graviton, family });
  });

  test('families outside C/M/R have no memory figure; odd names have no shape', () => {
    expect(instanceShape('t4g.large')).toEqual({ vCpu: 2, memoryGiB: undefined, graviton: true, family: 't' });
    expect(instanceShape('m7g.metal')).toBeUndefined();
    expect(instanceShape('u-6tb1.112xlarge')).toBeUndefined();
    expect(instanceShape('bogus')).toBeUndefined();
  });
});

describe('checkCapacity', () => {
  const fn = (owner: string, v: number, min: number, max: number) => ({
    owner, vCpuPerEnvironment: v, minExecutionEnvironments: min, maxExecutionEnvironments: max,
  });

  test('the issue\'s router fits a 64 vCPU pool: 20 x 1 vCPU peak, 3 minimum', () => {
    const f = checkCapacity(64, [fn('Router', 1, 3, 20)]);
    expect(f).toMatchObject({ peakVCpu: 20, minimumVCpu: 3, deployPeakVCpu: 23, errors: [], warnings: [] });
  });

  test('peak above the ceiling is an error naming each function, the sum and the remedy', () => {
    const f = checkCapacity(64, [fn('A', 2, 3, 20), fn('B', 1, 3, 30)]);
    expect(f.peakVCpu).toBe(70);
    expect(f.errors).toHaveLength(1);
    expect(f.errors[0]).toMatch(/70 vCPUs.*above maxVCpu 64.*A: 20 x 2 vCPU \(minimum 3\); B: 30 x 1 vCPU.*raise maxVCpu or lower maxExecutionEnvironments/);
  });

  test('exactly at the ceiling passes; the deploy overlap above it warns', () => {
    const f = checkCapacity(64, [fn('A', 2, 2, 32)]);
    expect(f.errors).toEqual([]);
    expect(f.deployPeakVCpu).toBe(68);
    expect(f.warnings.join()).toMatch(/during a deploy.*68 vCPUs, above maxVCpu 64/);
  });

  test('minimum environments over half the pool warn', () => {
    const f = checkCapacity(64, [fn('A', 4, 9, 9)]);
    expect(f.minimumVCpu).toBe(36);
    expect(f.warnings.join()).toMatch(/minimum execution environments alone take 36 of the pool's 64 vCPUs/);
    expect(checkCapacity(64, [fn('A', 4, 8, 8)]).warnings.filter((w) => /alone take/.test(w))).toEqual([]);
  });

  test('vCPUs per environment: memory GiB / GiB per vCPU', () => {
    expect(vCpuPerEnvironment(2048, 2)).toBe(1);
    expect(vCpuPerEnvironment(8192, 2)).toBe(4);
    expect(vCpuPerEnvironment(8192, 8)).toBe(1);
    expect(vCpuPerEnvironment(3072, 2)).toBe(1.5);
  });
});

describe('runtimeSupport', () => {
  test.each([
    ['nodejs22.x', true], ['nodejs24.x', true], ['nodejs20.x', false], ['nodejs18.x', false],
    ['python3.13', true], ['python3.14', true], ['python3.12', false],
    ['java21', true], ['java25', true], ['java17', false],
    ['dotnet8', true], ['dotnet10', true], ['dotnet6', false],
    ['provided.al2023', true], ['provided.al2', false], ['ruby3.4', false], ['go1.x', false],
  ])('%s supported: %s', (name, supported) => {
    expect(runtimeSupport(name).supported).toBe(supported);
  });

  test('default concurrency: the per-vCPU figure times vCPUs, within 1..1600; none for the OS-only runtime', () => {
    expect(defaultMaxConcurrency('nodejs24.x', 1)).toBe(64);
    expect(defaultMaxConcurrency('nodejs24.x', 4)).toBe(256);
    expect(defaultMaxConcurrency('python3.13', 2)).toBe(32);
    expect(defaultMaxConcurrency('java21', 1)).toBe(32);
    expect(defaultMaxConcurrency('dotnet8', 1.5)).toBe(48);
    expect(defaultMaxConcurrency('nodejs24.x', 64)).toBe(1600);
    expect(defaultMaxConcurrency('provided.al2023', 1)).toBeUndefined();
  });
});
