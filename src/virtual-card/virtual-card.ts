// What every software card offers to whatever carries its APDUs (in-process transport, vpcd).

export interface VirtualCard {
  /** Answer to reset: what pcscd reports for the card. */
  readonly atr: Uint8Array;
  /** Cold reset: security status, selected application and pending answers are forgotten. */
  powerOn(): void;
  powerOff(): void;
  /** Warm reset: as powerOn for security status. */
  reset(): void;
  /** Processes one command APDU and returns response data + SW1 SW2. Never throws. */
  process(command: Uint8Array): Uint8Array;
}
