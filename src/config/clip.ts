/**
 * Input text quoted back in error messages is cut to a readable length (a 10 000-character
 * garbage line would otherwise flood the terminal), and control characters are shown escaped
 * (`\n`), so one problem stays one line. Every config parser (servers.txt, .env, apps/) quotes
 * user text through `clip`.
 */
export const CLIP_LENGTH = 80;

/** `text` with control characters escaped; its first `max - 1` characters and `…` when longer. */
export function clip(text: string, max = CLIP_LENGTH): string {
  const chars = [...text.replace(/\p{Cc}/gu, (c) => JSON.stringify(c).slice(1, -1))];
  return chars.length <= max ? chars.join('') : `${chars.slice(0, max - 1).join('')}…`;
}
