// Benchmark helper: a transport that counts the APDUs crossing it.
import type { CardTransport } from '../src/card/card-transport.ts';

export class CountingTransport implements CardTransport {
  count = 0;
  constructor(private readonly inner: CardTransport) {}
  transmit(command: Uint8Array): Promise<Uint8Array> {
    this.count++;
    return this.inner.transmit(command);
  }
}
