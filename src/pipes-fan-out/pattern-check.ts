/**
 * The one place the construct calls the event-pattern matcher (event-pattern.ts).
 * @internal
 */
import { validateEventPattern } from './event-pattern';
import { throwArgumentError } from '../core/errors';

/** The dialect a pattern is checked in: a pipe filter, an SNS filter policy, an event-bus rule. @internal */
export type PatternMode = 'pipes' | 'sns' | 'eventbridge';

/** The problems of a pattern in a dialect, as messages naming the field path and operator (none: valid). @internal */
export function patternProblems(pattern: Record<string, unknown>, mode: PatternMode): string[] {
  return validateEventPattern(pattern, mode);
}

/** Largest filter pattern Pipes accept, in characters (the API's `Filter.Pattern` length). @internal */
export const MAX_PATTERN_LENGTH = 4096;

/** Checks one EventBridge pattern (an object, JSON-serializable, valid in `mode` when given); returns its JSON. @internal */
export function checkPattern(factory: string, argument: string, pattern: unknown, mode?: PatternMode): string {
  if (pattern === null || typeof pattern !== 'object' || Array.isArray(pattern)) {
    throwArgumentError(factory, argument, `must be an event pattern object, got ${Array.isArray(pattern) ? 'an array' : String(pattern)}`);
  }
  let json: string;
  try {
    json = JSON.stringify(pattern);
  } catch (e) {
    throwArgumentError(factory, argument, `is not JSON-serializable: ${(e as Error).message}`);
  }
  if (json === '{}') throwArgumentError(factory, argument, 'is empty (an empty pattern would match every event; leave the filter out instead)');
  const problems = mode ? patternProblems(pattern as Record<string, unknown>, mode) : [];
  if (problems.length > 0) throwArgumentError(factory, argument, problems.join('; '));
  return json;
}

