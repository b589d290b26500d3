/** rename-domain's pure part: where a domain occurs as a whole name, and the replaced text. */

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Matches `domain` as a whole DNS name or as the suffix of a subdomain (app1.example.com),
 * never inside a longer label (myexample.com) or a longer name (example.com.au). Case-insensitive.
 */
export function domainPattern(domain: string): RegExp {
  return new RegExp(`(?<![A-Za-z0-9-])${escape(domain)}(?![A-Za-z0-9-]|\\.[A-Za-z0-9])`, 'gi');
}

export function replaceDomain(
  text: string,
  from: string,
  to: string,
): { text: string; count: number } {
  let count = 0;
  const out = text.replace(domainPattern(from), () => {
    count++;
    return to;
  });
  return { text: out, count };
}

/** Text files only: no NUL byte in the first 8 KiB. */
export function isBinary(buffer: Buffer): boolean {
  return buffer.subarray(0, 8192).includes(0);
}
