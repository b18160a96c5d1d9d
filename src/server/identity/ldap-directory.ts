// Holders from an LDAP directory through ldapts: search with a service account, check passwords by binding as the holder.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Client, InvalidCredentialsError, ResultCodeError, type Entry } from 'ldapts';
import type { Secret } from '../../secret.ts';
import { DirectoryConfigurationError, DirectoryUnavailableError, IdentityConfigurationError } from './identity-errors.ts';
import type { Holder, HolderDirectory, PasswordCheck } from './holder-directory.ts';

export interface LdapDirectoryConfig {
  kind: 'ldap';
  /** `ldap://host:389` or `ldaps://host:636`. */
  url: string;
  /** Upgrade an ldap:// connection with StartTLS before anything is sent. */
  startTls?: boolean;
  /** PEM file of the CA that signed the directory's certificate (else the system's CAs). */
  caFile?: string;
  /** Service account used to search; anonymous search when absent. */
  bindDn?: string;
  bindPassword?: Secret;
  baseDn: string;
  /** Filter finding one holder; `{username}` is replaced by the escaped username. */
  userFilter?: string;
  /** Filter for operator searches; `{text}` is replaced by the escaped search text. */
  searchFilter?: string;
  attributes?: { username?: string; displayName?: string; email?: string };
  /** A holder whose `disabledAttribute` holds one of `disabledValues` is disabled. */
  disabledAttribute?: string;
  disabledValues?: string[];
  /** TCP connect timeout (ms, default 3000) and per-operation timeout (ms, default 5000): a dead directory never hangs a request. */
  connectTimeoutMs?: number;
  operationTimeoutMs?: number;
}

/** RFC 4515 escaping of a value placed inside a filter. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function firstValue(entry: Entry, attribute: string): string | null {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  const value = key === undefined ? undefined : entry[key];
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined) return null;
  return Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
}

function allValues(entry: Entry, attribute: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  const value = key === undefined ? undefined : entry[key];
  return (Array.isArray(value) ? value : value === undefined ? [] : [value]).map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v)));
}

export class LdapDirectory implements HolderDirectory {
  readonly kind = 'ldap';
  readonly #config: LdapDirectoryConfig;
  readonly #tls: ConnectionOptions;
  readonly #attributes: { username: string; displayName: string; email: string };

  constructor(config: LdapDirectoryConfig) {
    if (!/^ldaps?:\/\//i.test(config.url)) throw new IdentityConfigurationError('directory.url must start with ldap:// or ldaps://');
    if (config.startTls && /^ldaps:/i.test(config.url)) throw new IdentityConfigurationError('directory.startTls applies to ldap:// URLs only');
    this.#config = config;
    let ca: string | undefined;
    if (config.caFile !== undefined) {
      try {
        ca = readFileSync(config.caFile, 'utf8');
      } catch (error) {
        throw new IdentityConfigurationError(`directory.caFile ${config.caFile} cannot be read`, { cause: error });
      }
    }
    this.#tls = { ...(ca !== undefined ? { ca } : {}), minVersion: 'TLSv1.2' };
    this.#attributes = { username: 'uid', displayName: 'cn', email: 'mail', ...config.attributes };
  }

  async findHolder(username: string): Promise<Holder | null> {
    const entry = await this.#findEntry(username);
    return entry === null ? null : this.#holderOf(entry);
  }

  async searchHolders(text: string, limit: number): Promise<Holder[]> {
    const escaped = escapeFilterValue(text);
    const a = this.#attributes;
    const filter = (this.#config.searchFilter ?? `(&(objectClass=inetOrgPerson)(|(${a.username}=*{text}*)(${a.displayName}=*{text}*)(${a.email}=*{text}*)))`).replaceAll('{text}', escaped);
    const entries = await this.#withClient(true, async (client) => {
      try {
        return (await client.search(this.#config.baseDn, { scope: 'sub', filter, sizeLimit: limit, attributes: this.#wanted() })).searchEntries;
      } catch (error) {
        // More matches than the limit: the server still returns the first ones in some versions, none in others.
        if (error instanceof ResultCodeError && error.code === 4) return [];
        throw error;
      }
    });
    return entries.map((e) => this.#holderOf(e)).filter((h): h is Holder => h !== null);
  }

  async checkPassword(username: string, password: Secret): Promise<PasswordCheck> {
    if (password.length === 0) return 'invalid';
    const entry = await this.#findEntry(username);
    if (entry === null) return 'no-such-holder';
    const holder = this.#holderOf(entry);
    if (holder?.status === 'disabled') return 'holder-disabled';
    return await this.#withClient(false, async (client) => {
      try {
        await client.bind(entry.dn, password.exposeText());
        return 'valid';
      } catch (error) {
        if (error instanceof InvalidCredentialsError) return 'invalid';
        throw error;
      }
    });
  }

  async close(): Promise<void> {
    // Each call opens and closes its own connection: nothing stays open between requests.
  }

  async #findEntry(username: string): Promise<Entry | null> {
    const filter = (this.#config.userFilter ?? `(&(objectClass=inetOrgPerson)(${this.#attributes.username}={username}))`).replaceAll('{username}', escapeFilterValue(username));
    const entries = await this.#withClient(true, async (client) => (await client.search(this.#config.baseDn, { scope: 'sub', filter, sizeLimit: 2, attributes: this.#wanted() })).searchEntries);
    // Two entries for one username is a directory problem; refusing both is safer than picking one.
    return entries.length === 1 ? entries[0]! : null;
  }

  #wanted(): string[] {
    const a = this.#attributes;
    return [a.username, a.displayName, a.email, ...(this.#config.disabledAttribute ? [this.#config.disabledAttribute] : [])];
  }

  #holderOf(entry: Entry): Holder | null {
    const username = firstValue(entry, this.#attributes.username);
    if (username === null) return null;
    const disabledAttribute = this.#config.disabledAttribute;
    const disabledValues = (this.#config.disabledValues ?? []).map((v) => v.toLowerCase());
    const disabled = disabledAttribute !== undefined && allValues(entry, disabledAttribute).some((v) => disabledValues.includes(v.toLowerCase()));
    return {
      username,
      displayName: firstValue(entry, this.#attributes.displayName) ?? username,
      email: firstValue(entry, this.#attributes.email),
      status: disabled ? 'disabled' : 'active',
    };
  }

  /** One connection per call, with connect and operation timeouts; network failures become ERR_DIRECTORY_UNAVAILABLE. */
  async #withClient<T>(asService: boolean, work: (client: Client) => Promise<T>): Promise<T> {
    const config = this.#config;
    const client = new Client({
      url: config.url,
      connectTimeout: config.connectTimeoutMs ?? 3000,
      timeout: config.operationTimeoutMs ?? 5000,
      // ldapts takes any tlsOptions as a request for TLS from the first byte, so they go only with ldaps://.
      ...(/^ldaps:/i.test(config.url) ? { tlsOptions: this.#tls } : {}),
      strictDN: false,
    });
    try {
      if (config.startTls) await client.startTLS(this.#tls);
      if (asService && config.bindDn !== undefined) {
        try {
          await client.bind(config.bindDn, config.bindPassword?.exposeText() ?? '');
        } catch (error) {
          if (error instanceof ResultCodeError) throw new DirectoryConfigurationError('the directory refused the service account (directory.bindDn / bindPassword)', { cause: error });
          throw error;
        }
      }
      return await work(client);
    } catch (error) {
      if (error instanceof DirectoryConfigurationError) throw error;
      if (error instanceof ResultCodeError) throw new DirectoryConfigurationError(`the directory refused the request (LDAP result ${error.code})`, { cause: error });
      throw new DirectoryUnavailableError(`the directory at ${config.url} cannot be reached or did not answer in time`, { cause: error });
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }
}
