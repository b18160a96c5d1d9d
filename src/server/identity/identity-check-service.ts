// The one identity check self-service goes through: the template's factors, each answered pass/fail with a reason, failures counted and audited.
import type { Secret } from '../../secret.ts';
import type { TemplateDefinition } from '../domain/credential-template.ts';
import type { MissingEnrolmentReason } from '../domain/unblock-explanation.ts';
import type { Credential, CredentialService } from '../services/credential-service.ts';
import { audited, isoNow, type ServiceContext } from '../services/service-context.ts';
import type { TemplateService } from '../services/template-service.ts';
import type { HolderDirectory, Holder } from './holder-directory.ts';
import { DirectoryUnavailableError } from './identity-errors.ts';
import { DEFAULT_LOCKOUT_AFTER_FAILURES, isLocked, recordFailure, recordSuccess, type IdentityFactor } from './identity-lockouts.ts';
import { LocalDirectory } from './local-directory.ts';
import type { Mailer } from './mailer.ts';
import type { PresentedAnswer, SecurityQuestionService } from './security-question-service.ts';
import type { UnblockCodeCheck, UnblockCodeService } from './unblock-code-service.ts';
import type { ClientMode, CpDowngradeReason } from './workstation-service.ts';

export const FACTOR_REASONS = [
  'OK',
  'NOT_PRESENTED',
  'NOT_IN_TEMPLATE',
  'FACTOR_LOCKED',
  'PASSWORD_WRONG',
  'HOLDER_NOT_IN_DIRECTORY',
  'HOLDER_DISABLED',
  'DIRECTORY_UNAVAILABLE',
  'ANSWERS_WRONG',
  'ANSWERS_INCOMPLETE',
  'NOT_ENROLLED',
  'CODE_WRONG',
  'CODE_NONE_ISSUED',
  'CODE_EXPIRED',
  'CODE_USED',
  'CODE_ATTEMPTS_EXHAUSTED',
] as const;
export type FactorReason = (typeof FACTOR_REASONS)[number];

export const CHECK_REASONS = ['OK', 'NOT_ENOUGH_FACTORS', 'FACTOR_FAILED', 'HOLDER_DISABLED', 'HOLDER_NOT_IN_DIRECTORY', 'DIRECTORY_UNAVAILABLE', 'SELF_SERVICE_NOT_ALLOWED'] as const;
export type CheckReason = (typeof CHECK_REASONS)[number];

export interface PresentedFactors {
  directoryPassword?: Secret;
  securityAnswers?: PresentedAnswer[];
  oneTimeCode?: Secret;
}

export interface FactorResult {
  factor: IdentityFactor;
  result: 'pass' | 'fail' | 'not-presented';
  reason: FactorReason;
  /** This check locked the factor (or it was locked already). */
  locked: boolean;
}

export interface IdentityCheckResult {
  passed: boolean;
  reason: CheckReason;
  credentialId: string;
  holderId: string;
  mode: ClientMode['mode'];
  downgradeReason: CpDowngradeReason | null;
  minimumFactors: number;
  factors: FactorResult[];
}

const CODE_REASONS: Record<UnblockCodeCheck, FactorReason> = {
  pass: 'OK',
  wrong: 'CODE_WRONG',
  'none-issued': 'CODE_NONE_ISSUED',
  expired: 'CODE_EXPIRED',
  used: 'CODE_USED',
  'attempts-exhausted': 'CODE_ATTEMPTS_EXHAUSTED',
};

export function lockoutLimit(template: TemplateDefinition): number {
  return template.selfServiceIdentity.lockoutAfterFailures ?? DEFAULT_LOCKOUT_AFTER_FAILURES;
}

export class IdentityCheckService {
  constructor(
    private readonly context: ServiceContext,
    private readonly credentials: CredentialService,
    private readonly templates: TemplateService,
    private readonly directory: HolderDirectory,
    private readonly questions: SecurityQuestionService,
    private readonly codes: UnblockCodeService,
    private readonly mailer: Mailer,
  ) {}

  /**
   * Checks every presented factor (slow hashes first, outside any transaction), then records failures, spends a
   * matching code and appends the audit event in one transaction. Passes when at least the template's minimum
   * number of its factors pass and none presented fails.
   */
  async check(credentialId: string, presented: PresentedFactors, clientMode: ClientMode): Promise<IdentityCheckResult> {
    const credential = await this.credentials.get(credentialId);
    const template = await this.templates.get(credential.templateId);
    const holderId = credential.holder.id;
    const named = new Set<IdentityFactor>(template.selfServiceIdentity.factors);
    const limit = lockoutLimit(template);
    const db = this.context.db;

    const holder = await this.#findHolderOrUnavailable(holderId);

    const results: FactorResult[] = [];
    const failuresToCount: IdentityFactor[] = [];
    const successes: IdentityFactor[] = [];
    let settleCode: ((db: typeof this.context.db) => Promise<UnblockCodeCheck>) | null = null;
    const add = (factor: IdentityFactor, result: FactorResult['result'], reason: FactorReason, locked = false): void => {
      results.push({ factor, result, reason, locked });
    };

    // directory-password
    if (presented.directoryPassword === undefined) add('directory-password', 'not-presented', 'NOT_PRESENTED');
    else if (!named.has('directory-password')) add('directory-password', 'fail', 'NOT_IN_TEMPLATE');
    else if (await isLocked(db, holderId, 'directory-password')) add('directory-password', 'fail', 'FACTOR_LOCKED', true);
    else if (holder === 'unavailable') add('directory-password', 'fail', 'DIRECTORY_UNAVAILABLE');
    else {
      let check: Awaited<ReturnType<HolderDirectory['checkPassword']>> | 'unavailable';
      try {
        check = await this.directory.checkPassword(holderId, presented.directoryPassword);
      } catch (error) {
        if (!(error instanceof DirectoryUnavailableError)) throw error;
        check = 'unavailable';
      }
      if (check === 'valid') {
        add('directory-password', 'pass', 'OK');
        successes.push('directory-password');
      } else if (check === 'invalid') {
        add('directory-password', 'fail', 'PASSWORD_WRONG');
        failuresToCount.push('directory-password');
      } else {
        add('directory-password', 'fail', check === 'unavailable' ? 'DIRECTORY_UNAVAILABLE' : check === 'holder-disabled' ? 'HOLDER_DISABLED' : 'HOLDER_NOT_IN_DIRECTORY');
      }
    }

    // security-questions
    if (presented.securityAnswers === undefined) add('security-questions', 'not-presented', 'NOT_PRESENTED');
    else if (!named.has('security-questions')) add('security-questions', 'fail', 'NOT_IN_TEMPLATE');
    else if (await isLocked(db, holderId, 'security-questions')) add('security-questions', 'fail', 'FACTOR_LOCKED', true);
    else {
      const check = await this.questions.check(holderId, presented.securityAnswers);
      if (check === 'pass') {
        add('security-questions', 'pass', 'OK');
        successes.push('security-questions');
      } else if (check === 'wrong') {
        add('security-questions', 'fail', 'ANSWERS_WRONG');
        failuresToCount.push('security-questions');
      } else add('security-questions', 'fail', check === 'incomplete' ? 'ANSWERS_INCOMPLETE' : 'NOT_ENROLLED');
    }

    // one-time-code: its own attempt limit lives on the code
    if (presented.oneTimeCode === undefined) add('one-time-code', 'not-presented', 'NOT_PRESENTED');
    else if (!named.has('one-time-code')) add('one-time-code', 'fail', 'NOT_IN_TEMPLATE');
    else {
      const check = await this.codes.check(credentialId, presented.oneTimeCode);
      settleCode = check.settle;
      add('one-time-code', check.result === 'pass' ? 'pass' : 'fail', CODE_REASONS[check.result]);
    }

    const now = isoNow(this.context);
    return await audited(this.context, undefined, async ({ db: trx, audit }) => {
      if (settleCode !== null) {
        const settled = await settleCode(trx);
        const codeResult = results.find((r) => r.factor === 'one-time-code')!;
        if (settled !== 'pass' && codeResult.result === 'pass') Object.assign(codeResult, { result: 'fail', reason: CODE_REASONS[settled] });
      }
      for (const factor of failuresToCount) {
        const state = await recordFailure(trx, holderId, factor, limit, now);
        results.find((r) => r.factor === factor)!.locked = state.locked;
      }
      for (const factor of successes) await recordSuccess(trx, holderId, factor, now);

      const passedCount = results.filter((r) => r.result === 'pass').length;
      const minimum = template.selfServiceIdentity.minimumFactors;
      let reason: CheckReason;
      if (minimum < 1 || named.size === 0) reason = 'SELF_SERVICE_NOT_ALLOWED';
      else if (holder === 'unavailable') reason = 'DIRECTORY_UNAVAILABLE';
      else if (holder === null) reason = 'HOLDER_NOT_IN_DIRECTORY';
      else if (holder.status !== 'active') reason = 'HOLDER_DISABLED';
      else if (results.some((r) => r.result === 'fail')) reason = 'FACTOR_FAILED';
      else if (passedCount < minimum) reason = 'NOT_ENOUGH_FACTORS';
      else reason = 'OK';
      const result: IdentityCheckResult = {
        passed: reason === 'OK',
        reason,
        credentialId,
        holderId,
        mode: clientMode.mode,
        downgradeReason: clientMode.mode === 'user-app' && clientMode.claimedCredentialProvider ? clientMode.downgradeReason : null,
        minimumFactors: minimum,
        factors: results,
      };
      await audit({
        action: 'identity.check',
        credentialId,
        outcome: result.passed ? 'ok' : 'refused',
        reason,
        details: {
          holderId,
          mode: result.mode,
          ...(clientMode.mode === 'credential-provider' ? { workstationId: clientMode.workstationId } : {}),
          ...(result.downgradeReason !== null ? { downgradeReason: result.downgradeReason } : {}),
          factors: results.map((r) => ({ factor: r.factor, result: r.result, reason: r.reason, locked: r.locked })),
        },
      });
      return result;
    });
  }

  /** The questions the holder of a credential must answer (texts only), for a self-service client to ask. */
  async prompt(credentialId: string): Promise<{ holderId: string; questions: { id: string; question: string }[] }> {
    const credential = await this.credentials.get(credentialId);
    return { holderId: credential.holder.id, questions: await this.questions.questionsOf(credential.holder.id) };
  }

  /** The holder, null when the directory has none, or 'unavailable' when the directory does not answer. */
  async #findHolderOrUnavailable(holderId: string): Promise<Holder | null | 'unavailable'> {
    try {
      return await this.directory.findHolder(holderId);
    } catch (error) {
      if (!(error instanceof DirectoryUnavailableError)) throw error;
      return 'unavailable';
    }
  }

  /** The enrolments a holder lacks for the template's factors; `enough` says whether the reachable factors still meet the minimum. */
  async missingEnrolments(credential: Credential, template: TemplateDefinition): Promise<{ enough: boolean; reasons: MissingEnrolmentReason[] }> {
    const holderId = credential.holder.id;
    const reasons: MissingEnrolmentReason[] = [];
    let reachable = 0;
    const holder = await this.#findHolderOrUnavailable(holderId);
    if (holder === 'unavailable') reasons.push('DIRECTORY_UNAVAILABLE');
    else if (holder === null) reasons.push('HOLDER_NOT_IN_DIRECTORY');
    else if (holder.status !== 'active') reasons.push('HOLDER_DISABLED');
    const holderOk = holder !== 'unavailable' && holder !== null && holder.status === 'active';
    for (const factor of new Set(template.selfServiceIdentity.factors)) {
      if (factor === 'directory-password') {
        if (!holderOk) continue;
        if (this.directory instanceof LocalDirectory && !(await this.directory.hasPassword(holderId))) reasons.push('DIRECTORY_PASSWORD_NOT_SET');
        else if (await isLocked(this.context.db, holderId, factor)) reasons.push('DIRECTORY_PASSWORD_LOCKED');
        else reachable++;
      } else if (factor === 'security-questions') {
        if ((await this.questions.questionsOf(holderId)).length === 0) reasons.push('SECURITY_QUESTIONS_NOT_ENROLLED');
        else if (await isLocked(this.context.db, holderId, factor)) reasons.push('SECURITY_QUESTIONS_LOCKED');
        else reachable++;
      } else {
        // A holder alone at the logon screen gets a code by e-mail; an operator-shown code still passes the check itself.
        const email = holder !== 'unavailable' && holder !== null ? holder.email : credential.holder.email;
        if (!this.mailer.enabled) reasons.push('EMAIL_OFF');
        else if (email === null) reasons.push('HOLDER_EMAIL_MISSING');
        else reachable++;
      }
    }
    return { enough: holderOk && reachable >= template.selfServiceIdentity.minimumFactors, reasons };
  }
}
