import { Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * Throws a synth-time validation error that names the construct path and the prop.
 *
 * aws-cdk-lib's own `ValidationError` is internal to it, so every pattern uses this helper.
 * @internal
 */
export function throwPropError(scope: IConstruct, prop: string, message: string): never {
  const err = new Error(`${scope.node.path}: invalid prop '${prop}': ${message}`);
  err.name = 'ValidationError';
  throw err;
}

/**
 * Validates an integer/number prop against an inclusive range. Tokens are skipped (checked at deploy).
 * @internal
 */
export function validateRange(
  scope: IConstruct,
  prop: string,
  value: number | undefined,
  min: number,
  max: number,
  options: { integer?: boolean } = {},
): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (Number.isNaN(value) || value < min || value > max || (options.integer && !Number.isInteger(value))) {
    throwPropError(scope, prop, `must be ${options.integer ? 'an integer ' : ''}in ${min}..${max}, got ${value}`);
  }
}
