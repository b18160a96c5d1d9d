// Holder-identity settings of the server configuration (directory, SMTP, hash cost, codes), read from a JSON file.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { Secret } from '../../secret.ts';
import { IdentityConfigurationError } from './identity-errors.ts';
import type { LdapDirectoryConfig } from './ldap-directory.ts';
import type { SmtpConfig } from './mailer.ts';
import type { Argon2Cost } from './password-hasher.ts';
import type { UnblockCodeSettings } from './unblock-code-service.ts';

export interface IdentityOptions {
  /** Local (Tessera's own table) when absent. */
  directory?: { kind: 'local' } | LdapDirectoryConfig;
  /** E-mail is off when absent. */
  smtp?: SmtpConfig;
  argon2?: Argon2Cost;
  unblockCodes?: UnblockCodeSettings;
}

const secretText = z.string().min(1).max(1024);
const fileSchema = z.strictObject({
  directory: z
    .discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('local') }),
      z.strictObject({
        kind: z.literal('ldap'),
        url: z.string().regex(/^ldaps?:\/\/[^\s]+$/i),
        startTls: z.boolean().optional(),
        caFile: z.string().min(1).optional(),
        bindDn: z.string().min(1).max(1024).optional(),
        bindPassword: secretText.optional(),
        /** Name of an environment variable holding the bind password, so it need not sit in the file. */
        bindPasswordEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional(),
        baseDn: z.string().min(1).max(1024),
        userFilter: z.string().includes('{username}').optional(),
        searchFilter: z.string().includes('{text}').optional(),
        attributes: z.strictObject({ username: z.string().optional(), displayName: z.string().optional(), email: z.string().optional() }).optional(),
        disabledAttribute: z.string().optional(),
        disabledValues: z.array(z.string()).optional(),
        connectTimeoutMs: z.number().int().min(100).max(60_000).optional(),
        operationTimeoutMs: z.number().int().min(100).max(120_000).optional(),
      }),
    ])
    .optional(),
  smtp: z
    .strictObject({
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535),
      secure: z.boolean().optional(),
      requireTls: z.boolean().optional(),
      caFile: z.string().min(1).optional(),
      user: z.string().min(1).optional(),
      password: secretText.optional(),
      passwordEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional(),
      from: z.string().min(3),
      connectTimeoutMs: z.number().int().min(100).max(60_000).optional(),
    })
    .optional(),
  argon2: z.strictObject({ memoryKib: z.number().int().min(8).max(4_194_304), iterations: z.number().int().min(1).max(100), parallelism: z.number().int().min(1).max(16) }).optional(),
  unblockCodes: z.strictObject({ validMinutes: z.number().int().min(1).max(1440), attempts: z.number().int().min(1).max(20) }).optional(),
});

function secretFrom(value: string | undefined, envName: string | undefined, what: string): Secret | undefined {
  if (value !== undefined) return Secret.fromText(value);
  if (envName === undefined) return undefined;
  const fromEnv = process.env[envName];
  if (fromEnv === undefined || fromEnv === '') throw new IdentityConfigurationError(`${what}: environment variable ${envName} is not set`);
  return Secret.fromText(fromEnv);
}

/** Parses the identity section; every problem is reported with its path, never with a value. */
export function parseIdentityOptions(value: unknown): IdentityOptions {
  const parsed = fileSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.code}`).join('; ');
    throw new IdentityConfigurationError(`the identity configuration is invalid: ${problems}`);
  }
  const { directory, smtp, argon2, unblockCodes } = parsed.data;
  const options: IdentityOptions = {};
  if (directory?.kind === 'ldap') {
    const { bindPassword, bindPasswordEnv, ...rest } = directory;
    const secret = secretFrom(bindPassword, bindPasswordEnv, 'directory.bindPasswordEnv');
    options.directory = { ...rest, ...(secret !== undefined ? { bindPassword: secret } : {}) };
  } else if (directory !== undefined) options.directory = directory;
  if (smtp !== undefined) {
    const { password, passwordEnv, ...rest } = smtp;
    const secret = secretFrom(password, passwordEnv, 'smtp.passwordEnv');
    options.smtp = { ...rest, ...(secret !== undefined ? { password: secret } : {}) };
  }
  if (argon2 !== undefined) options.argon2 = argon2;
  if (unblockCodes !== undefined) options.unblockCodes = unblockCodes;
  return options;
}

export function loadIdentityOptions(path: string): IdentityOptions {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new IdentityConfigurationError(`cannot read the identity configuration ${path}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new IdentityConfigurationError(`the identity configuration ${path} is not valid JSON`, { cause: error });
  }
  return parseIdentityOptions(json);
}

export const IDENTITY_CONFIG_VARIABLE = 'TESSERA_IDENTITY_CONFIG';

/** The identity settings a server started on `dataDir` uses: the file TESSERA_IDENTITY_CONFIG names, else DATA/identity.json, else defaults (local directory, e-mail off). */
export function identityOptionsFor(dataDir: string): IdentityOptions {
  const named = process.env[IDENTITY_CONFIG_VARIABLE];
  if (named !== undefined && named !== '') return loadIdentityOptions(named);
  const inData = join(dataDir, 'identity.json');
  return existsSync(inData) ? loadIdentityOptions(inData) : {};
}
