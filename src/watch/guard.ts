/**
 * Before connecting to an address in the lab's subnet, make sure the lab bridge carries it
 * (without the bridge, such an address would be routed off this machine).
 */
import { assertBridge } from '../lab/network.ts';
import { DEFAULT_SUBNET } from '../lab/paths.ts';
import { loadState } from '../lab/state.ts';
import { contains, parseSubnet } from '../lab/subnet.ts';

const checked = new Set<string>();

export async function guardAddress(address: string): Promise<void> {
  if (checked.has(address)) return;
  const subnets = [DEFAULT_SUBNET, loadState()?.subnet].filter((s): s is string => !!s);
  if (subnets.some((s) => contains(parseSubnet(s), address))) await assertBridge(address);
  checked.add(address);
}
