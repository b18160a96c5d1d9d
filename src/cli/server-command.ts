// `tessera server`: runs the CMS until SIGINT/SIGTERM (HTTPS on 127.0.0.1:8443, SQLite under ./data by default).
import type { Command } from 'commander';
import type { KeyStoreConfig } from '../server/app.ts';
import { dataPaths } from '../server/data-directory.ts';
import { loadIdentityOptions } from '../server/identity/identity-config.ts';
import { DEFAULT_LISTEN, startServer } from '../server/start-server.ts';
import { Secret } from '../secret.ts';
import { UsageError } from './cli-errors.ts';

/** The PIN of the PKCS#11 token comes from the environment, never from the command line (ps shows argv). */
export const PKCS11_PIN_VARIABLE = 'TESSERA_PKCS11_PIN';

export interface KeyStoreCommandOptions {
  data: string;
  pkcs11Module?: string;
  pkcs11Token?: string;
  pkcs11Key: string;
}

/** Adds the master-key options shared by every command that opens the server's key store. */
export function keyStoreOptions(command: Command): Command {
  return command
    .option('--pkcs11-module <path>', 'keep the master key in a PKCS#11 token (e.g. /usr/lib/softhsm/libsofthsm2.so) instead of DATA/master.key')
    .option('--pkcs11-token <label>', 'label of the PKCS#11 token (its PIN is read from TESSERA_PKCS11_PIN)')
    .option('--pkcs11-key <label>', 'label prefix of the master key objects in the token', 'tessera');
}

export function keyStoreConfig(options: KeyStoreCommandOptions, createIfMissing: boolean): KeyStoreConfig {
  if (options.pkcs11Module === undefined) {
    if (options.pkcs11Token !== undefined) throw new UsageError('--pkcs11-token needs --pkcs11-module');
    return { kind: 'file', path: dataPaths(options.data).masterKey, createIfMissing };
  }
  if (options.pkcs11Token === undefined) throw new UsageError('--pkcs11-module needs --pkcs11-token');
  const pin = process.env[PKCS11_PIN_VARIABLE];
  if (pin === undefined || pin === '') throw new UsageError(`set ${PKCS11_PIN_VARIABLE} to the token's user PIN`);
  return { kind: 'pkcs11', library: options.pkcs11Module, tokenLabel: options.pkcs11Token, pin: Secret.fromText(pin), keyLabel: options.pkcs11Key, createIfMissing };
}

interface ServerCommandOptions extends KeyStoreCommandOptions {
  db?: string;
  listen: string;
  plainHttp?: boolean;
  logLevel: string;
  reissueBootstrapCode?: boolean;
  identityConfig?: string;
}

export function registerServerCommand(program: Command): void {
  const server = program.command('server');
  keyStoreOptions(server)
    .description('run the Tessera CMS server')
    .option('--db <url>', 'database: postgres://... or a SQLite file (default DATA/tessera.sqlite)')
    .option('--listen <host:port>', 'address to listen on', DEFAULT_LISTEN)
    .option('--data <dir>', 'data directory: SQLite file, master key file, TLS certificate, audit checkpoints', 'data')
    .option('--plain-http', 'serve plain HTTP instead of HTTPS (loopback addresses only)')
    .option('--log-level <level>', 'pino log level', 'info')
    .option('--identity-config <file>', 'holder directory (local or LDAP), SMTP and hash cost settings (default: $TESSERA_IDENTITY_CONFIG, else DATA/identity.json when present)')
    .option('--reissue-bootstrap-code', 'print a new one-time code for the bootstrap administrator (only before it has enrolled)')
    .action(async (options: ServerCommandOptions) => {
      const running = await startServer({
        keyStore: keyStoreConfig(options, true),
        listen: options.listen,
        dataDir: options.data,
        logLevel: options.logLevel,
        ...(options.db !== undefined ? { db: options.db } : {}),
        ...(options.plainHttp ? { plainHttp: true } : {}),
        ...(options.reissueBootstrapCode ? { reissueBootstrapCode: true } : {}),
        ...(options.identityConfig !== undefined ? { identity: loadIdentityOptions(options.identityConfig) } : {}),
      });
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void running.close().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
