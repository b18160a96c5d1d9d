// Interop tests ask here whether the pcscd stack is up (set by pcscd-global-setup.ts).
import { expect, inject } from 'vitest';

/** True when the interop tests must be skipped because pcscd could not start (never under CI=true). */
export function pcscdMissing(): boolean {
  return inject('pcscdUnavailable') !== undefined;
}

/**
 * Skips a test that needs the pcscd this suite started itself (to restart it or inspect it); under
 * CI=true the suite always starts its own, so there the missing condition is a failure, not a skip.
 */
export function requireOwnPcscd(context: { skip: (note?: string) => void }, available: boolean, reason: string): void {
  if (available) return;
  if (process.env.CI === 'true') expect.fail(`${reason} (under CI=true this must not happen)`);
  context.skip(reason);
}
