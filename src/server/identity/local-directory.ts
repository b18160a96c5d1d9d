// Holders kept in Tessera's own database, for organisations without LDAP: passwords as argon2id hashes.
import type { Kysely } from 'kysely';
import type { Database } from '../db/database-schema.ts';
import type { Secret } from '../../secret.ts';
import type { Holder, HolderDirectory, HolderStatus, PasswordCheck } from './holder-directory.ts';
import { identityDb, type HolderRow } from './identity-schema.ts';
import type { PasswordHasher } from './password-hasher.ts';

export function holderFromRow(row: HolderRow): Holder {
  return { username: row.username, displayName: row.display_name, email: row.email, status: row.status as HolderStatus };
}

export class LocalDirectory implements HolderDirectory {
  readonly kind = 'local';

  constructor(
    private readonly db: Kysely<Database>,
    private readonly hasher: PasswordHasher,
  ) {}

  async findHolder(username: string): Promise<Holder | null> {
    const row = await identityDb(this.db).selectFrom('holders').selectAll().where('username', '=', username).executeTakeFirst();
    return row === undefined ? null : holderFromRow(row);
  }

  async searchHolders(text: string, limit: number): Promise<Holder[]> {
    // Wildcards are dropped rather than escaped: SQLite and PostgreSQL disagree on LIKE's default escape character.
    const pattern = `%${text.toLowerCase().replace(/[\\%_]/g, '')}%`;
    const rows = await identityDb(this.db)
      .selectFrom('holders')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb(eb.fn('lower', ['username']), 'like', eb.val(pattern)),
          eb(eb.fn('lower', ['display_name']), 'like', eb.val(pattern)),
          eb(eb.fn('lower', ['email']), 'like', eb.val(pattern)),
        ]),
      )
      .orderBy('username')
      .limit(limit)
      .execute();
    return rows.map(holderFromRow);
  }

  async checkPassword(username: string, password: Secret): Promise<PasswordCheck> {
    if (password.length === 0) return 'invalid';
    const row = await identityDb(this.db).selectFrom('holders').selectAll().where('username', '=', username).executeTakeFirst();
    if (row === undefined) return 'no-such-holder';
    if (row.status !== 'active') return 'holder-disabled';
    if (row.password_hash === null) return 'invalid';
    return (await this.hasher.verify(row.password_hash, password)) ? 'valid' : 'invalid';
  }

  /** A local holder without a password cannot use the directory-password factor. */
  async hasPassword(username: string): Promise<boolean> {
    const row = await identityDb(this.db).selectFrom('holders').select('password_hash').where('username', '=', username).executeTakeFirst();
    return row?.password_hash != null;
  }

  async close(): Promise<void> {}
}
