// Attaches a VirtualCard to pcscd's vpcd reader driver as its TCP client, reconnecting when pcscd restarts.
//
// vpcd protocol: every message both ways is a 2-byte big-endian length and a payload. A 1-byte
// payload from vpcd is a control code (00 power off, 01 power on, 02 reset, 04 get ATR: only
// the last gets an answer); anything longer is a command APDU answered with data + SW.
// Closing the socket is a card removal.
import { Socket } from 'node:net';
import { TesseraError } from '../errors.ts';
import type { VirtualCard } from './virtual-card.ts';

const CONTROL_POWER_OFF = 0x00;
const CONTROL_POWER_ON = 0x01;
const CONTROL_RESET = 0x02;
const CONTROL_GET_ATR = 0x04;

export const DEFAULT_VPCD_HOST = '127.0.0.1';
export const DEFAULT_VPCD_PORT = 35963;

export class VpcdAddressError extends TesseraError {
  readonly code = 'ERR_VPCD_ADDRESS';
}

/** Parses `HOST:PORT` (or `[v6]:PORT`, or `PORT`) as given to `--vpcd`. */
export function parseVpcdAddress(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new VpcdAddressError(`invalid vpcd address "${text}": expected HOST:PORT, e.g. 127.0.0.1:35963`);
  }
  return { host: match[1] || match[2] || DEFAULT_VPCD_HOST, port };
}

export type VpcdEvent =
  | { type: 'connected'; host: string; port: number }
  | { type: 'disconnected'; host: string; port: number; reason: string }
  | { type: 'apdu'; command: Uint8Array; response: Uint8Array };

export interface VpcdConnectorOptions {
  host?: string;
  port?: number;
  /** TCP_NODELAY on the card's socket (default true); false only to measure stock behaviour. */
  noDelay?: boolean;
  /** First reconnection delay; doubles up to maxBackoffMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Connect, disconnect and (for tracing) APDU events. APDU events carry raw bytes: mask before logging. */
  onEvent?: (event: VpcdEvent) => void;
}

/**
 * One virtual card in one vpcd slot. start() keeps it attached, reconnecting with backoff
 * whenever vpcd closes the connection or is not listening; stop() removes the card.
 */
export class VpcdConnector {
  readonly host: string;
  readonly port: number;
  readonly #card: VirtualCard;
  readonly #options: VpcdConnectorOptions;
  #socket: Socket | undefined;
  #stopped = true;
  #backoffMs: number;
  #retryTimer: NodeJS.Timeout | undefined;
  #pending: Buffer = Buffer.alloc(0);
  #connectedWaiters: Array<() => void> = [];
  #isConnected = false;

  constructor(card: VirtualCard, options: VpcdConnectorOptions = {}) {
    this.#card = card;
    this.#options = options;
    this.host = options.host ?? DEFAULT_VPCD_HOST;
    this.port = options.port ?? DEFAULT_VPCD_PORT;
    this.#backoffMs = options.minBackoffMs ?? 100;
  }

  get connected(): boolean {
    return this.#isConnected;
  }

  /** Starts connecting (and reconnecting); resolves once the first connection is up. */
  start(): Promise<void> {
    if (!this.#stopped) return this.waitUntilConnected();
    this.#stopped = false;
    this.#connect();
    return this.waitUntilConnected();
  }

  /** Resolves when connected to vpcd (immediately if already). */
  waitUntilConnected(): Promise<void> {
    if (this.#isConnected) return Promise.resolve();
    return new Promise((resolve) => this.#connectedWaiters.push(resolve));
  }

  /** Removes the card from the reader and stops reconnecting. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const socket = this.#socket;
    if (socket === undefined || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.end();
      // A peer that never acknowledges the FIN must not hold stop() forever.
      setTimeout(() => socket.destroy(), 1000).unref();
    });
  }

  #connect(): void {
    const socket = new Socket();
    this.#socket = socket;
    this.#pending = Buffer.alloc(0);
    let wasConnected = false;
    socket.setNoDelay(this.#options.noDelay ?? true);
    socket.on('connect', () => {
      wasConnected = true;
      this.#isConnected = true;
      this.#backoffMs = this.#options.minBackoffMs ?? 100;
      this.#options.onEvent?.({ type: 'connected', host: this.host, port: this.port });
      for (const resolve of this.#connectedWaiters.splice(0)) resolve();
    });
    socket.on('data', (chunk: Buffer) => this.#receive(socket, chunk));
    let failure = 'connection closed by vpcd';
    socket.on('error', (error: NodeJS.ErrnoException) => {
      failure = error.code ?? error.message;
    });
    socket.on('close', () => {
      if (this.#socket === socket) this.#socket = undefined;
      this.#isConnected = false;
      if (wasConnected) {
        // The reader lost the card: whatever was authenticated is forgotten, as on a real removal.
        this.#card.powerOff();
        this.#options.onEvent?.({ type: 'disconnected', host: this.host, port: this.port, reason: this.#stopped ? 'stopped' : failure });
      }
      if (!this.#stopped) this.#scheduleReconnect();
    });
    socket.connect(this.port, this.host);
  }

  #scheduleReconnect(): void {
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#options.maxBackoffMs ?? 2000);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (!this.#stopped) this.#connect();
    }, delay);
  }

  #receive(socket: Socket, chunk: Buffer): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (this.#pending.length >= 2) {
      const length = this.#pending.readUInt16BE(0);
      if (this.#pending.length < 2 + length) return;
      const message = this.#pending.subarray(2, 2 + length);
      this.#pending = this.#pending.subarray(2 + length);
      const answer = this.#handle(message);
      if (answer !== undefined) this.#send(socket, answer);
    }
  }

  #handle(message: Buffer): Uint8Array | undefined {
    if (message.length === 1) {
      switch (message[0]) {
        case CONTROL_POWER_OFF:
          this.#card.powerOff();
          return undefined;
        case CONTROL_POWER_ON:
          this.#card.powerOn();
          return undefined;
        case CONTROL_RESET:
          this.#card.reset();
          return undefined;
        case CONTROL_GET_ATR:
          return this.#card.atr;
        default:
          // Unknown control codes get no answer; vpcd does not wait for one.
          return undefined;
      }
    }
    if (message.length === 0) return undefined;
    const command = new Uint8Array(message);
    const response = this.#card.process(command);
    this.#options.onEvent?.({ type: 'apdu', command, response });
    return response;
  }

  #send(socket: Socket, payload: Uint8Array): void {
    // One write per message: with TCP_NODELAY the length and payload leave in one segment.
    const frame = Buffer.allocUnsafe(2 + payload.length);
    frame.writeUInt16BE(payload.length, 0);
    frame.set(payload, 2);
    socket.write(frame);
  }
}
