import { describe, expect, it } from 'vitest';
import { TracingTransport, type TraceLine } from './tracing-transport.ts';

const bytes = (text: string) => Uint8Array.from(Buffer.from(text, 'hex'));

describe('TracingTransport', () => {
  const echo = { transmit: async () => bytes('7C0A8208A1A2A3A4A5A6A7A89000') };

  it('masks the data of VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER and GENERAL AUTHENTICATE', async () => {
    const lines: TraceLine[] = [];
    const transport = new TracingTransport(echo, (line) => lines.push(line));
    const secretPin = '313233343536FFFF';
    await transport.transmit(bytes(`0020008008${secretPin}`));
    await transport.transmit(bytes(`0024008010${secretPin}${secretPin}`));
    await transport.transmit(bytes(`002C008010${secretPin}${secretPin}`));
    await transport.transmit(bytes('0087039B0C7C0A8208A1A2A3A4A5A6A7A8'));
    await transport.transmit(bytes('00DB3FFF267024840180A51F8718A1A2A3A4A5A6A7A8'));
    await transport.transmit(bytes('00C0000000'));
    const text = lines.map((l) => l.hex).join('\n');
    expect(text).not.toContain('313233343536');
    expect(text).not.toContain('A1A2A3A4');
    expect(lines[0]).toEqual({ direction: 'command', hex: `00200080${'**'.repeat(9)}` });
    expect(lines[7]).toEqual({ direction: 'response', hex: `${'**'.repeat(12)}9000` });
  });

  it('shows other commands in full', async () => {
    const lines: TraceLine[] = [];
    await new TracingTransport(echo, (line) => lines.push(line)).transmit(bytes('00CB3FFF035C017E'));
    expect(lines[0]!.hex).toBe('00CB3FFF035C017E');
  });
});
