// What every command gets: the output streams, the service clients (made on first use), and a
// way to end with a message and an exit status.
import { hostname, userInfo } from 'node:os';
import { catalogClient, serviceUrl, syncClient, type CatalogClient, type SyncClient } from './client';

export interface CliIO {
  out: NodeJS.WritableStream & { isTTY?: boolean };
  err: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export class CliContext {
  private syncC: SyncClient | undefined;
  private catalogC: CatalogClient | undefined;
  /** Set by a command: the process exits with it. */
  exitCode = 0;

  constructor(readonly io: CliIO) {}

  get syncUrl(): string {
    return serviceUrl('SYNC_URL', this.io.env);
  }

  get catalogUrl(): string {
    return serviceUrl('CATALOG_URL', this.io.env);
  }

  sync(): SyncClient {
    this.syncC ??= syncClient(this.syncUrl, this.io.env);
    return this.syncC;
  }

  catalog(): CatalogClient {
    this.catalogC ??= catalogClient(this.catalogUrl, this.io.env);
    return this.catalogC;
  }

  print(text: string): void {
    this.io.out.write(`${text}\n`);
  }

  printJson(value: unknown): void {
    this.io.out.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  note(text: string): void {
    this.io.err.write(`${text}\n`);
  }

  /** Who starts a run or cancels one: the operator's login and machine. */
  whoAmI(): string {
    const explicit = (this.io.env['HAIER_SYNC_USER'] ?? '').trim();
    if (explicit) return `cli:${explicit.slice(0, 100)}`;
    let user = 'unknown';
    try {
      user = userInfo().username;
    } catch {
      user = this.io.env['USER'] ?? 'unknown';
    }
    return `cli:${user}@${hostname()}`;
  }
}
