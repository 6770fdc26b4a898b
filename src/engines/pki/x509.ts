// reflect-metadata must load before @peculiar/x509, whose dependency injection needs it, so every
// file of the engine imports the library through this module.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };
