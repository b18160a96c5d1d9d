// A virtual card's persistent state: JSON text in a CardStateStore, validated on load, saved after every change.
import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { SW } from '../card/status-words.ts';
import { StatusWordAnswer } from './apdu-framing.ts';
import { StateFileError, type CardStateStore } from './card-state-store.ts';

export interface CardStateCodec<S> {
  /** Checks a state's text (JSON, schema, cross-field rules); any defect is one StateFileError. */
  parse(text: string, where: string): S;
  serialise(state: S): string;
  /** Recognises this codec's text among other kinds of card state. */
  recognises(text: string): boolean;
}

export function serialiseCardState(state: unknown): string {
  return `${JSON.stringify(state, null, 2)}\n`;
}

/** JSON text → value checked against `schema`; `kind` names the card in the error line ("PIV"). */
export function parseCardStateJson<S>(text: string, where: string, schema: z.ZodType<S>, kind: string): S {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new StateFileError('ERR_STATE_FILE_CORRUPT', `${where} is not valid JSON (truncated or damaged virtual card state)`);
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw invalidCardState(where, kind, `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}

export function invalidCardState(where: string, kind: string, detail: string): StateFileError {
  return new StateFileError('ERR_STATE_FILE_CORRUPT', `${where} is not a valid virtual ${kind} card state: ${detail}`);
}

/** What a card whose store has failed answers to every command. */
export const MEMORY_FAILURE_ANSWER = Uint8Array.of(SW.MEMORY_FAILURE >> 8, SW.MEMORY_FAILURE & 0xff);

/** A random 8-digit serial number, as a factory would print on a card. */
export function randomSerial(): number {
  return 10_000_000 + (randomBytes(4).readUInt32BE(0) % 90_000_000);
}

/**
 * The state a card works on, and the text last stored. `commit()` stores the current state; if the
 * store fails, the card goes back to what was last stored, answers 6581 (memory failure) and stays
 * failed — answering 6581 to everything — until it is opened again, so that a store that cannot be
 * written never becomes a way to try PINs without counting them.
 */
export class StoredCardState<S> {
  #failed = false;

  private constructor(
    private readonly store: CardStateStore,
    private readonly codec: CardStateCodec<S>,
    public state: S,
    private savedText: string,
  ) {}

  /** Stores a new card's state (a factory-fresh one). */
  static create<S>(store: CardStateStore, codec: CardStateCodec<S>, state: S): StoredCardState<S> {
    const text = codec.serialise(state);
    store.save(text);
    return new StoredCardState(store, codec, state, text);
  }

  /** Loads a card's state; a missing or damaged state is a StateFileError. */
  static open<S>(store: CardStateStore, codec: CardStateCodec<S>, where: string): StoredCardState<S> {
    const text = store.load();
    if (text === undefined) throw new StateFileError('ERR_STATE_FILE_MISSING', `${where} does not exist`);
    return new StoredCardState(store, codec, codec.parse(text, where), text);
  }

  get failed(): boolean {
    return this.#failed;
  }

  commit(): void {
    const text = this.codec.serialise(this.state);
    try {
      this.store.save(text);
      this.savedText = text;
    } catch {
      this.state = this.codec.parse(this.savedText, 'last saved state');
      this.#failed = true;
      throw new StatusWordAnswer(SW.MEMORY_FAILURE);
    }
  }
}
