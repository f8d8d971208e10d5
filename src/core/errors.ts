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

/**
 * Throws the error of a static factory (`AgentTool.http`, `DecisionCondition.all`...) whose argument
 * is invalid: the same wording as a prop error, with the factory in place of the construct path.
 * @internal
 */
export function throwArgumentError(factory: string, argument: string, message: string): never {
  const err = new Error(`${factory}: invalid argument '${argument}': ${message}`);
  err.name = 'ValidationError';
  throw err;
}

/**
 * Checks that a strategy object (a tool, a source, a target) was made by one of its class's static
 * factories. The classes are sealed: their binding method is internal, so an object built another
 * way (a subclass written in Python or Java, or the base class instantiated directly) cannot be
 * bound, and would otherwise fail later without a construct path.
 * @internal
 */
export function checkFactoryMade(scope: IConstruct, prop: string, value: unknown, className: string, factories: string[]): void {
  if (value && typeof (value as { _bind?: unknown })._bind === 'function') return;
  throwPropError(scope, prop,
    `must be made by one of the ${className} factories (${factories.map((f) => `${className}.${f}()`).join(', ')}); ` +
    `${className} cannot be instantiated directly or subclassed`);
}

/**
 * Checks a static method's numeric argument is a finite number (the cost models' inputs).
 * @internal
 */
export function checkNumber(where: string, argument: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throwArgumentError(where, argument, `must be a finite number, got ${String(value)}`);
  }
}

/** Checks a numeric argument is finite and >= 0. @internal */
export function checkNonNegative(where: string, argument: string, value: number): void {
  checkNumber(where, argument, value);
  if (value < 0) throwArgumentError(where, argument, `must be >= 0, got ${value}`);
}

/** Checks a numeric argument is finite and > 0. @internal */
export function checkPositive(where: string, argument: string, value: number): void {
  checkNumber(where, argument, value);
  if (value <= 0) throwArgumentError(where, argument, `must be > 0, got ${value}`);
}
