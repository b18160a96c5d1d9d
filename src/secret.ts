// A secret value (PIN, PUK, key) that refuses to print itself anywhere.
import { inspect } from 'node:util';

const MASK = '[secret]';

/**
 * Wraps secret bytes so that string conversion, JSON and `util.inspect` only ever show a mask.
 * The bytes are reachable only through `expose()`, so every place that needs them is greppable.
 */
export class Secret {
  readonly #bytes: Uint8Array;

  private constructor(bytes: Uint8Array) {
    this.#bytes = Uint8Array.from(bytes);
  }

  static fromBytes(bytes: Uint8Array): Secret {
    return new Secret(bytes);
  }

  /** A secret typed by a person (PIN, PUK), kept as its UTF-8 bytes. */
  static fromText(text: string): Secret {
    return new Secret(new TextEncoder().encode(text));
  }

  static fromHex(hex: string): Secret {
    return new Secret(Uint8Array.from(Buffer.from(hex, 'hex')));
  }

  get length(): number {
    return this.#bytes.length;
  }

  /** A copy of the secret bytes. Call it only where the value must go to a card or a cipher. */
  expose(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }

  /** The secret as text (a PIN a person typed). Same caution as `expose()`. */
  exposeText(): string {
    return new TextDecoder().decode(this.#bytes);
  }

  equals(other: Secret): boolean {
    const a = this.#bytes;
    const b = other.#bytes;
    if (a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
    return diff === 0;
  }

  toString(): string {
    return MASK;
  }

  toJSON(): string {
    return MASK;
  }

  [inspect.custom](): string {
    return `Secret(${MASK})`;
  }
}
