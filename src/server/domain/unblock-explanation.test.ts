// The explanation of unblock methods: each closed method carries every reason that closes it.
import { describe, expect, it } from 'vitest';
import { exampleTemplates } from './credential-template.ts';
import { PERMISSIONS } from './permissions.ts';
import { explainUnblockMethods } from './unblock-explanation.ts';

const [piv, gids] = exampleTemplates();

describe('explainUnblockMethods', () => {
  it('lists all six methods and opens those the template, state and role allow', () => {
    const result = explainUnblockMethods({
      template: gids!,
      credential: { state: 'active', pukEscrowState: 'none' },
      operator: { permissions: PERMISSIONS, isHolder: false },
    });
    expect(result.map((r) => r.method)).toHaveLength(6);
    expect(result.every((r) => r.open)).toBe(true);
  });

  it('gives the reasons a method is closed', () => {
    const result = explainUnblockMethods({
      template: piv!,
      credential: { state: 'suspended', pukEscrowState: 'none' },
      operator: { permissions: [], isHolder: true },
    });
    const byMethod = Object.fromEntries(result.map((r) => [r.method, r]));
    expect(byMethod['windows-native']!.reasons).toEqual(
      expect.arrayContaining(['METHOD_NOT_IN_TEMPLATE', 'CARD_TYPE_UNSUPPORTED', 'CREDENTIAL_STATE', 'PUK_NOT_ESCROWED', 'ROLE_LACKS_PERMISSION', 'OPERATOR_IS_HOLDER']),
    );
    expect(byMethod['user-app']!.reasons).toEqual(['CREDENTIAL_STATE', 'PUK_NOT_ESCROWED']);
    expect(result.some((r) => r.open)).toBe(false);
  });
});
