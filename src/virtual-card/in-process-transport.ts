// Carries APDUs straight to a virtual card in the same process (tests, benchmarks, CLI on a card file).
import type { CardTransport } from '../card/card-transport.ts';
import type { VirtualCard } from './virtual-card.ts';

export class InProcessTransport implements CardTransport {
  constructor(private readonly card: VirtualCard) {}

  transmit(command: Uint8Array): Promise<Uint8Array> {
    return Promise.resolve(this.card.process(command));
  }
}
