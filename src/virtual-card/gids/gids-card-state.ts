// The virtual GIDS card's persistent state: a blank card's values, validation on load, JSON form.
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { GIDS_PIN_MAX_LENGTH, GIDS_PIN_MIN_LENGTH } from '../../card/gids/gids-constants.ts';
import { invalidCardState, parseCardStateJson, serialiseCardState, type CardStateCodec } from '../stored-card-state.ts';

export const GIDS_STATE_FORMAT = 'tessera-virtual-gids';
export const GIDS_PIN_TRY_LIMIT = 3;

const hexString = z.string().regex(/^([0-9a-f]{2})*$/, 'lowercase hex');

const pinSchema = z
  .object({
    /** SHA-256 of salt ‖ PIN, or null while no PIN was ever set: the PIN itself is never written. */
    digest: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
    /** Length of the current PIN: CHANGE REFERENCE DATA sends old‖new unpadded and the card splits them here. */
    length: z.number().int().min(0).max(GIDS_PIN_MAX_LENGTH),
    triesLeft: z.number().int().min(0).max(15),
    limit: z.number().int().min(1).max(15),
  })
  .strict();

const dataObjectSchema = z.object({ tag: z.string().regex(/^[0-9a-f]{2,6}$/), value: hexString }).strict();

const fileSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('data-objects'),
      id: z.number().int().min(0).max(0xffff),
      fcp: hexString,
      active: z.boolean(),
      objects: z.array(dataObjectSchema),
    })
    .strict(),
  z
    .object({
      kind: z.literal('key'),
      id: z.number().int().min(0).max(0xffff),
      fcp: hexString,
      active: z.boolean(),
      /** The symmetric key imported by PUT DATA 3F FF (the admin key), or null before. */
      symmetricKey: hexString.nullable(),
    })
    .strict(),
]);

export const gidsCardStateSchema = z
  .object({
    format: z.literal(GIDS_STATE_FORMAT),
    version: z.literal(1),
    /** A factory serial kept for listing cards; GIDS has no instruction that reports it. */
    serial: z.number().int().min(0).max(0xffffffff),
    /** `initialisation` until ACTIVATE on the application: no PIN or admin key is needed then. */
    lifeCycle: z.enum(['initialisation', 'operational']),
    salt: z.string().regex(/^[0-9a-f]{32}$/),
    pin: pinSchema,
    files: z.array(fileSchema),
  })
  .strict();

export type GidsCardState = z.infer<typeof gidsCardStateSchema>;
export type GidsStoredFile = z.infer<typeof fileSchema>;
export type GidsDataObjectFile = Extract<GidsStoredFile, { kind: 'data-objects' }>;
export type GidsKeyFile = Extract<GidsStoredFile, { kind: 'key' }>;

export function pinDigest(salt: string, pin: Uint8Array): string {
  return createHash('sha256').update(Buffer.from(salt, 'hex')).update(pin).digest('hex');
}

/** A GIDS card as it leaves the factory: no file system, no PIN, no admin key, initialisation mode. */
export function blankGidsCardState(serial: number): GidsCardState {
  return {
    format: GIDS_STATE_FORMAT,
    version: 1,
    serial,
    lifeCycle: 'initialisation',
    salt: randomBytes(16).toString('hex'),
    pin: { digest: null, length: 0, triesLeft: GIDS_PIN_TRY_LIMIT, limit: GIDS_PIN_TRY_LIMIT },
    files: [],
  };
}

export function serialiseGidsCardState(state: GidsCardState): string {
  return serialiseCardState(state);
}

/** Parses and validates a state file's text; any defect is one StateFileError line. */
export function parseGidsCardState(text: string, where: string): GidsCardState {
  const state = parseCardStateJson(text, where, gidsCardStateSchema, 'GIDS');
  const invalid = (detail: string) => invalidCardState(where, 'GIDS', detail);
  const { pin } = state;
  if (pin.triesLeft > pin.limit) throw invalid('PIN tries left above the try limit');
  if ((pin.digest === null) !== (pin.length === 0)) throw invalid('PIN digest and length disagree');
  if (pin.digest !== null && pin.length < GIDS_PIN_MIN_LENGTH) throw invalid('PIN shorter than the minimum');
  const ids = new Set(state.files.map((file) => file.id));
  if (ids.size !== state.files.length) throw invalid('two files share an identifier');
  return state;
}

export const gidsCardStateCodec: CardStateCodec<GidsCardState> = {
  parse: parseGidsCardState,
  serialise: serialiseGidsCardState,
  recognises: (text) => text.includes('"tessera-virtual-gids"'),
};
