// The six ways a PIN gets reset (DESIGN.md section 1) and what each one needs.
export const UNBLOCK_METHODS = [
  'user-app',
  'credential-provider',
  'operator',
  'user-app-helpdesk',
  'credential-provider-helpdesk',
  'windows-native',
] as const;
export type UnblockMethod = (typeof UNBLOCK_METHODS)[number];

export interface UnblockMethodTraits {
  offline: boolean;
  /** The holder drives it alone (identity factors replace an operator). */
  selfService: boolean;
  /** The permission an operator's role needs, when an operator takes part. */
  operatorPermission: `unblock:${UnblockMethod}` | null;
}

export const UNBLOCK_METHOD_TRAITS: Record<UnblockMethod, UnblockMethodTraits> = {
  'user-app': { offline: false, selfService: true, operatorPermission: null },
  'credential-provider': { offline: false, selfService: true, operatorPermission: null },
  operator: { offline: false, selfService: false, operatorPermission: 'unblock:operator' },
  'user-app-helpdesk': { offline: true, selfService: false, operatorPermission: 'unblock:user-app-helpdesk' },
  'credential-provider-helpdesk': {
    offline: true,
    selfService: false,
    operatorPermission: 'unblock:credential-provider-helpdesk',
  },
  'windows-native': { offline: true, selfService: false, operatorPermission: 'unblock:windows-native' },
};
