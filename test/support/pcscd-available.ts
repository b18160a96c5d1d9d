// Interop tests ask here whether the pcscd stack is up (set by pcscd-global-setup.ts).
import { inject } from 'vitest';

/** True when the interop tests must be skipped because pcscd could not start (never under CI=true). */
export function pcscdMissing(): boolean {
  return inject('pcscdUnavailable') !== undefined;
}
