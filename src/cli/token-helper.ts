import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Name of the token helper file in the home directory, written by `coffer login`. */
export const TOKEN_HELPER_FILE = '.coffer-token';

/** Returns the path of the token helper file under `homeDir`. */
export function tokenHelperPath(homeDir: string): string {
  return join(homeDir, TOKEN_HELPER_FILE);
}

/** Reads the stored token; returns undefined when the file is missing or empty. */
export async function readStoredToken(homeDir: string): Promise<string | undefined> {
  try {
    const text = (await readFile(tokenHelperPath(homeDir), 'utf8')).trim();
    return text === '' ? undefined : text;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`reading token helper file ${tokenHelperPath(homeDir)}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Stores a token in the helper file, readable and writable by the owner only (mode 0600). The
 * mode is set again after writing because `writeFile` applies it only when it creates the file.
 */
export async function storeToken(homeDir: string, token: string): Promise<void> {
  const path = tokenHelperPath(homeDir);
  await writeFile(path, token, { mode: 0o600 });
  await chmod(path, 0o600);
}
