// Benchmark piece: APDUs per second through pcscd + vpcd, with and without TCP_NODELAY on both ends of the vpcd socket.
import { PcscTransport } from '../src/pcsc/pcsc-transport.ts';
import { waitForCard, waitForCardRemoval } from '../src/pcsc/pcsc-readers.ts';
import type { VirtualCard } from '../src/virtual-card/virtual-card.ts';
import { VpcdConnector } from '../src/virtual-card/vpcd-connector.ts';
import { acquirePcscdLock, pcscdStackStatus, startPcscdStack, stopPcscdStack } from '../scripts/pcscd-stack.ts';

export interface PcscRate {
  apdus: number;
  seconds: number;
  apdusPerSecond: number;
  meanLatencyMs: number;
}

export type PcscBenchResult =
  | { skipped: false; withNodelay: PcscRate; withoutNodelay: PcscRate }
  | { skipped: true; reason: string };

export interface PcscBenchOptions {
  /** Time spent measuring each mode (default 2 s). */
  seconds?: number;
  /** Upper bound on APDUs per mode (default 100,000). */
  maxApdus?: number;
  /** vpcd slot used (default 35964, `Virtual PCD 00 01`). */
  port?: 35963 | 35964;
}

/** Answers GET VERSION (`00 FD 00 00`) like a YubiKey 5.4.3 and nothing else: the cost measured is the transport. */
class VersionCard implements VirtualCard {
  readonly atr = Uint8Array.from([0x3b, 0x8c, 0x80, 0x01, 0x42, 0x65, 0x6e, 0x63, 0x68, 0x43, 0x61, 0x72, 0x64, 0x30, 0x30, 0x31, 0x39]);
  powerOn(): void {}
  powerOff(): void {}
  reset(): void {}
  process(command: Uint8Array): Uint8Array {
    return command[1] === 0xfd ? Uint8Array.from([0x05, 0x04, 0x03, 0x90, 0x00]) : Uint8Array.from([0x6d, 0x00]);
  }
}

const GET_VERSION = Uint8Array.from([0x00, 0xfd, 0x00, 0x00]);

async function measureOnce(nodelay: boolean, options: Required<PcscBenchOptions>): Promise<PcscRate> {
  const readerName = options.port === 35963 ? 'Virtual PCD 00 00' : 'Virtual PCD 00 01';
  await startPcscdStack({ nodelay, warn: () => undefined });
  const card = new VersionCard();
  const connector = new VpcdConnector(card, { port: options.port, noDelay: nodelay });
  let transport: PcscTransport | undefined;
  try {
    await connector.start();
    await waitForCard(readerName, { timeoutMs: 10_000 });
    transport = await PcscTransport.connect(readerName);
    await transport.transmit(GET_VERSION);
    const started = process.hrtime.bigint();
    const budget = BigInt(Math.round(options.seconds * 1e9));
    let apdus = 0;
    while (apdus < options.maxApdus && process.hrtime.bigint() - started < budget) {
      await transport.transmit(GET_VERSION);
      apdus++;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { apdus, seconds, apdusPerSecond: apdus / seconds, meanLatencyMs: (seconds * 1000) / Math.max(apdus, 1) };
  } finally {
    await transport?.close();
    await connector.stop();
    await waitForCardRemoval(readerName, { timeoutMs: 10_000 }).catch(() => undefined);
    await stopPcscdStack();
  }
}

/**
 * Measures both modes by restarting pcscd (with and without the shim). A pcscd this script did
 * not start is never touched: the benchmark is then skipped. One this script started is
 * restarted afterwards as it was.
 */
export async function measurePcscApduRate(options: PcscBenchOptions = {}): Promise<PcscBenchResult> {
  const resolved: Required<PcscBenchOptions> = { seconds: options.seconds ?? 2, maxApdus: options.maxApdus ?? 100_000, port: options.port ?? 35964 };
  // Restarting pcscd under a running interop test run would break it: take the same lock.
  const release = await acquirePcscdLock({ warn: () => undefined });
  const before = await pcscdStackStatus();
  if (before.running && !before.ours) {
    release();
    return { skipped: true, reason: `a pcscd not started by scripts/pcscd-stack.ts runs (pid ${before.pid ?? 'unknown'}); it cannot be restarted without TCP_NODELAY` };
  }
  if (before.ours) await stopPcscdStack();
  try {
    const withNodelay = await measureOnce(true, resolved);
    const withoutNodelay = await measureOnce(false, resolved);
    return { skipped: false, withNodelay, withoutNodelay };
  } catch (error) {
    return { skipped: true, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    try {
      if (before.ours) await startPcscdStack({ nodelay: before.nodelay, warn: () => undefined });
    } finally {
      release();
    }
  }
}
