// `tessera card ...`: create, inspect and serve cards (virtual card files and readers).
import { Option, type Command } from 'commander';
import { readCardInfo, type CardInfo } from '../card/card-info.ts';
import { createVirtualCardFile, openVirtualCardFile, VIRTUAL_CARD_TYPES, type VirtualCardType } from '../virtual-card/card-file.ts';
import { UsageError } from './cli-errors.ts';
import { maskCommandForTrace, maskResponseForTrace } from '../card/tracing-transport.ts';
import { listPcscReaders } from '../pcsc/pcsc-readers.ts';
import { DEFAULT_MANAGEMENT_KEY_HEX, PIV_ALGORITHM, PIV_SLOT, isManagementKeyAlgorithm } from '../card/piv/piv-constants.ts';
import { Secret } from '../secret.ts';
import { withCardTransport, withPivSession, type CardChoice } from './card-connection.ts';
import { readSecretLine } from './prompt.ts';
import { VpcdConnector, parseVpcdAddress, type VpcdEvent } from '../virtual-card/vpcd-connector.ts';

const VIRTUAL_CARD_WARNING =
  'A virtual card is a development and test credential, not a secure element: its PIN digests, keys and counters live in a file.';

export function parseSerial(text: string): number {
  if (!/^\d{1,10}$/.test(text) || Number(text) > 0xffffffff) throw new UsageError(`--serial must be a whole number from 0 to 4294967295, got "${text}"`);
  return Number(text);
}

const KEY_ALGORITHMS = {
  eccp256: PIV_ALGORITHM.ECC_P256,
  eccp384: PIV_ALGORITHM.ECC_P384,
  rsa2048: PIV_ALGORITHM.RSA_2048,
} as const;

const SLOTS: Record<string, number> = {
  '9a': PIV_SLOT.AUTHENTICATION,
  '9c': PIV_SLOT.SIGNATURE,
  '9d': PIV_SLOT.KEY_MANAGEMENT,
  '9e': PIV_SLOT.CARD_AUTHENTICATION,
};

export function parseSlot(text: string): number {
  const slot = SLOTS[text.toLowerCase()];
  if (slot === undefined) throw new UsageError(`--slot must be one of 9a, 9c, 9d, 9e, got "${text}"`);
  return slot;
}

function parseHexKey(secret: Secret): Secret {
  const text = secret.exposeText().trim();
  if (!/^([0-9a-fA-F]{2}){16,32}$/.test(text)) throw new UsageError('the management key must be 32 to 64 hexadecimal digits');
  return Secret.fromHex(text);
}

/** The human form of `card info`: one fact per line. */
export function formatCardInfo(info: CardInfo): string {
  const show = (value: string | number | null) => (value === null ? '-' : String(value));
  return [
    `type:            ${info.type}`,
    `identifier:      ${show(info.identifier)}`,
    `serial:          ${show(info.serial)}`,
    `version:         ${show(info.version)}`,
    `PIN tries left:  ${show(info.pinTriesLeft)}`,
    `PUK tries left:  ${show(info.pukTriesLeft)}`,
  ].join('\n');
}

export function printCardInfo(info: CardInfo, json: boolean): void {
  process.stdout.write(json ? `${JSON.stringify(info)}\n` : `${formatCardInfo(info)}\n`);
}

export function registerCardCommands(program: Command): void {
  const card = program
    .command('card')
    .description('create, inspect and serve smart cards and virtual cards')
    .addHelpText('after', `\n${VIRTUAL_CARD_WARNING}`);

  card
    .command('create')
    .description('create a factory-fresh virtual card in a new state file')
    .addOption(new Option('--type <type>', 'card application').choices([...VIRTUAL_CARD_TYPES]).makeOptionMandatory())
    .requiredOption('--state <file>', 'state file to create (mode 0600, never overwritten)')
    .option('--serial <n>', 'serial number (default: random 8 digits)', parseSerial)
    .addHelpText('after', `\n${VIRTUAL_CARD_WARNING}`)
    .action((options: { type: VirtualCardType; state: string; serial?: number }) => {
      createVirtualCardFile(options.type, options.state, options.serial === undefined ? {} : { serial: options.serial });
      process.stdout.write(`created a ${options.type} virtual card in ${options.state}\n`);
    });

  card
    .command('info')
    .description('show card type, identifier, serial, version and PIN/PUK tries left (spends no try)')
    .option('--card <file>', 'virtual card state file')
    .option('--reader <name>', 'PC/SC reader (full name, as `card list` shows it)')
    .option('--json', 'machine-readable output')
    .action(async (options: CardChoice & { json?: boolean }) => {
      if (options.card === undefined && options.reader === undefined) throw new UsageError('card info needs --card FILE or --reader NAME');
      printCardInfo(await withCardTransport(options, readCardInfo), options.json === true);
    });

  card
    .command('generate-key')
    .description('generate a key pair in a PIV slot (needs the management key) and print its public key')
    .requiredOption('--slot <slot>', 'key slot: 9a, 9c, 9d or 9e', parseSlot)
    .addOption(new Option('--algorithm <algorithm>', 'key algorithm').choices(Object.keys(KEY_ALGORITHMS)).default('eccp256'))
    .option('--card <file>', 'virtual card state file')
    .option('--reader <name>', 'PC/SC reader (full name)')
    .option('--default-management-key', "use the factory management key (a fresh card's) instead of prompting")
    .action(async (options: CardChoice & { slot: number; algorithm: keyof typeof KEY_ALGORITHMS; defaultManagementKey?: boolean }) => {
      const managementKey = options.defaultManagementKey
        ? Secret.fromHex(DEFAULT_MANAGEMENT_KEY_HEX)
        : parseHexKey(await readSecretLine('Management key (hex): ', 'management key'));
      const publicKey = await withPivSession(options, async (session) => {
        const algorithm = session.supportsMetadata ? (await session.getManagementKeyMetadata()).algorithm : PIV_ALGORITHM.TDES;
        if (!isManagementKeyAlgorithm(algorithm)) throw new UsageError('the card reports an unknown management key algorithm');
        await session.authenticate(algorithm, managementKey);
        return session.generateKey(options.slot, KEY_ALGORITHMS[options.algorithm]);
      });
      process.stdout.write(publicKey.export({ format: 'pem', type: 'spki' }).toString());
    });

  card
    .command('list')
    .description('list PC/SC readers, whether a card is in each, and its ATR')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const readers = await listPcscReaders();
      const rows = readers.map((reader) => ({ reader: reader.name, cardPresent: reader.cardPresent, atr: reader.atr ? Buffer.from(reader.atr).toString('hex').toUpperCase() : null }));
      if (options.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
      else if (rows.length === 0) process.stdout.write('no readers\n');
      else for (const row of rows) process.stdout.write(`${row.reader}\t${row.cardPresent ? `card ATR ${row.atr ?? '-'}` : 'empty'}\n`);
    });

  card
    .command('serve')
    .description("attach a virtual card file to pcscd's vpcd reader until SIGTERM or SIGINT")
    .requiredOption('--state <file>', 'virtual card state file')
    .option('--vpcd <host:port>', 'vpcd address (reader Virtual PCD 00 00 is 35963, 00 01 is 35964)', '127.0.0.1:35963')
    .option('--trace', 'log APDUs to stderr (secret-carrying data masked)')
    .action(async (options: { state: string; vpcd: string; trace?: boolean }) => {
      await serveVirtualCardFile(options.state, options.vpcd, options.trace === true);
    });
}

/** Serves a card file on vpcd until a signal; the card stores every change as it happens, so stopping loses nothing. */
async function serveVirtualCardFile(statePath: string, vpcd: string, trace: boolean): Promise<void> {
  const address = parseVpcdAddress(vpcd);
  const { type, card } = openVirtualCardFile(statePath);
  const log = (line: string) => process.stderr.write(`tessera: ${line}\n`);
  const onEvent = (event: VpcdEvent): void => {
    if (event.type === 'connected') log(`${type} card ${statePath} attached to vpcd ${event.host}:${event.port}`);
    else if (event.type === 'disconnected') log(`${type} card detached from vpcd ${event.host}:${event.port} (${event.reason})`);
    else if (trace) log(`apdu ${maskCommandForTrace(event.command)} -> ${maskResponseForTrace(event.command, event.response)}`);
  };
  const connector = new VpcdConnector(card, { ...address, onEvent });
  log(`serving ${statePath} on vpcd ${address.host}:${address.port} (SIGTERM or Ctrl-C to stop)`);
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  void connector.start();
  const signal = await signalled;
  await connector.stop();
  card.powerOff();
  log(`stopped on ${signal}; state saved in ${statePath}`);
}
