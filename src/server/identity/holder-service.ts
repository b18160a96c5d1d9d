// Operators' view of holders: directory lookup with enrolment state, local holders, lifting lockouts.
import { ConflictError, InvalidRequestError, NotFoundError } from '../api-errors.ts';
import type { Secret } from '../../secret.ts';
import { assertNotHolder } from '../services/credential-service.ts';
import { audited, isoNow, type Actor, type ServiceContext } from '../services/service-context.ts';
import type { Holder, HolderDirectory } from './holder-directory.ts';
import { identityDb } from './identity-schema.ts';
import { liftLockouts, lockoutsOf, type LockoutState } from './identity-lockouts.ts';
import type { PasswordHasher } from './password-hasher.ts';
import type { SecurityQuestionService } from './security-question-service.ts';

export interface HolderView extends Holder {
  directory: 'local' | 'ldap';
  securityQuestions: { enrolled: number; questions: string[] };
  lockouts: LockoutState[];
}

export interface NewLocalHolder {
  username: string;
  displayName: string;
  email?: string;
  password?: Secret;
}

export class HolderService {
  constructor(
    private readonly context: ServiceContext,
    readonly directory: HolderDirectory,
    private readonly questions: SecurityQuestionService,
    private readonly hasher: PasswordHasher,
  ) {}

  async search(text: string, limit = 50): Promise<Holder[]> {
    return await this.directory.searchHolders(text, limit);
  }

  async view(holderId: string): Promise<HolderView> {
    const holder = await this.directory.findHolder(holderId);
    if (holder === null) throw new NotFoundError('ERR_HOLDER_NOT_FOUND', 'the directory has no such holder');
    const questions = await this.questions.questionsOf(holderId);
    return {
      ...holder,
      directory: this.directory.kind,
      securityQuestions: { enrolled: questions.length, questions: questions.map((q) => q.question) },
      lockouts: await lockoutsOf(this.context.db, holderId),
    };
  }

  /** Local directory only: an LDAP directory is managed where it lives. */
  async createLocal(actor: Actor, input: NewLocalHolder): Promise<HolderView> {
    if (this.directory.kind !== 'local') throw new InvalidRequestError('ERR_DIRECTORY_READ_ONLY', 'holders come from LDAP: add them in the directory');
    if (input.password !== undefined && input.password.length < 8) throw new InvalidRequestError('ERR_HOLDER_PASSWORD_TOO_SHORT', 'a directory password needs at least 8 characters');
    const passwordHash = input.password === undefined ? null : await this.hasher.hash(input.password);
    const now = isoNow(this.context);
    await audited(this.context, undefined, async ({ db, audit }) => {
      const inserted = await identityDb(db)
        .insertInto('holders')
        .values({ username: input.username, display_name: input.displayName, email: input.email ?? null, status: 'active', password_hash: passwordHash, created_at: now, updated_at: now })
        .onConflict((oc) => oc.column('username').doNothing())
        .executeTakeFirst();
      if (inserted.numInsertedOrUpdatedRows !== 1n) throw new ConflictError('ERR_HOLDER_EXISTS', 'a holder with this username exists');
      await audit({ action: 'identity.holder.create', actor: actor.operatorName, outcome: 'ok', details: { holderId: input.username, withPassword: passwordHash !== null } });
    });
    return await this.view(input.username);
  }

  async liftLockouts(actor: Actor, holderId: string, reason: string): Promise<HolderView> {
    assertNotHolder(actor, holderId);
    await audited(this.context, undefined, async ({ db, audit }) => {
      const lifted = await liftLockouts(db, holderId);
      if (lifted.length === 0) throw new ConflictError('ERR_HOLDER_NOT_LOCKED', 'the holder has no locked identity factor');
      await audit({ action: 'identity.lockout.lift', actor: actor.operatorName, outcome: 'ok', reason, details: { holderId, factors: lifted } });
    });
    return await this.view(holderId);
  }
}
