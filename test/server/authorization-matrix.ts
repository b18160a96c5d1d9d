// The one declared table of who may call what: every API route × built-in role × no session.
export type Outcome = 'allowed' | 401 | 403;
export interface RouteAccessExpectation {
  administrator: Outcome;
  helpdesk: Outcome;
  anonymous: Outcome;
}

const open: RouteAccessExpectation = { administrator: 'allowed', helpdesk: 'allowed', anonymous: 'allowed' };
const signedIn: RouteAccessExpectation = { administrator: 'allowed', helpdesk: 'allowed', anonymous: 401 };
const adminOnly: RouteAccessExpectation = { administrator: 'allowed', helpdesk: 403, anonymous: 401 };

export const AUTHORIZATION_MATRIX: Record<string, RouteAccessExpectation> = {
  'GET /api/v1/health': open,
  'POST /api/v1/enrolment': open,
  'POST /api/v1/sessions/challenge': open,
  'POST /api/v1/sessions': open,
  'DELETE /api/v1/sessions/current': signedIn,
  'GET /api/v1/me': signedIn,
  'GET /api/v1/roles': adminOnly,
  'POST /api/v1/roles': adminOnly,
  'GET /api/v1/operators': adminOnly,
  'POST /api/v1/operators': adminOnly,
  'POST /api/v1/operators/:operatorId/enrolment-code': adminOnly,
  'GET /api/v1/templates': signedIn,
  'GET /api/v1/templates/:templateId': signedIn,
  'POST /api/v1/templates': adminOnly,
  'PUT /api/v1/templates/:templateId': adminOnly,
  'POST /api/v1/templates/:templateId/lock': adminOnly,
  'DELETE /api/v1/templates/:templateId/lock': adminOnly,
  'POST /api/v1/templates/:templateId/pin-check': signedIn,
  'POST /api/v1/credentials': adminOnly,
  'GET /api/v1/credentials': signedIn,
  'GET /api/v1/credentials/:credentialId': signedIn,
  'POST /api/v1/credentials/:credentialId/transitions': adminOnly,
  'POST /api/v1/credentials/:credentialId/pin-check': signedIn,
  'GET /api/v1/credentials/:credentialId/unblock-methods': signedIn,
  'GET /api/v1/audit/verify': adminOnly,
  'GET /api/v1/audit/events': adminOnly,
  'GET /api/v1/holders': signedIn,
  'POST /api/v1/holders': adminOnly,
  'GET /api/v1/holders/:holderId': signedIn,
  'PUT /api/v1/holders/:holderId/security-questions': adminOnly,
  'POST /api/v1/holders/:holderId/lockout-lifts': signedIn,
  'POST /api/v1/credentials/:credentialId/unblock-codes': signedIn,
  'POST /api/v1/self-service/security-questions': open,
  'POST /api/v1/self-service/security-questions/prompt': open,
  'POST /api/v1/identity-checks': open,
  'GET /api/v1/workstations': adminOnly,
  'POST /api/v1/workstations': adminOnly,
  'DELETE /api/v1/workstations/:workstationId': adminOnly,
};
