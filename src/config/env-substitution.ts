/**
 * `${VAR}` substitution for config string values. Names are uppercase (`[A-Z_][A-Z0-9_]*`);
 * anything else (`${lower}`, `$VAR`, a lone `$`) is left as written. `$${VAR}` is the escape for a
 * literal `${VAR}`.
 */

/** The result of substituting one string. */
export interface SubstitutionResult {
  value: string;
  /** Variables referenced but not set (`undefined` in the environment), in order, without repeats. */
  missing: string[];
}

/** Replaces every `${VAR}` in `input` with `env[VAR]`; never throws. Missing variables become `""`. */
export function substituteEnv(input: string, env: Record<string, string | undefined>): SubstitutionResult {
  const missing: string[] = [];
  if (!input.includes('${')) return { value: input, missing };
  // A fresh regex per call: a shared /g regex carries `lastIndex` state between callers.
  const value = input.replace(/\$(\$?)\{([A-Z_][A-Z0-9_]*)\}/g, (_match, escaped: string, name: string) => {
    if (escaped === '$') return `\${${name}}`;
    const replacement = env[name];
    if (replacement === undefined) {
      if (!missing.includes(name)) missing.push(name);
      return '';
    }
    return replacement;
  });
  return { value, missing };
}
