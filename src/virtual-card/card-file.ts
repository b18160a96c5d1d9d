// Virtual card files: create one of a given type, or open one whatever its type.
import { existsSync } from 'node:fs';
import { FileStateStore, StateFileError } from './card-state-store.ts';
import { VirtualGidsCard } from './gids/virtual-gids-card.ts';
import { VirtualPivCard } from './piv/virtual-piv-card.ts';
import type { VirtualCard } from './virtual-card.ts';

export const VIRTUAL_CARD_TYPES = ['piv', 'gids'] as const;
export type VirtualCardType = (typeof VIRTUAL_CARD_TYPES)[number];

export interface OpenedVirtualCard {
  type: VirtualCardType;
  card: VirtualCard;
}

export interface CreateVirtualCardOptions {
  serial?: number;
}

/** Creates a factory-fresh virtual card in a new file (mode 0600); never overwrites one. */
export function createVirtualCardFile(type: VirtualCardType, path: string, options: CreateVirtualCardOptions = {}): OpenedVirtualCard {
  if (existsSync(path)) throw new StateFileError('ERR_STATE_FILE_EXISTS', `${path} already exists; a virtual card file is never overwritten`);
  const store = new FileStateStore(path);
  switch (type) {
    case 'piv':
      return { type, card: VirtualPivCard.create(store, options) };
    case 'gids':
      // A GIDS card leaves the factory blank; gids-tool -X or Tessera's issuance initialises it.
      return { type, card: VirtualGidsCard.createBlank(store, options) };
  }
}

/** Opens a virtual card file, recognising its type from its content. */
export function openVirtualCardFile(path: string): OpenedVirtualCard {
  const store = new FileStateStore(path);
  const text = store.load();
  if (text === undefined) throw new StateFileError('ERR_STATE_FILE_MISSING', `${path} does not exist`);
  if (VirtualPivCard.isPivState(text)) return { type: 'piv', card: VirtualPivCard.open(store, path) };
  if (VirtualGidsCard.isGidsState(text)) return { type: 'gids', card: VirtualGidsCard.open(store, path) };
  throw new StateFileError('ERR_STATE_FILE_CORRUPT', `${path} is not a Tessera virtual card file`);
}
