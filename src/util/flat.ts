/**
 * A text as one flat string. V8 keeps a text made by concatenation (a template literal, `+`, a
 * template's output) as a tree of its pieces until something reads it whole; a text kept long
 * and read often (by hundreds of servers' files) is cheaper to hold and to read flat. Converting
 * it to a number reads it whole, which makes V8 flatten it in place (the `flatstr` package's
 * trick); the number is not used.
 */
export function flat(text: string): string {
  Number(text);
  return text;
}
