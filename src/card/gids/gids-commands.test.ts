// GIDS command builders: the exact bytes OpenSC and the GIDS specification use, and what is refused before a card sees it.
import { describe, expect, it } from 'vitest';
import { Secret } from '../../secret.ts';
import { encodeCommandApdu, type CommandApdu } from '../apdu.ts';
import { adminKeyEncrypt } from './gids-admin-crypto.ts';
import {
  challengeCommand,
  challengeResponseCommand,
  changeAdminKeyCommand,
  changePinCommand,
  isValidCardProof,
  mutualAuthenticationCryptogramCommand,
  mutualAuthenticationStartCommand,
  pinStatusCommand,
  putAdminKeyCommand,
  resetRetryCounterCommand,
  selectAdminKeyCommand,
  selectApplicationCommand,
  verifyPinCommand,
} from './gids-commands.ts';

const hex = (command: CommandApdu) => Buffer.from(encodeCommandApdu(command)).toString('hex').toUpperCase();
const bytes = (text: string) => Uint8Array.from(Buffer.from(text, 'hex'));
const KEY = '0123456789ABCDEFFEDCBA987654321089ABCDEF01234567';

describe('GIDS commands', () => {
  it('encode as the specification and OpenSC write them', () => {
    expect(hex(selectApplicationCommand())).toBe('00A4040009A0000003974254465900');
    expect(hex(pinStatusCommand())).toBe('00CB3FFF045C027F7100');
    expect(hex(verifyPinCommand(Secret.fromText('1234')))).toBe('002000800431323334');
    expect(hex(changePinCommand(Secret.fromText('1234'), Secret.fromText('56789')))).toBe('0024008009313233343536373839');
    expect(hex(resetRetryCounterCommand(Secret.fromText('5678')))).toBe('002C02800435363738');
    expect(hex(selectAdminKeyCommand())).toBe('0022C1A403830180');
    expect(hex(challengeCommand())).toBe('00870000047C02810000');
    expect(hex(challengeResponseCommand(bytes('F940671512CD0DFF')))).toBe('008700000C7C0A8208F940671512CD0DFF00');
    expect(hex(mutualAuthenticationStartCommand(new Uint8Array(16)))).toMatch(/^00870000147C1281100{32}00$/);
    expect(hex(putAdminKeyCommand(bytes(KEY)))).toBe(`00DB3FFF267024840180A51F8718${KEY}8803B073DC`);
  });

  it('build the mutual authentication cryptogram and check the card\'s proof', () => {
    const key = Secret.fromHex(KEY);
    const r1 = bytes('000102030405060708090A0B0C0D0E0F');
    const r2 = bytes('F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF');
    const z = bytes('11223344556677');
    const command = mutualAuthenticationCryptogramCommand(key, r1, r2, z);
    const expected = adminKeyEncrypt(bytes(KEY), bytes('F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF000102030405060708090A0B0C0D0E0F1122334455667780'));
    expect(hex(command)).toBe(`008700002C7C2A8228${Buffer.from(expected).toString('hex').toUpperCase()}00`);
    const proof = (plain: string) => Uint8Array.from([0x7c, 0x2a, 0x82, 0x28, ...adminKeyEncrypt(bytes(KEY), bytes(plain))]);
    expect(isValidCardProof(key, r1, r2, proof('000102030405060708090A0B0C0D0E0FF0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFFAABBCCDDEEFF0080'))).toBe(true);
    // R1 and R2 swapped, or the padding missing: not a proof.
    expect(isValidCardProof(key, r1, r2, proof('F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF000102030405060708090A0B0C0D0E0FAABBCCDDEEFF0080'))).toBe(false);
    expect(isValidCardProof(key, r1, r2, proof('000102030405060708090A0B0C0D0E0FF0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFFAABBCCDDEEFF0000'))).toBe(false);
  });

  it('refuse bad values before a card sees them', () => {
    expect(() => changeAdminKeyCommand(Secret.fromHex('010203040506070801020304050607080102030405060708'))).toThrow(expect.objectContaining({ code: 'ERR_CARD_INVALID_ARGUMENT' }));
    expect(() => challengeResponseCommand(new Uint8Array(9))).toThrow(expect.objectContaining({ code: 'ERR_CARD_INVALID_ARGUMENT' }));
    expect(() => resetRetryCounterCommand(Secret.fromText('123'))).toThrow(expect.objectContaining({ code: 'ERR_CARD_PIN_FORMAT' }));
    expect(() => resetRetryCounterCommand(Secret.fromText('12345678901234567'))).toThrow(expect.objectContaining({ code: 'ERR_CARD_PIN_FORMAT' }));
    expect(() => verifyPinCommand(Secret.fromText('1'))).toThrow(expect.objectContaining({ code: 'ERR_CARD_PIN_FORMAT' }));
  });
});
