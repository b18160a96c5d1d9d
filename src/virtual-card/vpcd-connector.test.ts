// The vpcd connector's framing, control codes, reconnection and stop, against a local TCP peer speaking vpcd's side.
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { VirtualCard } from './virtual-card.ts';
import { VpcdConnector, parseVpcdAddress, type VpcdEvent } from './vpcd-connector.ts';

/** A card that records what happened to it and echoes APDUs back with 9000. */
class RecordingCard implements VirtualCard {
  readonly atr = Uint8Array.from([0x3b, 0x80, 0x80, 0x01, 0x01]);
  readonly calls: string[] = [];
  powerOn(): void {
    this.calls.push('powerOn');
  }
  powerOff(): void {
    this.calls.push('powerOff');
  }
  reset(): void {
    this.calls.push('reset');
  }
  process(command: Uint8Array): Uint8Array {
    this.calls.push(`apdu ${Buffer.from(command).toString('hex')}`);
    return Uint8Array.from([...command.subarray(1, 2), 0x90, 0x00]);
  }
}

/** The vpcd side: accepts the card's connection, sends frames, reads answers. */
class FakeVpcd {
  readonly server: Server;
  sockets: Socket[] = [];
  #received = Buffer.alloc(0);
  #waiters: Array<() => void> = [];
  #connectWaiters: Array<() => void> = [];

  constructor() {
    this.server = createServer((socket) => {
      this.sockets.push(socket);
      this.#received = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        this.#received = Buffer.concat([this.#received, chunk]);
        for (const wake of this.#waiters.splice(0)) wake();
      });
      socket.on('error', () => undefined);
      for (const wake of this.#connectWaiters.splice(0)) wake();
    });
  }

  async listen(port = 0): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  get current(): Socket {
    const socket = this.sockets.at(-1);
    if (!socket) throw new TypeError('no card connected');
    return socket;
  }

  async waitForConnections(count: number): Promise<void> {
    while (this.sockets.length < count) await new Promise<void>((resolve) => this.#connectWaiters.push(resolve));
  }

  frame(payload: number[]): Buffer {
    return Buffer.from([payload.length >> 8, payload.length & 0xff, ...payload]);
  }

  /** Reads one framed answer from the card. */
  async answer(): Promise<Buffer> {
    for (;;) {
      if (this.#received.length >= 2) {
        const length = this.#received.readUInt16BE(0);
        if (this.#received.length >= 2 + length) {
          const payload = this.#received.subarray(2, 2 + length);
          this.#received = this.#received.subarray(2 + length);
          return Buffer.from(payload);
        }
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('VpcdConnector', () => {
  let vpcd: FakeVpcd | undefined;
  let connector: VpcdConnector | undefined;

  afterEach(async () => {
    await connector?.stop();
    await vpcd?.close();
    connector = undefined;
    vpcd = undefined;
  });

  async function attach(card: VirtualCard, onEvent?: (event: VpcdEvent) => void): Promise<FakeVpcd> {
    vpcd = new FakeVpcd();
    const port = await vpcd.listen();
    connector = new VpcdConnector(card, { port, minBackoffMs: 10, maxBackoffMs: 50, onEvent });
    await connector.start();
    await vpcd.waitForConnections(1);
    return vpcd;
  }

  it('answers GET ATR with the ATR and runs power and reset control codes without answering', async () => {
    const card = new RecordingCard();
    const peer = await attach(card);
    peer.current.write(Buffer.concat([peer.frame([0x01]), peer.frame([0x02]), peer.frame([0x00]), peer.frame([0x04])]));
    expect([...(await peer.answer())]).toEqual([...card.atr]);
    expect(card.calls).toEqual(['powerOn', 'reset', 'powerOff']);
  });

  it('answers an APDU with the card response, however the frames are split', async () => {
    const card = new RecordingCard();
    const peer = await attach(card);
    const bytes = Buffer.concat([peer.frame([0x00, 0xfd, 0x00, 0x00]), peer.frame([0x00, 0xa4, 0x04, 0x00, 0x01, 0xa0])]);
    for (const byte of bytes) peer.current.write(Buffer.from([byte]));
    expect([...(await peer.answer())]).toEqual([0xfd, 0x90, 0x00]);
    expect([...(await peer.answer())]).toEqual([0xa4, 0x90, 0x00]);
    expect(card.calls).toEqual(['apdu 00fd0000', 'apdu 00a4040001a0']);
  });

  it('reconnects after vpcd drops the connection, and the card loses power meanwhile', async () => {
    const card = new RecordingCard();
    const events: string[] = [];
    const peer = await attach(card, (event) => events.push(event.type));
    peer.current.destroy();
    await peer.waitForConnections(2);
    await connector!.waitUntilConnected();
    peer.current.write(peer.frame([0x04]));
    expect([...(await peer.answer())]).toEqual([...card.atr]);
    expect(card.calls).toContain('powerOff');
    expect(events.slice(0, 3)).toEqual(['connected', 'disconnected', 'connected']);
  });

  it('keeps trying while nothing listens, then attaches when vpcd comes up', async () => {
    vpcd = new FakeVpcd();
    const port = await vpcd.listen();
    await new Promise<void>((resolve) => vpcd!.server.close(() => resolve()));
    const card = new RecordingCard();
    connector = new VpcdConnector(card, { port, minBackoffMs: 10, maxBackoffMs: 40 });
    const started = connector.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(connector.connected).toBe(false);
    vpcd = new FakeVpcd();
    await vpcd.listen(port);
    await started;
    await vpcd.waitForConnections(1);
    expect(connector.connected).toBe(true);
  });

  it('stop() removes the card and does not reconnect', async () => {
    const card = new RecordingCard();
    const peer = await attach(card);
    const closed = new Promise<void>((resolve) => peer.current.once('close', () => resolve()));
    await connector!.stop();
    await closed;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(peer.sockets).toHaveLength(1);
    expect(connector!.connected).toBe(false);
  });
});

describe('parseVpcdAddress', () => {
  it('reads HOST:PORT, [v6]:PORT and PORT', () => {
    expect(parseVpcdAddress('127.0.0.1:35963')).toEqual({ host: '127.0.0.1', port: 35963 });
    expect(parseVpcdAddress('[::1]:35964')).toEqual({ host: '::1', port: 35964 });
    expect(parseVpcdAddress('35964')).toEqual({ host: '127.0.0.1', port: 35964 });
  });

  it('refuses anything else with a stable code', () => {
    for (const bad of ['', 'host', 'host:0', 'host:70000', 'host:12x', ':']) {
      expect(() => parseVpcdAddress(bad)).toThrow(expect.objectContaining({ code: 'ERR_VPCD_ADDRESS' }));
    }
  });
});
