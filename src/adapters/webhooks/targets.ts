import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Which hosts a webhook may reach. A batch's `metadata.webhook_url` is any
 * caller's choice, so without a check it would make the service POST into
 * its own network: a cloud's metadata endpoint, a private service, the
 * service's own API. Only public unicast addresses are allowed, unless the
 * deployment opts in (tests, private deployments).
 *
 * The check is made twice: on the URL as written, when a batch is created
 * (every IPv4 spelling, hex, octal or decimal, is normalised by the URL
 * parser), and on every address its host resolves to, at connection time,
 * by the lookup the delivery connects with, so that a name that resolves
 * (or later rebinds) to an internal address is refused too.
 */
export class WebhookTargets {
  constructor(private readonly allowPrivate: boolean) {}

  /** Why a webhook URL is refused as written; undefined when it may be tried. */
  refusal(url: string): string | undefined {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return 'it is not a URL';
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'it is not an http or https URL';
    if (this.allowPrivate) return undefined;
    const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
    if (host === 'localhost' || host.endsWith('.localhost')) return 'it names this machine (localhost)';
    return isIP(host) ? addressRefusal(host) : undefined;
  }

  /**
   * A DNS lookup (`net.connect`'s `lookup` option) that resolves every
   * address of a host and keeps the public ones; it fails when none is left.
   */
  readonly lookup = (
    hostname: string,
    options: { family?: number | string; all?: boolean },
    callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    dnsLookup(hostname, { all: true, ...(typeof options.family === 'number' && options.family > 0 && { family: options.family }) }, (error, addresses) => {
      if (error) return callback(error, []);
      const allowed = this.allowPrivate ? addresses : addresses.filter((a) => addressRefusal(a.address) === undefined);
      if (allowed.length === 0) {
        const refused: NodeJS.ErrnoException = new Error(`${hostname} resolves only to addresses a webhook may not reach (${addresses.map((a) => a.address).join(', ')})`);
        refused.code = 'EWEBHOOKTARGET';
        return callback(refused, []);
      }
      if (options.all) return callback(null, allowed);
      callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}

/** Why an IP address is not a webhook's to reach; undefined for a public unicast address. */
export function addressRefusal(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return 'it is not an IP address';
  // An IPv4-mapped IPv6 address (::ffff:127.0.0.1) is judged as the IPv4 address it is.
  const range = ipaddr.process(address).range();
  return range === 'unicast' ? undefined : `its address ${address} is ${range}, not public`;
}
