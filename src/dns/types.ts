/** What Shoestring needs from a DNS provider: the A records it owns, and ACME TXT records. */
export interface DnsProvider {
  readonly name: string;
  /** Current A addresses of a name (empty when none). */
  listA(fqdn: string): Promise<string[]>;
  /** Replaces the A records of a name by exactly these (none = delete). */
  setA(fqdn: string, addresses: readonly string[], ttl: number): Promise<void>;
  /** Adds one TXT value to a name, keeping the others (idempotent). */
  addTxt(fqdn: string, value: string, ttl: number): Promise<void>;
  /** Removes one TXT value from a name, keeping the others (idempotent). */
  removeTxt(fqdn: string, value: string): Promise<void>;
}
