// Security questions: a holder's chosen questions with answers normalised and kept only as argon2id hashes.
import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError, InvalidRequestError, SignInFailedError } from '../api-errors.ts';
import { Secret } from '../../secret.ts';
import { assertNotHolder } from '../services/credential-service.ts';
import { audited, isoNow, type Actor, type ServiceContext } from '../services/service-context.ts';
import { normaliseAnswer } from './answer-normalisation.ts';
import type { HolderDirectory } from './holder-directory.ts';
import { identityDb } from './identity-schema.ts';
import { DEFAULT_LOCKOUT_AFTER_FAILURES, isLocked, recordFailure, recordSuccess } from './identity-lockouts.ts';
import type { PasswordHasher } from './password-hasher.ts';

export const MIN_SECURITY_QUESTIONS = 3;
export const MAX_SECURITY_QUESTIONS = 10;

export interface SecurityQuestionEnrolment {
  question: string;
  answer: Secret;
}

export interface EnrolledQuestion {
  id: string;
  question: string;
}

export interface PresentedAnswer {
  questionId: string;
  answer: Secret;
}

/** What checking the answers found; never says which answer was wrong (that would let a caller guess one at a time). */
export type AnswerCheck = 'pass' | 'wrong' | 'incomplete' | 'not-enrolled';

export class SecurityQuestionService {
  constructor(
    private readonly context: ServiceContext,
    private readonly directory: HolderDirectory,
    private readonly hasher: PasswordHasher,
  ) {}

  /** Replaces the holder's questions; `by` is the operator's name, or null for the holder (signed in by directory password). */
  async enrol(holderId: string, questions: SecurityQuestionEnrolment[], by: string | null): Promise<EnrolledQuestion[]> {
    const holder = await this.directory.findHolder(holderId);
    if (holder === null) throw new NotFoundError('ERR_HOLDER_NOT_FOUND', 'the directory has no such holder');
    if (questions.length < MIN_SECURITY_QUESTIONS || questions.length > MAX_SECURITY_QUESTIONS) {
      throw new InvalidRequestError('ERR_SECURITY_QUESTIONS_COUNT', `enrol ${MIN_SECURITY_QUESTIONS} to ${MAX_SECURITY_QUESTIONS} questions`);
    }
    const texts = questions.map((q) => normaliseAnswer(q.question));
    if (new Set(texts).size !== texts.length) throw new InvalidRequestError('ERR_SECURITY_QUESTIONS_DUPLICATE', 'a question is listed twice');
    const normalised = questions.map((q) => normaliseAnswer(q.answer.exposeText()));
    if (normalised.some((a) => a.length < 2)) throw new InvalidRequestError('ERR_SECURITY_ANSWER_TOO_SHORT', 'every answer needs at least 2 characters');
    // Hashed before the transaction: slow hashes must not hold the database's write lock.
    const hashes = await Promise.all(normalised.map((a) => this.hasher.hash(Secret.fromText(a))));
    const now = isoNow(this.context);
    const rows = questions.map((q, position) => ({ id: randomUUID(), holder_id: holderId, position, question: q.question.trim(), answer_hash: hashes[position]!, created_at: now }));
    return await audited(this.context, undefined, async ({ db, audit }) => {
      const idb = identityDb(db);
      await idb.deleteFrom('security_questions').where('holder_id', '=', holderId).execute();
      await idb.insertInto('security_questions').values(rows).execute();
      await audit({
        action: 'identity.security-questions.enrol',
        ...(by !== null ? { actor: by } : {}),
        outcome: 'ok',
        details: { holderId, count: rows.length, by: by === null ? 'holder' : 'operator' },
      });
      return rows.map((r) => ({ id: r.id, question: r.question }));
    });
  }

  /** An operator enrols a holder's answers (given by the holder in person); never their own. */
  async enrolByOperator(actor: Actor, holderId: string, questions: SecurityQuestionEnrolment[]): Promise<EnrolledQuestion[]> {
    assertNotHolder(actor, holderId);
    return await this.enrol(holderId, questions, actor.operatorName);
  }

  /**
   * The holder enrols their own questions after signing in with the directory password; a wrong password counts
   * towards the directory-password lockout like any identity check.
   */
  async enrolBySelfService(username: string, password: Secret, questions: SecurityQuestionEnrolment[]): Promise<EnrolledQuestion[]> {
    if (await isLocked(this.context.db, username, 'directory-password')) {
      throw new SignInFailedError('the directory password is locked for this holder after too many failures: ask an operator to lift the lockout');
    }
    const check = await this.directory.checkPassword(username, password);
    const now = isoNow(this.context);
    if (check !== 'valid') {
      if (check === 'invalid') {
        await audited(this.context, undefined, async ({ db, audit }) => {
          const state = await recordFailure(db, username, 'directory-password', DEFAULT_LOCKOUT_AFTER_FAILURES, now);
          await audit({ action: 'identity.self-service.sign-in', outcome: 'refused', reason: 'PASSWORD_WRONG', details: { holderId: username, locked: state.locked } });
        });
      }
      // One answer for every kind of failure, so the route does not reveal which usernames exist.
      throw new SignInFailedError('the username or directory password is wrong');
    }
    await recordSuccess(this.context.db, username, 'directory-password', now);
    // Whoever knows the directory password must not be able to replace the questions too: that would turn two
    // factors into one. Changing enrolled questions goes through an operator.
    if ((await this.questionsOf(username)).length > 0) {
      throw new ConflictError('ERR_SECURITY_QUESTIONS_ENROLLED', 'security questions are enrolled already: an operator can enrol new ones');
    }
    return await this.enrol(username, questions, null);
  }

  async questionsOf(holderId: string): Promise<EnrolledQuestion[]> {
    const rows = await identityDb(this.context.db).selectFrom('security_questions').select(['id', 'question']).where('holder_id', '=', holderId).orderBy('position').execute();
    return rows.map((r) => ({ id: r.id, question: r.question }));
  }

  /** Every enrolled question must be answered, and every answer must match. */
  async check(holderId: string, answers: PresentedAnswer[]): Promise<AnswerCheck> {
    const rows = await identityDb(this.context.db).selectFrom('security_questions').selectAll().where('holder_id', '=', holderId).execute();
    if (rows.length === 0) return 'not-enrolled';
    const byId = new Map(answers.map((a) => [a.questionId, a.answer]));
    if (rows.some((r) => !byId.has(r.id)) || byId.size !== answers.length || answers.length !== rows.length) return 'incomplete';
    // All answers are verified (no early exit), so the time taken does not say how many were right.
    const results = await Promise.all(rows.map(async (r) => this.hasher.verify(r.answer_hash, Secret.fromText(normaliseAnswer(byId.get(r.id)!.exposeText())))));
    return results.every(Boolean) ? 'pass' : 'wrong';
  }
}
