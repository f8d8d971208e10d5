/**
 * Reading a handler's configuration from the environment the construct set, checked at cold
 * start: a missing or empty variable is an error that names it.
 */

/**
 * The trimmed value of a required variable.
 * @param env the environment (process.env)
 * @param name the variable
 * @param options.allowEmpty accept a variable that is set but empty (an optional feature left off)
 */
export function requireEnv(env: Record<string, string | undefined>, name: string, options: { allowEmpty?: boolean } = {}): string {
  const value = env[name];
  if (value === undefined || (!options.allowEmpty && value.trim() === '')) {
    throw new Error(`Environment variable ${name} is required${options.allowEmpty ? '' : ' and must not be empty'}`);
  }
  return value.trim();
}
