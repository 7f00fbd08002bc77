import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Why an address may not be fetched: its range (loopback, private, link-local, …), or null for a public address. */
export function blockedRange(address: string): string | null {
  if (!ipaddr.isValid(address)) return 'unparsable';
  const range = ipaddr.process(address).range();
  return range === 'unicast' ? null : range;
}

/** A fetch refused by the SSRF guard: the host, the address it has and its range. */
export class BlockedAddress extends Error {
  override readonly name = 'BlockedAddress';
  constructor(
    readonly host: string,
    readonly address: string,
    readonly range: string,
  ) {
    super(
      `${host} is ${address}, a ${range} address: loopback, private-network, link-local and cloud-metadata addresses are not fetched. ` +
        `The operator can allow the host with tools.web.allowHosts: ["${host}"].`,
    );
  }
}

/**
 * A DNS lookup for the HTTP client that refuses, at connection time, a host any of whose
 * addresses is not public (so a name cannot resolve to a public address when checked and to a
 * private one when connected: the check is the connection's own lookup).
 */
export function guardedLookup(): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const blocked = addresses.find((entry) => blockedRange(entry.address) !== null);
      if (blocked) return callback(new BlockedAddress(hostname, blocked.address, blockedRange(blocked.address)!), '', 0);
      if (options.all) return (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}
