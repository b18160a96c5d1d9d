// The virtual PIV card's persistent state: factory values, validation on load, JSON form.
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { DEFAULT_MANAGEMENT_KEY_HEX, DEFAULT_PIN, DEFAULT_PUK, MANAGEMENT_KEY_PARAMETERS, PIN_BLOCK_LENGTH, PIN_PAD, PIV_ALGORITHM } from '../../card/piv/piv-constants.ts';
import { invalidCardState, parseCardStateJson, serialiseCardState, type CardStateCodec } from '../stored-card-state.ts';

export const PIV_STATE_FORMAT = 'tessera-virtual-piv';

const hexString = z.string().regex(/^([0-9a-f]{2})*$/, 'lowercase hex');
const byte = z.number().int().min(0).max(255);
const retries = z.number().int().min(0).max(15);

const referenceDataSchema = z.object({
  /** SHA-256 of salt ‖ 8-byte padded value: the value itself is never written to the file. */
  digest: z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 digest in lowercase hex'),
  limit: z.number().int().min(1).max(15),
  triesLeft: retries,
  isDefault: z.boolean(),
});

const keySchema = z.object({
  algorithm: byte,
  privateKey: hexString,
  pinPolicy: z.number().int().min(1).max(3),
  touchPolicy: z.number().int().min(1).max(3),
  origin: z.number().int().min(1).max(2),
});

export const pivCardStateSchema = z
  .object({
    format: z.literal(PIV_STATE_FORMAT),
    version: z.literal(1),
    serial: z.number().int().min(0).max(0xffffffff),
    firmware: z.tuple([byte, byte, byte]),
    salt: hexString,
    pin: referenceDataSchema,
    puk: referenceDataSchema,
    managementKey: z.object({
      algorithm: z.union([z.literal(PIV_ALGORITHM.TDES), z.literal(PIV_ALGORITHM.AES_128), z.literal(PIV_ALGORITHM.AES_192), z.literal(PIV_ALGORITHM.AES_256)]),
      key: hexString,
      touchRequired: z.boolean(),
      isDefault: z.boolean(),
    }),
    keys: z.record(z.string().regex(/^[0-9a-f]{2}$/), keySchema),
    objects: z.record(z.string().regex(/^[0-9a-f]{2,6}$/), hexString),
  })
  .strict();

export type PivCardState = z.infer<typeof pivCardStateSchema>;
export type PivReferenceData = z.infer<typeof referenceDataSchema>;
export type PivStoredSlotKey = z.infer<typeof keySchema>;

/** The 8-byte block a PIN or PUK travels in: the value, then FF up to 8 bytes. */
export function padPinBlock(value: Uint8Array): Uint8Array {
  const block = new Uint8Array(PIN_BLOCK_LENGTH).fill(PIN_PAD);
  block.set(value.subarray(0, PIN_BLOCK_LENGTH));
  return block;
}

export function referenceDigest(salt: string, block: Uint8Array): string {
  return createHash('sha256').update(Buffer.from(salt, 'hex')).update(block).digest('hex');
}

function referenceData(salt: string, value: string, limit: number): PivReferenceData {
  return { digest: referenceDigest(salt, padPinBlock(new TextEncoder().encode(value))), limit, triesLeft: limit, isDefault: true };
}

export function factoryPin(salt: string, limit = 3): PivReferenceData {
  return referenceData(salt, DEFAULT_PIN, limit);
}

export function factoryPuk(salt: string, limit = 3): PivReferenceData {
  return referenceData(salt, DEFAULT_PUK, limit);
}

/** A YubiKey 5 (firmware 5.4.3) PIV application as it leaves the factory. */
export function factoryPivCardState(serial: number): PivCardState {
  const salt = randomBytes(16).toString('hex');
  return {
    format: PIV_STATE_FORMAT,
    version: 1,
    serial,
    firmware: [5, 4, 3],
    salt,
    pin: factoryPin(salt),
    puk: factoryPuk(salt),
    managementKey: { algorithm: PIV_ALGORITHM.TDES, key: DEFAULT_MANAGEMENT_KEY_HEX, touchRequired: false, isDefault: true },
    keys: {},
    objects: {},
  };
}

export function serialisePivCardState(state: PivCardState): string {
  return serialiseCardState(state);
}

/** Parses and validates a state file's text; any defect is one StateFileError line. */
export function parsePivCardState(text: string, where: string): PivCardState {
  const state = parseCardStateJson(text, where, pivCardStateSchema, 'PIV');
  if (state.pin.triesLeft > state.pin.limit || state.puk.triesLeft > state.puk.limit) {
    throw invalidCardState(where, 'PIV', 'tries left above the retry limit');
  }
  const keyLength = MANAGEMENT_KEY_PARAMETERS.get(state.managementKey.algorithm)?.keyLength;
  if (state.managementKey.key.length !== 2 * (keyLength ?? 0)) throw invalidCardState(where, 'PIV', 'management key length does not match its algorithm');
  return state;
}

export const pivCardStateCodec: CardStateCodec<PivCardState> = {
  parse: parsePivCardState,
  serialise: serialisePivCardState,
  recognises: (text) => text.includes(`"${PIV_STATE_FORMAT}"`),
};
