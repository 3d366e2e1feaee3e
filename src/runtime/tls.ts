import { readFileSync, statSync } from 'node:fs';
import type { Server } from 'node:tls';
import type { Logger } from './log.js';

/**
 * A certificate and key read from files that cert-manager, service-ca or a mounted Secret
 * renew in place. `changed()` tells cheaply (size, mtime, inode) whether they were rewritten
 * since the last `read()`.
 */
export class CertificateFiles {
  private stamp = '';
  /** Times the pair was read (1 after the first read). */
  loads = 0;

  constructor(
    readonly certFile: string,
    readonly keyFile: string,
  ) {}

  read(): { cert: string; key: string } {
    const stamp = this.fileStamp();
    const cert = readFileSync(this.certFile, 'utf8');
    const key = readFileSync(this.keyFile, 'utf8');
    this.stamp = stamp;
    this.loads++;
    return { cert, key };
  }

  changed(): boolean {
    return this.fileStamp() !== this.stamp;
  }

  /** Forget the last read, so that the next `changed()` is true (a half-written pair). */
  retry(): void {
    this.stamp = '';
  }

  private fileStamp(): string {
    const c = statSync(this.certFile);
    const k = statSync(this.keyFile);
    return `${c.mtimeMs}:${c.size}:${c.ino}/${k.mtimeMs}:${k.size}:${k.ino}`;
  }
}

/**
 * Loads the files into a running TLS server if they changed; returns whether it did. An
 * unreadable or mismatched pair (the certificate renewed, the key not yet) keeps the old one
 * and is tried again at the next call.
 */
export function reloadServerCertificate(
  server: Server,
  files: CertificateFiles,
  log: Logger,
  what: string,
): boolean {
  let pair: { cert: string; key: string };
  try {
    if (!files.changed()) return false;
    pair = files.read();
  } catch (e) {
    log.error(`could not read ${what} certificate; keeping the old one`, { error: e });
    return false;
  }
  try {
    server.setSecureContext(pair);
    log.info(`${what} certificate reloaded`, { certFile: files.certFile });
    return true;
  } catch (e) {
    files.retry();
    log.warn(`${what} certificate and key do not match yet`, { error: e });
    return false;
  }
}
