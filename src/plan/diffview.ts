/** Dry-run rendering of file changes as unified diffs (pure). */
import { createTwoFilesPatch } from 'diff';

export function fileDiff(
  path: string,
  before: string | undefined,
  after: string,
  secret: boolean,
): string {
  if (secret) return `(${path}: secret content, not shown)`;
  const patch = createTwoFilesPatch(
    before === undefined ? '/dev/null' : `a${path}`,
    `b${path}`,
    before ?? '',
    after,
    undefined,
    undefined,
    { context: 3 },
  );
  // Drop the "====" header line createTwoFilesPatch starts with.
  return patch
    .split('\n')
    .filter((l) => !l.startsWith('====='))
    .join('\n')
    .trimEnd();
}
