// Vitest globalSetup of the interop project: starts pcscd + vpcd once, stops it at the end if it started it.
import type { TestProject } from 'vitest/node';
import { acquirePcscdLock, startPcscdStack, stopPcscdStack, type PcscdStackInfo } from '../../scripts/pcscd-stack.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Why the interop tests cannot run, or undefined when pcscd is up with the vpcd readers. */
    pcscdUnavailable: string | undefined;
    pcscdNodelay: boolean;
  }
}

let started: PcscdStackInfo | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Another vitest run on this machine would share the two vpcd readers: wait for it first.
  const release = await acquirePcscdLock();
  try {
    started = await startPcscdStack();
    project.provide('pcscdUnavailable', undefined);
    project.provide('pcscdNodelay', started.nodelay);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (process.env.CI === 'true') {
      release();
      throw error;
    }
    process.stderr.write(
      `\n${'#'.repeat(78)}\n# pcscd cannot start: the PC/SC interop tests are SKIPPED.\n# ${reason}\n# (under CI=true this is a failure)\n${'#'.repeat(78)}\n\n`,
    );
    project.provide('pcscdUnavailable', reason);
    project.provide('pcscdNodelay', false);
  }
  return async () => {
    try {
      if (started?.startedNow) await stopPcscdStack();
    } finally {
      release();
    }
  };
}
