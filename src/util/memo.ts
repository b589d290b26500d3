/**
 * A pure function of a text, remembered for the long texts seen last. Provision hashes and
 * encodes the same file for every server (the agent's bundle, over a megabyte), and with
 * hundreds of servers that work, done again per server, was most of the planning. Short texts
 * are not kept: computing them again costs less than keeping them (and a map of many long
 * texts of the same length is slow to look up in).
 */
export function rememberLong(
  fn: (text: string) => string,
  options: { readonly minLength: number; readonly entries: number },
): (text: string) => string {
  const kept = new Map<string, string>();
  return (text) => {
    if (text.length < options.minLength) return fn(text);
    const known = kept.get(text);
    if (known !== undefined) {
      // The most recently used last: the first is the one to forget.
      kept.delete(text);
      kept.set(text, known);
      return known;
    }
    const value = fn(text);
    kept.set(text, value);
    if (kept.size > options.entries) kept.delete(kept.keys().next().value as string);
    return value;
  };
}
