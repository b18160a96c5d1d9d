// `tessera operator enrol | login`: bind an Operator Credential (PIV slot 9A, ECC P-256) to an operator and sign in with it.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { PIV_ALGORITHM, PIV_SLOT } from '../card/piv/piv-constants.ts';
import { TesseraError } from '../errors.ts';
import type { Secret } from '../secret.ts';
import { withPivSession } from './card-connection.ts';
import { UsageError } from './cli-errors.ts';
import { readSecretLine } from './prompt.ts';

/** The server refused: carries the server's own stable code. */
export class ServerRefusedError extends TesseraError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class ServerUnreachableError extends TesseraError {
  readonly code = 'ERR_SERVER_UNREACHABLE';
}

interface ConnectionOptions {
  server: string;
  caCert?: string;
  card?: string;
  reader?: string;
}

/** A JSON call to the Tessera API; HTTPS trusts only the given certificate (the server's self-signed one) when named. */
export async function callApi(options: { server: string; caCert?: string }, method: string, path: string, body?: unknown, token?: string): Promise<unknown> {
  const url = new URL(path, options.server.endsWith('/') ? options.server : `${options.server}/`);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const ca = options.caCert === undefined ? undefined : readFileSync(options.caCert, 'utf8');
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method,
        ...(ca ? { ca } : {}),
        headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => {
          let answer: { code?: string; message?: string } | undefined;
          try {
            answer = text === '' ? undefined : (JSON.parse(text) as { code?: string; message?: string });
          } catch {
            answer = undefined;
          }
          if ((response.statusCode ?? 500) >= 400) reject(new ServerRefusedError(answer?.code ?? 'ERR_SERVER_ANSWER', `server: ${answer?.message ?? `HTTP ${response.statusCode}`}`));
          else resolve(answer);
        });
      },
    );
    req.on('error', (error) => reject(new ServerUnreachableError(`cannot reach ${url.origin}: ${error.message}`, { cause: error })));
    req.end(payload);
  });
}

/** The full sign-in story: challenge from the server, the card signs SHA-256 of it with slot 9A, the server answers a session. */
export async function signInWithOperatorCredential(
  options: ConnectionOptions & { name: string },
  pin: Secret,
): Promise<{ token: string; expiresAt: string; operator: { operatorName: string; roleId: string } }> {
  const challenge = (await callApi(options, 'POST', 'api/v1/sessions/challenge', { operatorName: options.name })) as { challengeId: string; toSign: string };
  const digest = createHash('sha256').update(Buffer.from(challenge.toSign, 'base64')).digest();
  const signature = await withPivSession(options, async (session) => {
    await session.verifyPin(pin);
    return session.sign(PIV_SLOT.AUTHENTICATION, PIV_ALGORITHM.ECC_P256, digest);
  });
  return (await callApi(options, 'POST', 'api/v1/sessions', { challengeId: challenge.challengeId, signature: Buffer.from(signature).toString('base64') })) as {
    token: string;
    expiresAt: string;
    operator: { operatorName: string; roleId: string };
  };
}

export function defaultSessionFile(): string {
  return join(homedir(), '.tessera', 'operator-session.json');
}

function connectionOptions(command: Command): Command {
  return command
    .requiredOption('--server <url>', 'Tessera server, e.g. https://127.0.0.1:8443')
    .option('--ca-cert <file>', "trust this certificate for HTTPS (the server's data/tls/server-cert.pem)")
    .option('--card <file>', 'virtual PIV card file holding the Operator Credential')
    .option('--reader <name>', 'PC/SC reader holding the Operator Credential');
}

export function registerOperatorCommands(program: Command): void {
  const operator = program.command('operator').description('operator tasks with an Operator Credential (PIV slot 9A, ECC P-256)');
  connectionOptions(operator.command('enrol').description("register the Operator Credential's slot 9A public key with a one-time enrolment code"))
    .requiredOption('--name <operator>', 'operator name')
    .requiredOption('--code <code>', 'one-time enrolment code')
    .action(async (options: ConnectionOptions & { name: string; code: string }) => {
      const publicKey = await withPivSession(options, async (session) => {
        const metadata = await session.getSlotMetadata(PIV_SLOT.AUTHENTICATION);
        if (metadata.algorithm !== PIV_ALGORITHM.ECC_P256) throw new UsageError('the Operator Credential needs an ECC P-256 key in slot 9A');
        return metadata.publicKey.export({ format: 'pem', type: 'spki' }).toString();
      });
      await callApi(options, 'POST', 'api/v1/enrolment', { operatorName: options.name, enrolmentCode: options.code, publicKey });
      process.stdout.write(`enrolled the Operator Credential of ${options.name}; sign in with: tessera operator login\n`);
    });
  connectionOptions(operator.command('login').description('sign in: the card signs a server challenge; the session token is saved (0600)'))
    .requiredOption('--name <operator>', 'operator name')
    .option('--session-file <file>', 'where to keep the session token', defaultSessionFile())
    .option('--json', 'machine-readable output')
    .action(async (options: ConnectionOptions & { name: string; sessionFile: string; json?: boolean }) => {
      const pin = await readSecretLine('Operator Credential PIN: ');
      const session = await signInWithOperatorCredential(options, pin);
      mkdirSync(dirname(options.sessionFile), { recursive: true, mode: 0o700 });
      writeFileSync(options.sessionFile, JSON.stringify({ server: options.server, operatorName: options.name, token: session.token, expiresAt: session.expiresAt }) + '\n', { mode: 0o600 });
      const summary = { operatorName: session.operator.operatorName, roleId: session.operator.roleId, expiresAt: session.expiresAt, sessionFile: options.sessionFile };
      process.stdout.write(options.json ? `${JSON.stringify(summary)}\n` : `signed in as ${summary.operatorName} (${summary.roleId}) until ${summary.expiresAt}; session saved in ${summary.sessionFile}\n`);
    });
}
