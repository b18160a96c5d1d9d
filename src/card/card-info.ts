// What any card tells about itself: application type, identifier, serial, version, tries left.
import { ApplicationNotFoundError, NotSupportedError } from './card-errors.ts';
import type { CardTransport } from './card-transport.ts';
import { GidsSession } from './gids/gids-session.ts';
import { PivSession } from './piv/piv-session.ts';

export interface CardInfo {
  type: 'piv' | 'gids';
  /** Hex of the card identifier (PIV: CHUID GUID; GIDS: card id), or null when the card has none yet. */
  identifier: string | null;
  /** YubiKey serial number; GIDS cards have none apart from their identifier. */
  serial: number | null;
  version: string | null;
  pinTriesLeft: number | null;
  pukTriesLeft: number | null;
}

async function optional<T>(read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof NotSupportedError) return null;
    throw error;
  }
}

function unlessAbsent(error: unknown): undefined {
  if (error instanceof ApplicationNotFoundError) return undefined;
  throw error;
}

/** Reads a card's facts without changing anything on it and without spending a PIN try. */
export async function readCardInfo(transport: CardTransport): Promise<CardInfo> {
  const piv = await PivSession.open(transport).catch(unlessAbsent);
  if (piv) return readPivInfo(piv);
  const gids = await GidsSession.open(transport).catch(unlessAbsent);
  if (gids) return readGidsInfo(gids);
  throw new ApplicationNotFoundError('the card has no PIV or GIDS application');
}

async function readGidsInfo(gids: GidsSession): Promise<CardInfo> {
  const identifier = await gids.getCardIdentifier();
  return {
    type: 'gids',
    identifier: identifier ? Buffer.from(identifier).toString('hex') : null,
    serial: null,
    version: null,
    // A blank card has no PIN yet.
    pinTriesLeft: identifier ? await optional(() => gids.getPinTriesLeft()) : null,
    pukTriesLeft: null,
  };
}

async function readPivInfo(piv: PivSession): Promise<CardInfo> {
  const identifier = await piv.getCardIdentifier();
  const version = piv.version;
  return {
    type: 'piv',
    identifier: identifier ? Buffer.from(identifier).toString('hex') : null,
    serial: await optional(() => piv.getSerial()),
    version: version ? `${version.major}.${version.minor}.${version.patch}` : null,
    pinTriesLeft: await optional(() => piv.getPinTriesLeft()),
    pukTriesLeft: await optional(() => piv.getPukTriesLeft()),
  };
}
