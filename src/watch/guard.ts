/**
 * Before connecting to an address in the lab's subnet, make sure the lab bridge carries it
 * (without the bridge, such an address would be routed off this machine).
 */
import { assertBridge } from '../lab/network.ts';
import { DEFAULT_SUBNET } from '../lab/paths.ts';
import { loadState } from '../lab/state.ts';
import { contains, parseSubnet } from '../lab/subnet.ts';

/**
 * One check per address, shared by every caller, also those that ask while it is still running
 * (a request loop asks many times a second; on a busy machine each `ip` it spawns is slower
 * than the next request, and checks that were not shared piled up by the hundred).
 */
const checks = new Map<string, Promise<void>>();

export function guardAddress(address: string): Promise<void> {
  let check = checks.get(address);
  if (!check) {
    check = (async () => {
      const subnets = [DEFAULT_SUBNET, loadState()?.subnet].filter((s): s is string => !!s);
      if (subnets.some((s) => contains(parseSubnet(s), address))) await assertBridge(address);
    })();
    checks.set(address, check);
    // A failed check is not kept: the next caller checks again (the bridge may be back).
    check.catch(() => checks.delete(address));
  }
  return check;
}
