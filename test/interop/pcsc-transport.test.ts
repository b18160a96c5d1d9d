// The PC/SC transport and the vpcd connector together, through the real pcscd: listing, exclusive use, removal, errors.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { pcscdStackStatus, startPcscdStack, stopPcscdStack } from '../../scripts/pcscd-stack.ts';
import { CardRemovedError, TransportError } from '../../src/card/card-errors.ts';
import { CardInUseError, ReaderNotFoundError } from '../../src/pcsc/pcsc-errors.ts';
import { findPcscReader, listPcscReaders, waitForCard } from '../../src/pcsc/pcsc-readers.ts';
import { PcscTransport } from '../../src/pcsc/pcsc-transport.ts';
import type { VirtualCard } from '../../src/virtual-card/virtual-card.ts';
import { attachVirtualCard, type AttachedVirtualCard } from '../support/virtual-reader.ts';
import { pcscdMissing, requireOwnPcscd } from '../support/pcscd-available.ts';

/** A minimal card: counts power cycles, answers `00 CA` with a counter and echoes anything else's INS. */
class CountingCard implements VirtualCard {
  readonly atr = Uint8Array.from([0x3b, 0x8c, 0x80, 0x01, 0x54, 0x65, 0x73, 0x74, 0x43, 0x61, 0x72, 0x64, 0x31, 0x32, 0x33, 0x34, 0x1b]);
  powerCycles = 0;
  resets = 0;
  processed = 0;
  powerOn(): void {
    this.powerCycles++;
  }
  powerOff(): void {}
  reset(): void {
    this.resets++;
  }
  process(command: Uint8Array): Uint8Array {
    this.processed++;
    if (command[1] === 0xca) return Uint8Array.from([this.processed & 0xff, 0x90, 0x00]);
    if (command[1] === 0xb0) return Uint8Array.from([...new Uint8Array(1000).fill(0x5a), 0x90, 0x00]);
    return Uint8Array.from([command[1] ?? 0, 0x90, 0x00]);
  }
}

describe.skipIf(pcscdMissing())('PC/SC transport through pcscd + vpcd', () => {
  let attached: AttachedVirtualCard | undefined;
  const transports: PcscTransport[] = [];

  afterEach(async () => {
    for (const transport of transports.splice(0)) await transport.close();
    await attached?.detach();
    attached = undefined;
  });

  it('lists the vpcd readers, and a card with its ATR once attached', async () => {
    const card = new CountingCard();
    const before = await listPcscReaders();
    expect(before.map((reader) => reader.name)).toEqual(expect.arrayContaining(['Virtual PCD 00 00', 'Virtual PCD 00 01']));
    attached = await attachVirtualCard(card, { port: 35964 });
    const reader = await findPcscReader('Virtual PCD 00 01');
    expect(reader.cardPresent).toBe(true);
    expect(Buffer.from(reader.atr!).toString('hex')).toBe(Buffer.from(card.atr).toString('hex'));
  });

  it('transmits APDUs, short and with a 1000-byte answer', async () => {
    const card = new CountingCard();
    attached = await attachVirtualCard(card, { port: 35964 });
    const transport = await PcscTransport.connect(attached.readerName);
    transports.push(transport);
    expect(Buffer.from(transport.atr).equals(Buffer.from(card.atr))).toBe(true);
    expect([...(await transport.transmit(Uint8Array.from([0x00, 0xfd, 0x00, 0x00])))]).toEqual([0xfd, 0x90, 0x00]);
    const long = await transport.transmit(Uint8Array.from([0x00, 0xb0, 0x00, 0x00, 0x00, 0x03, 0xe8]));
    expect(long.length).toBe(1002);
    expect(card.processed).toBeGreaterThanOrEqual(2);
  });

  it('holds the card exclusively: a second connection is refused until the first closes', async () => {
    attached = await attachVirtualCard(new CountingCard(), { port: 35964 });
    const first = await PcscTransport.connect(attached.readerName);
    transports.push(first);
    await expect(PcscTransport.connect(attached.readerName)).rejects.toBeInstanceOf(CardInUseError);
    await first.close();
    const second = await PcscTransport.connect(attached.readerName);
    transports.push(second);
    expect((await second.transmit(Uint8Array.from([0x00, 0xca, 0x00, 0x00])))[1]).toBe(0x90);
  });

  it('reports a card removed mid-operation as CardRemovedError', async () => {
    attached = await attachVirtualCard(new CountingCard(), { port: 35964 });
    const transport = await PcscTransport.connect(attached.readerName);
    transports.push(transport);
    await transport.transmit(Uint8Array.from([0x00, 0xca, 0x00, 0x00]));
    await attached.detach();
    attached = undefined;
    await expect(transport.transmit(Uint8Array.from([0x00, 0xca, 0x00, 0x00]))).rejects.toBeInstanceOf(CardRemovedError);
  });

  it('sees a card again after it is removed and re-attached (reconnect of the card side)', async () => {
    const card = new CountingCard();
    attached = await attachVirtualCard(card, { port: 35964 });
    await attached.detach();
    attached = await attachVirtualCard(card, { port: 35964 });
    const reader = await waitForCard('Virtual PCD 00 01', { timeoutMs: 5000 });
    expect(reader.cardPresent).toBe(true);
  });

  it('pcscd runs with the TCP_NODELAY shim loaded when the stack script started it with gcc', async (context) => {
    const status = await pcscdStackStatus();
    requireOwnPcscd(context, status.ours && inject('pcscdNodelay'), 'pcscd was not started by scripts/pcscd-stack.ts with the shim');
    expect(readFileSync(`/proc/${status.pid}/maps`, 'utf8')).toMatch(/vpcd-nodelay-[0-9a-f]+\.so/);
  });

  it('a pcscd restart fails an open connection with a typed error; the connector re-attaches the card', async (context) => {
    const status = await pcscdStackStatus();
    requireOwnPcscd(context, status.ours, 'pcscd was not started by scripts/pcscd-stack.ts, so the test must not restart it');
    const card = new CountingCard();
    attached = await attachVirtualCard(card, { port: 35964 });
    const transport = await PcscTransport.connect(attached.readerName);
    transports.push(transport);
    await stopPcscdStack();
    const failure = await transport.transmit(Uint8Array.from([0x00, 0xca, 0x00, 0x00])).catch((error: unknown) => error);
    expect(failure instanceof TransportError || failure instanceof CardRemovedError).toBe(true);
    await startPcscdStack({ nodelay: status.nodelay });
    await waitForCard(attached.readerName, { timeoutMs: 15_000, atr: card.atr });
    const again = await PcscTransport.connect(attached.readerName);
    transports.push(again);
    expect((await again.transmit(Uint8Array.from([0x00, 0xfd, 0x00, 0x00])))[0]).toBe(0xfd);
  });

  it('names the readers there are when asked for one that does not exist', async () => {
    const failure = await PcscTransport.connect('No Such Reader 00 00').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ReaderNotFoundError);
    expect((failure as ReaderNotFoundError).code).toBe('ERR_PCSC_READER_NOT_FOUND');
    expect((failure as Error).message).toContain('Virtual PCD 00 00');
  });
});
