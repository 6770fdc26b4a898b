import { BlockList, isIP } from 'node:net';
import { BadRequestError } from '../errors.js';

/** One parsed CIDR block. A bare address is a block of one address (/32 or /128). */
export interface CidrBlock {
  network: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** Parses `10.0.0.0/8`, `fd00::/8` or a bare address; returns null for anything else. */
export function parseCidr(text: string): CidrBlock | null {
  const slash = text.indexOf('/');
  const network = slash === -1 ? text : text.slice(0, slash);
  const version = isIP(network);
  if (version === 0) return null;

  const maxPrefix = version === 4 ? 32 : 128;
  if (slash === -1) return { network, prefix: maxPrefix, family: version === 4 ? 'ipv4' : 'ipv6' };

  const bits = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > maxPrefix) return null;
  return { network, prefix: Number(bits), family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** Checks every entry of a CIDR list field and returns the list; throws 400 naming the bad entry. */
export function checkCidrList(fieldName: string, list: string[]): string[] {
  for (const entry of list) {
    if (parseCidr(entry) === null) {
      const quoted = JSON.stringify(entry.slice(0, 60));
      throw new BadRequestError(`invalid CIDR block ${quoted} in "${fieldName}": use a form such as "10.0.0.0/8" or "127.0.0.1"`);
    }
  }
  return list;
}

/**
 * Returns the address and family of a peer address, turning an IPv4-mapped IPv6 address such as
 * `::ffff:127.0.0.1` (what a dual-stack socket reports for an IPv4 peer) into plain IPv4.
 */
export function normalizeAddress(address: string): { address: string; family: 'ipv4' | 'ipv6' } | null {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  const plain = mapped ? mapped[1] : address;
  const version = isIP(plain);
  if (version === 0) return null;
  return { address: plain, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** True when the list is empty, or when the address lies inside one of its blocks. */
export function addressAllowed(address: string, cidrs: string[]): boolean {
  if (cidrs.length === 0) return true;
  const peer = normalizeAddress(address);
  if (peer === null) return false;
  return blockListOf(cidrs).check(peer.address, peer.family);
}

/** True when every block of `inner` lies inside some block of `outer`. */
export function cidrsWithin(inner: string[], outer: string[]): boolean {
  const outerBlocks = outer.map(parseCidr).filter((block): block is CidrBlock => block !== null);
  return inner.every((text) => {
    const block = parseCidr(text);
    if (block === null) return false;
    // A block is inside another when it is no wider and its network address falls inside.
    return outerBlocks.some(
      (candidate) =>
        candidate.family === block.family &&
        candidate.prefix <= block.prefix &&
        blockListOf([`${candidate.network}/${candidate.prefix}`]).check(block.network, block.family),
    );
  });
}

function blockListOf(cidrs: string[]): BlockList {
  const list = new BlockList();
  for (const text of cidrs) {
    const block = parseCidr(text);
    if (block !== null) list.addSubnet(block.network, block.prefix, block.family);
  }
  return list;
}
