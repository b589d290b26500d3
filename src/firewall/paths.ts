/** Where the firewall lives on a server, and the timing of a try (one place for both). */

/** Our one nftables table (other tools, fail2ban among them, keep their own tables). */
export const TABLE = 'inet shoestring';
/** The ruleset provision writes; loaded by `shoestring-firewall try`. */
export const RULESET = '/etc/shoestring/firewall.nft';
/** The root-only helper: boot, try, confirm, rollback, status. */
export const HELPER = '/usr/local/sbin/shoestring-firewall';
export const SERVICE = 'shoestring-firewall';
export const UNIT_FILE = `/etc/systemd/system/${SERVICE}.service`;
/** The transient timer (and its service) a try arms with systemd-run. */
export const ROLLBACK_UNIT = 'shoestring-firewall-rollback';
/** confirmed.nft, the ruleset being tried, rejected.nft, the markers. */
export const STATE_DIR = '/var/lib/shoestring/firewall';
export const REJECTED = `${STATE_DIR}/rejected.nft`;
export const JAIL = '/etc/fail2ban/jail.d/shoestring.conf';

/**
 * The timing of a try. A new ruleset is rolled back ROLLBACK_SECONDS after it was loaded unless
 * `confirm` ran first, and the confirm gate runs `confirm` over a new SSH connection each time:
 * - SSH still open: the first new connection (about a second) confirms, far within the 20 s;
 *   even a slow login leaves room for four attempts of CONNECT_TIMEOUT before the rollback.
 * - New connections cut: each attempt fails after CONNECT_TIMEOUT; at 20 s (the timer is armed
 *   with a 1 s accuracy) the previous ruleset is back, and the next attempt, begun by 24 s at
 *   the latest, logs in and reads `rolled-back`. GATE_SECONDS leaves some 20 s beyond that for
 *   a slow login or sudo, so provision reports the rollback itself, not a timeout.
 * A lockout therefore lasts 20 s, and a good ruleset costs one new connection.
 */
export const ROLLBACK_SECONDS = 20;
export const CONNECT_TIMEOUT = 4;
export const GATE_SECONDS = 45;
