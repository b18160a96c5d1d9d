// Operator permissions (DESIGN.md section 4) and the built-in roles created on first start.
import { UNBLOCK_METHODS } from './unblock-methods.ts';

export const PERMISSIONS = [
  'credential:issue',
  ...UNBLOCK_METHODS.map((method) => `unblock:${method}` as const),
  'unblock:approve',
  'template:manage',
  'operator:manage',
  'audit:read',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export interface OperatorOfflineLimits {
  /** Offline responses one operator may release per day (0 = none). */
  maxResponsesPerDay: number;
}

export interface BuiltInRole {
  id: string;
  name: string;
  permissions: Permission[];
  offlineLimits: OperatorOfflineLimits;
}

export const BUILT_IN_ROLES: BuiltInRole[] = [
  { id: 'administrator', name: 'administrator', permissions: [...PERMISSIONS], offlineLimits: { maxResponsesPerDay: 100 } },
  {
    // The helpdesk resets PINs but cannot approve its own offline responses, issue, or change policy.
    id: 'helpdesk',
    name: 'helpdesk',
    permissions: ['unblock:operator', 'unblock:user-app-helpdesk', 'unblock:credential-provider-helpdesk', 'unblock:windows-native'],
    offlineLimits: { maxResponsesPerDay: 50 },
  },
];
