// The one interface between the card layer and whatever carries APDUs (PC/SC, in-process, relay).

export interface CardTransport {
  /** Sends one command APDU and returns the card's raw response (data followed by SW1 SW2). */
  transmit(command: Uint8Array): Promise<Uint8Array>;
}
