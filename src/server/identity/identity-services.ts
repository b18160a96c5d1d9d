// Builds the holder-identity services from the server's context and configuration, once per server instance.
import type { Services } from '../services/services.ts';
import type { HolderDirectory } from './holder-directory.ts';
import type { IdentityOptions } from './identity-config.ts';
import { IdentityCheckService } from './identity-check-service.ts';
import { HolderService } from './holder-service.ts';
import { LdapDirectory } from './ldap-directory.ts';
import { LocalDirectory } from './local-directory.ts';
import { createMailer, type Mailer } from './mailer.ts';
import { PasswordHasher, PRODUCTION_ARGON2_COST } from './password-hasher.ts';
import { SecurityQuestionService } from './security-question-service.ts';
import { DEFAULT_UNBLOCK_CODE_SETTINGS, UnblockCodeService } from './unblock-code-service.ts';
import { WorkstationService } from './workstation-service.ts';

export interface IdentityServices {
  directory: HolderDirectory;
  mailer: Mailer;
  hasher: PasswordHasher;
  holders: HolderService;
  securityQuestions: SecurityQuestionService;
  unblockCodes: UnblockCodeService;
  identityChecks: IdentityCheckService;
  workstations: WorkstationService;
  close(): Promise<void>;
}

export function createIdentityServices(services: Services, options: IdentityOptions = {}): IdentityServices {
  const context = services.context;
  const hasher = new PasswordHasher(options.argon2 ?? PRODUCTION_ARGON2_COST);
  const directory: HolderDirectory = options.directory?.kind === 'ldap' ? new LdapDirectory(options.directory) : new LocalDirectory(context.db, hasher);
  const mailer = createMailer(options.smtp);
  const securityQuestions = new SecurityQuestionService(context, directory, hasher);
  const unblockCodes = new UnblockCodeService(context, services.credentials, directory, mailer, hasher, options.unblockCodes ?? DEFAULT_UNBLOCK_CODE_SETTINGS);
  const identityChecks = new IdentityCheckService(context, services.credentials, services.templates, directory, securityQuestions, unblockCodes, mailer);
  const workstations = new WorkstationService(context);
  services.credentials.identityReadiness = async (credential, template) => {
    const missing = await identityChecks.missingEnrolments(credential, template);
    return { ...missing, workstationsEnrolled: (await workstations.activeCount()) > 0 };
  };
  return {
    directory,
    mailer,
    hasher,
    holders: new HolderService(context, directory, securityQuestions, hasher),
    securityQuestions,
    unblockCodes,
    identityChecks,
    workstations,
    async close() {
      mailer.close();
      await directory.close();
    },
  };
}
