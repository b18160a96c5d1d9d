// Test helper: attaches a virtual card to one of pcscd's vpcd readers and waits until pcscd sees it.
import { waitForCard, waitForCardRemoval } from '../../src/pcsc/pcsc-readers.ts';
import type { VirtualCard } from '../../src/virtual-card/virtual-card.ts';
import { VpcdConnector } from '../../src/virtual-card/vpcd-connector.ts';

export type VpcdPort = 35963 | 35964;

export const VPCD_READER_NAMES: Record<VpcdPort, string> = {
  35963: 'Virtual PCD 00 00',
  35964: 'Virtual PCD 00 01',
};

export interface AttachedVirtualCard {
  readerName: string;
  connector: VpcdConnector;
  /** Removes the card and waits until pcscd reports the reader empty. */
  detach(): Promise<void>;
}

export async function attachVirtualCard(card: VirtualCard, options: { port: VpcdPort; noDelay?: boolean }): Promise<AttachedVirtualCard> {
  const readerName = VPCD_READER_NAMES[options.port];
  // A card left behind by an earlier test would make the wait below succeed too early.
  await waitForCardRemoval(readerName, { timeoutMs: 10_000 });
  const connector = new VpcdConnector(card, { port: options.port, noDelay: options.noDelay ?? true });
  await connector.start();
  await waitForCard(readerName, { timeoutMs: 10_000, atr: card.atr });
  return {
    readerName,
    connector,
    async detach() {
      await connector.stop();
      await waitForCardRemoval(readerName, { timeoutMs: 10_000 });
    },
  };
}
