/** POSIX shell single-quoting: the only way values enter remote scripts. */
export function q(value: string | number): string {
  const s = String(value);
  if (s !== '' && /^[A-Za-z0-9_\-./:=@%+,]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Quotes each argument and joins them into one command line. */
export function cmd(...args: (string | number)[]): string {
  return args.map(q).join(' ');
}
