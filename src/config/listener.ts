import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { DEFAULT_MAX_REQUEST_SIZE, type ListenerConfig } from './types.js';
import type { ConfigSection } from './source.js';

const TCP_KEYS = ['address', 'tls_disable', 'tls_cert_file', 'tls_key_file', 'tls_min_version', 'max_request_size'] as const;
const TLS_VERSIONS = ['tls12', 'tls13'] as const;
const DEFAULT_ADDRESS = '127.0.0.1:8200';

/**
 * Reads a `listener "tcp"` block. TLS is on unless `tls_disable` is set, and then the certificate
 * and key files must exist and be readable by this process.
 */
export async function readTcpListener(section: ConfigSection): Promise<ListenerConfig> {
  section.checkKeys(TCP_KEYS);

  const address = section.string('address') ?? DEFAULT_ADDRESS;
  checkAddress(section, address);

  const tlsDisable = section.boolean('tls_disable') ?? false;
  const tlsCertFile = section.string('tls_cert_file');
  const tlsKeyFile = section.string('tls_key_file');
  const tlsMinVersion = section.string('tls_min_version') ?? 'tls12';
  if (!(TLS_VERSIONS as readonly string[]).includes(tlsMinVersion)) {
    throw section.error(
      'tls_min_version',
      `invalid tls_min_version ${section.location}: ${JSON.stringify(tlsMinVersion)}. Expected "tls12" or "tls13"`,
    );
  }

  // Vault turns the limit off for zero or a negative size. Coffer always enforces one.
  const maxRequestSize = section.integer('max_request_size') ?? DEFAULT_MAX_REQUEST_SIZE;
  if (maxRequestSize <= 0) {
    throw section.error(
      'max_request_size',
      `invalid max_request_size ${section.location}: ${maxRequestSize}. Expected a positive number of bytes`,
    );
  }

  if (!tlsDisable) {
    await checkReadableFile(section, 'tls_cert_file', tlsCertFile);
    await checkReadableFile(section, 'tls_key_file', tlsKeyFile);
  }

  return {
    type: 'tcp',
    address,
    tlsDisable,
    ...(tlsCertFile === undefined ? {} : { tlsCertFile }),
    ...(tlsKeyFile === undefined ? {} : { tlsKeyFile }),
    tlsMinVersion: tlsMinVersion as ListenerConfig['tlsMinVersion'],
    maxRequestSize,
  };
}

/** Throws unless `address` is HOST:PORT, with an IPv6 host in brackets and a port from 0 to 65535. */
function checkAddress(section: ConfigSection, address: string): void {
  const invalid = (reason: string) =>
    section.error('address', `invalid address ${section.location}: ${JSON.stringify(address)}: ${reason}`);

  const bracketed = /^\[([^\]]+)\]:(\d{1,5})$/.exec(address);
  const plain = /^([^:[\]]+):(\d{1,5})$/.exec(address);
  const match = bracketed ?? plain;
  if (match === null) throw invalid('expected HOST:PORT, such as "127.0.0.1:8200" or "[::1]:8200"');

  const [, host, port] = match;
  if (bracketed !== null && !isIPv6(host)) throw invalid('the part in brackets is not an IPv6 address');
  if (plain !== null && !/^[A-Za-z0-9._-]+$/.test(host)) throw invalid('the host is not a name or IPv4 address');
  if (Number(port) > 65535) throw invalid('the port must be from 0 to 65535');
}

async function checkReadableFile(section: ConfigSection, key: string, path: string | undefined): Promise<void> {
  if (path === undefined || path === '') {
    throw section.error(
      undefined,
      `missing ${key} ${section.location}: TLS is on, so set tls_cert_file and tls_key_file, or set tls_disable = true`,
    );
  }
  try {
    if (!(await stat(path)).isFile()) throw new Error('not a regular file');
    await access(path, constants.R_OK);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw section.error(key, `invalid ${key} ${section.location}: cannot read ${JSON.stringify(path)} (${reason})`);
  }
}
