// Secrets (broker and SMTP passwords, webhook HMAC secrets, a client key) come from files or the environment, never
// from the world-readable config; a secret file other users may read is refused with a one-line error.
import fs from 'node:fs';

/** A secret that cannot be used: unreadable, empty, or readable by other users. One line, naming the key. */
export class SecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretError';
  }
}

export interface SecretSource {
  /** The config key it comes from, for the error ('mqtt.passwordFile'). */
  key: string;
  file?: string;
  /** Environment variable used when no file is configured. */
  env?: string;
}

/** The secret's text (one trailing newline trimmed), or undefined when neither a file nor the variable is set. */
export function readSecret(source: SecretSource): string | undefined {
  if (source.file !== undefined) return readSecretFile(source.file, source.key);
  const value = source.env === undefined ? undefined : process.env[source.env];
  return value === undefined || value === '' ? undefined : value;
}

/** Reads a secret file, refusing one that other users may read (mode 600 or 400 wanted). */
export function readSecretFile(file: string, key: string): string {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new SecretError(`${key}: cannot read the secret file ${file}: ${why}`);
  }
  try {
    // fstat of the opened file: the mode checked is the mode of what is read.
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new SecretError(`${key}: the secret file ${file} is not a regular file`);
    if ((stat.mode & 0o004) !== 0) {
      throw new SecretError(
        `${key}: the secret file ${file} is readable by other users (mode ` +
          `${(stat.mode & 0o777).toString(8)}): run chmod 600 ${file}`,
      );
    }
    const text = fs.readFileSync(fd, 'utf8').replace(/\r?\n$/, '');
    if (text === '') throw new SecretError(`${key}: the secret file ${file} is empty`);
    return text;
  } finally {
    fs.closeSync(fd);
  }
}
