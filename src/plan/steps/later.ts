/**
 * A file's content made when it is needed. A file that lists every server (a WireGuard file, a
 * vassal) is hundreds of kilobytes per server at hundreds of servers: planning needs only its
 * sha256 (and for a missing file not even that), so the text is made when a change is written
 * or shown, and each time made anew rather than kept.
 */
export interface Later {
  /** The text, made at each call. */
  readonly text: () => string;
  /** sha256(text()) in hex, made from the text's parts when it has some (the same hash). */
  readonly sha256?: () => string;
}
