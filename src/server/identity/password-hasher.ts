// Slow salted hashes (argon2id) for security-question answers, one-time codes and local directory passwords.
import { hash, verify, type Algorithm } from '@node-rs/argon2';
import type { Secret } from '../../secret.ts';

// The package declares Algorithm as an ambient const enum, which isolated modules cannot read: 2 is Argon2id.
const ARGON2ID = 2 as Algorithm;

export interface Argon2Cost {
  /** KiB of memory per hash. */
  memoryKib: number;
  /** Passes over the memory. */
  iterations: number;
  parallelism: number;
}

/** OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane): measured 6.5–7.7 ms per hash on the 2-core build machine (a cold first hash ~50 ms). */
export const PRODUCTION_ARGON2_COST: Argon2Cost = { memoryKib: 19_456, iterations: 2, parallelism: 1 };
/** For tests only: the smallest cost argon2 accepts, so suites stay fast. */
export const TEST_ARGON2_COST: Argon2Cost = { memoryKib: 64, iterations: 1, parallelism: 1 };

export class PasswordHasher {
  constructor(readonly cost: Argon2Cost = PRODUCTION_ARGON2_COST) {}

  /** A PHC string (`$argon2id$v=19$m=...`) carrying its own salt and cost, so a cost change keeps old hashes readable. */
  async hash(value: Secret): Promise<string> {
    return await hash(Buffer.from(value.expose()), {
      algorithm: ARGON2ID,
      memoryCost: this.cost.memoryKib,
      timeCost: this.cost.iterations,
      parallelism: this.cost.parallelism,
    });
  }

  async verify(phc: string, value: Secret): Promise<boolean> {
    try {
      return await verify(phc, Buffer.from(value.expose()));
    } catch {
      // A malformed stored hash matches nothing.
      return false;
    }
  }
}
