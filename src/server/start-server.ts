// Runs one Tessera server process: data directory, certificate, key file, database, logs, listening socket.
import { mkdirSync } from 'node:fs';
import { isIP } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { pino, type DestinationStream, type Logger } from 'pino';
import { TesseraError } from '../errors.ts';
import { buildApp, type KeyStoreConfig } from './app.ts';
import { dataPaths } from './data-directory.ts';
import { identityOptionsFor, type IdentityOptions } from './identity/identity-config.ts';
import { loadOrCreateCertificate, type ServerCertificate } from './tls/self-signed-certificate.ts';

export class ServerOptionError extends TesseraError {
  readonly code = 'ERR_SERVER_OPTION';
}

export const DEFAULT_LISTEN = '127.0.0.1:8443';

export interface StartServerOptions {
  /** Database URL; SQLite at DATA/tessera.sqlite when absent. */
  db?: string;
  /** HOST:PORT or [IPv6]:PORT. */
  listen?: string;
  dataDir?: string;
  plainHttp?: boolean;
  /** Where the banner goes (stdout by default). */
  out?: NodeJS.WritableStream;
  /** Where JSON logs go (stdout by default). */
  logStream?: DestinationStream;
  logLevel?: string;
  reissueBootstrapCode?: boolean;
  /** The master key's home; a key file DATA/master.key (made on first start) by default. */
  keyStore?: KeyStoreConfig;
  /** Directory, SMTP and hash cost; else read from TESSERA_IDENTITY_CONFIG or DATA/identity.json when present. */
  identity?: IdentityOptions;
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  certificate: ServerCertificate | null;
  close(): Promise<void>;
}

export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new ServerOptionError(`--listen wants HOST:PORT (e.g. ${DEFAULT_LISTEN}), got "${text}"`);
  return { host: match[1] ?? match[2]!, port };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/** Field names whose values must never appear in a log line, wherever they sit. */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.pin',
  '*.puk',
  '*.newPin',
  '*.enrolmentCode',
  '*.token',
  '*.signature',
  '*.password',
  '*.directoryPassword',
  '*.answer',
  '*.oneTimeCode',
];

export function createServerLogger(stream?: DestinationStream, level = 'info'): Logger {
  return pino({ level, redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' } }, stream ?? pino.destination(1));
}

export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const out = options.out ?? process.stdout;
  const { host, port } = parseListen(options.listen ?? DEFAULT_LISTEN);
  if (options.plainHttp && !isLoopback(host)) {
    throw new ServerOptionError('plain HTTP is allowed only on a loopback address (127.0.0.1, ::1, localhost)');
  }
  const paths = dataPaths(options.dataDir);
  const dataDir = paths.dir;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const certificate = options.plainHttp ? null : await loadOrCreateCertificate(dataDir, ['0.0.0.0', '::'].includes(host) ? [] : [host]);
  const app = await buildApp({
    databaseUrl: options.db ?? paths.sqlite,
    keyStore: options.keyStore ?? { kind: 'file', path: paths.masterKey, createIfMissing: true },
    auditCheckpointDir: paths.auditCheckpoints,
    logger: createServerLogger(options.logStream, options.logLevel),
    ...(certificate ? { https: { key: certificate.key, cert: certificate.cert } } : {}),
    ...(options.reissueBootstrapCode ? { reissueBootstrapCode: true } : {}),
    identity: options.identity ?? identityOptionsFor(dataDir),
  });
  let address: string;
  try {
    address = await app.listen({ host, port });
  } catch (error) {
    await app.close();
    throw new ServerOptionError(`cannot listen on ${host}:${port}: ${(error as Error).message}`, { cause: error });
  }
  const url = address.replace(/^http:/, certificate ? 'https:' : 'http:');
  const { firstStart, bootstrapCode, databaseKind, databaseLocation } = app.tessera;
  const lines = [`Tessera CMS listening on ${url} (database: ${databaseKind} ${databaseLocation})`, `  API: ${url}/api/v1   OpenAPI: ${url}/docs`];
  if (certificate) {
    lines.push(`  TLS certificate ${certificate.certPath}${certificate.created ? ' (self-signed, made now)' : ''}`);
    lines.push(`  SHA-256 fingerprint ${certificate.fingerprint}`);
  } else {
    lines.push('  WARNING: plain HTTP (loopback only): do not use this outside development and tests');
  }
  if (firstStart) {
    lines.push('', 'First start: created roles "administrator" and "helpdesk", templates "Example PIV" and "Example GIDS",', `and the bootstrap administrator "${firstStart.operatorName}".`);
  }
  if (bootstrapCode) {
    lines.push(
      `  One-time enrolment code for "${bootstrapCode.operatorName}": ${bootstrapCode.enrolmentCode}`,
      `  (valid until ${bootstrapCode.enrolmentExpiresAt}; shown only now, never logged)`,
      '  Enrol the administrator\'s Operator Credential (a PIV card or YubiKey with an ECC P-256 key in slot 9A)',
      `  with: tessera operator enrol --server ${url}${certificate ? ` --ca-cert ${certificate.certPath}` : ''} --name ${bootstrapCode.operatorName} --code ${bootstrapCode.enrolmentCode} --reader NAME|--card FILE`,
      `  then sign in by challenge with: tessera operator login --server ${url}${certificate ? ` --ca-cert ${certificate.certPath}` : ''} --name ${bootstrapCode.operatorName} --reader NAME|--card FILE`,
    );
  }
  out.write(lines.join('\n') + '\n');
  return { app, url, certificate, close: () => app.close() };
}
