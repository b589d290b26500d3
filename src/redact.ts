/**
 * Secret handling. Every secret value the process learns (from .env, generated passwords,
 * private keys) is registered here; `redact()` replaces each of them in any text before it is
 * printed or logged. zx's own command echo is routed through it too (see cli/main.ts).
 */
const secrets = new Set<string>();
const MIN_SECRET_LENGTH = 4;
export const REDACTED = '[REDACTED]';

/** Registers a value as secret; short values would redact innocent text, so are refused. */
export function registerSecret(value: string): void {
  const v = value.trim();
  if (v.length < MIN_SECRET_LENGTH) return;
  const forms = [v];
  // Also each line of a multi-line secret (a PEM key), so partial output is covered.
  for (const line of v.split('\n')) if (line.trim().length >= 16) forms.push(line.trim());
  for (const form of forms) {
    secrets.add(form);
    // And as it appears inside JSON text (`"` and `\` escaped), for JSON built elsewhere.
    const escaped = JSON.stringify(form).slice(1, -1);
    if (escaped !== form) secrets.add(escaped);
  }
}

export function redact(text: string): string {
  if (secrets.size === 0 || text === '') return text;
  let out = text;
  // Longest first, so a secret containing another is replaced whole.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    if (out.includes(s)) out = out.split(s).join(REDACTED);
  }
  return out;
}

/**
 * JSON text of `value` with every secret replaced in each string *before* escaping (redacting
 * the finished text would miss a secret whose `"` or `\` JSON escaped). Use it for all JSON
 * output.
 */
export function redactedJson(value: unknown, space?: number): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => (typeof v === 'string' ? redact(v) : v),
    space,
  );
}

/** Test helper: forget every registered secret. */
export function clearSecrets(): void {
  secrets.clear();
}

/** A secret value that never prints itself. Use `.reveal()` where the real value is needed. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
    registerSecret(value);
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return REDACTED;
  }
}
