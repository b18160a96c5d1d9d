// The domain services one server instance runs, built once by buildApp and handed to the routes.
import { CredentialService } from './credential-service.ts';
import { OperatorService } from './operator-service.ts';
import type { ServiceContext } from './service-context.ts';
import { SessionService } from './session-service.ts';
import { TemplateService } from './template-service.ts';

export interface Services {
  context: ServiceContext;
  templates: TemplateService;
  credentials: CredentialService;
  operators: OperatorService;
  sessions: SessionService;
}

export function createServices(context: ServiceContext, options: { sessionSeconds: number }): Services {
  const templates = new TemplateService(context);
  return {
    context,
    templates,
    credentials: new CredentialService(context, templates),
    operators: new OperatorService(context),
    sessions: new SessionService(context, options.sessionSeconds),
  };
}
