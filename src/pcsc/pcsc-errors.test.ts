// How failures of the `smartcard` binding become typed Tessera errors.
import { describe, expect, it } from 'vitest';
import { CardRemovedError, TransportError } from '../card/card-errors.ts';
import { CardInUseError, PcscUnavailableError, ReaderNotFoundError, translatePcscError } from './pcsc-errors.ts';

describe('translatePcscError', () => {
  it('turns a removed, reset or unpowered card into CardRemovedError', () => {
    for (const message of ['Card was removed', 'Card was reset', 'Card is unpowered', 'No smart card present']) {
      const error = translatePcscError(new Error(message), 'transmit');
      expect(error).toBeInstanceOf(CardRemovedError);
      expect(error.code).toBe('ERR_CARD_REMOVED');
      expect(error.cause).toBeInstanceOf(Error);
    }
  });

  it('names a missing service, a card in use, and anything else as a transport failure', () => {
    expect(translatePcscError(new Error('PC/SC service not running'), 'listing').code).toBe('ERR_PCSC_UNAVAILABLE');
    expect(translatePcscError(new Error('PC/SC service not running'), 'listing')).toBeInstanceOf(PcscUnavailableError);
    expect(translatePcscError(new Error('Sharing violation'), 'connect')).toBeInstanceOf(CardInUseError);
    const other = translatePcscError(new Error('Communication error'), 'transmit to "R"');
    expect(other).toBeInstanceOf(TransportError);
    expect(other.message).toBe('transmit to "R": Communication error');
  });

  it('passes Tessera errors through unchanged', () => {
    const original = new ReaderNotFoundError('X', ['A']);
    expect(translatePcscError(original, 'connect')).toBe(original);
    expect(original.message).toBe('no reader named "X" (readers: "A")');
  });
});
