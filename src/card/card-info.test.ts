import { describe, expect, it } from 'vitest';
import { Secret } from '../secret.ts';
import { MemoryStateStore } from '../virtual-card/card-state-store.ts';
import { VirtualGidsCard } from '../virtual-card/gids/virtual-gids-card.ts';
import { InProcessTransport } from '../virtual-card/in-process-transport.ts';
import { VirtualPivCard } from '../virtual-card/piv/virtual-piv-card.ts';
import { readCardInfo } from './card-info.ts';
import { GidsSession } from './gids/gids-session.ts';
import type { CardTransport } from './card-transport.ts';

describe('readCardInfo', () => {
  it('reads a PIV card', async () => {
    const card = VirtualPivCard.create(new MemoryStateStore(), { serial: 777 });
    expect(await readCardInfo(new InProcessTransport(card))).toEqual({
      type: 'piv',
      identifier: null,
      serial: 777,
      version: '5.4.3',
      pinTriesLeft: 3,
      pukTriesLeft: 3,
    });
  });

  it('reads a GIDS card, blank and then initialised', async () => {
    const card = VirtualGidsCard.createBlank(new MemoryStateStore());
    const transport = new InProcessTransport(card);
    expect(await readCardInfo(transport)).toMatchObject({ type: 'gids', identifier: null, pinTriesLeft: null });
    const cardId = Uint8Array.from(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
    const gids = await GidsSession.open(transport);
    await gids.initialise({ pin: Secret.fromText('1234'), adminKey: Secret.fromHex('0123456789ABCDEFFEDCBA987654321089ABCDEF01234567'), cardId });
    card.reset();
    expect(await readCardInfo(transport)).toEqual({
      type: 'gids',
      identifier: '00112233445566778899aabbccddeeff',
      serial: null,
      version: null,
      pinTriesLeft: 3,
      pukTriesLeft: null,
    });
  });

  it('names a card with neither application', async () => {
    const noApplication: CardTransport = { transmit: async () => Uint8Array.of(0x6a, 0x82) };
    await expect(readCardInfo(noApplication)).rejects.toMatchObject({ code: 'ERR_CARD_APPLICATION_NOT_FOUND' });
  });
});
