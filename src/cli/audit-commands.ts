// `tessera audit verify | export`: check the audit chain and export it, reading the server's database and key file.
import { once } from 'node:events';
import { createWriteStream, existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { TesseraError } from '../errors.ts';
import { AuditLog, type AuditExportFilter } from '../server/audit/audit-log.ts';
import { dataPaths } from '../server/data-directory.ts';
import { openDatabase } from '../server/db/open-database.ts';
import { openKeyStore } from '../server/keys/key-store.ts';
import { UsageError } from './cli-errors.ts';
import { keyStoreConfig, keyStoreOptions, type KeyStoreCommandOptions } from './server-command.ts';

export class AuditChainBrokenError extends TesseraError {
  readonly code = 'ERR_AUDIT_CHAIN_BROKEN';
}

export class ServerDataMissingError extends TesseraError {
  readonly code = 'ERR_SERVER_DATA_MISSING';
}

interface StorageOptions extends KeyStoreCommandOptions {
  db?: string;
}

async function withAuditLog<T>(options: StorageOptions, work: (auditLog: AuditLog) => Promise<T>): Promise<T> {
  const paths = dataPaths(options.data);
  const keyStoreSettings = keyStoreConfig(options, false);
  if (keyStoreSettings.kind === 'file' && !existsSync(paths.masterKey)) {
    throw new ServerDataMissingError(`no master key file at ${paths.masterKey}: give the server's --data directory`);
  }
  if (options.db === undefined && !existsSync(paths.sqlite)) throw new ServerDataMissingError(`no database at ${paths.sqlite}: give --db or --data`);
  const database = openDatabase(options.db ?? paths.sqlite);
  try {
    const keyStore = await openKeyStore(keyStoreSettings);
    try {
      return await work(new AuditLog({ db: database.db, keyStore, checkpointDir: paths.auditCheckpoints }));
    } finally {
      await keyStore.close();
    }
  } finally {
    await database.db.destroy();
  }
}

function storageOptions(command: Command): Command {
  return keyStoreOptions(command)
    .option('--db <url>', 'database: postgres://... or a SQLite file (default DATA/tessera.sqlite)')
    .option('--data <dir>', "the server's data directory (master key, audit checkpoints)", 'data');
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('verify and export the audit chain');
  storageOptions(audit.command('verify').description('check every event MAC, the chain links and the checkpoints'))
    .option('--json', 'machine-readable output')
    .action(async (options: StorageOptions & { json?: boolean }) => {
      const result = await withAuditLog(options, (log) => log.verify());
      if (options.json) process.stdout.write(JSON.stringify(result) + '\n');
      if (!result.ok) throw new AuditChainBrokenError(`audit chain broken at event ${result.seq} (${result.kind}): ${result.message}`);
      if (!options.json) process.stdout.write(`audit chain intact: ${result.count} events, ${result.checkpointsChecked} checkpoint(s) checked\n`);
    });
  storageOptions(audit.command('export').description('write audit events as JSON lines or CSV'))
    .option('--format <format>', 'jsonl or csv', 'jsonl')
    .option('--credential <id>', 'only events of this credential')
    .option('--operator <name>', 'only events by this operator')
    .option('--action <action>', 'only events of this action')
    .option('--from <time>', 'events at or after this ISO-8601 time')
    .option('--to <time>', 'events before this ISO-8601 time')
    .option('--out <file>', 'write to a file instead of stdout')
    .action(async (options: StorageOptions & { format: string; credential?: string; operator?: string; action?: string; from?: string; to?: string; out?: string }) => {
      if (options.format !== 'jsonl' && options.format !== 'csv') throw new UsageError('--format must be jsonl or csv');
      const format = options.format;
      const filter: AuditExportFilter = {
        ...(options.credential ? { credentialId: options.credential } : {}),
        ...(options.operator ? { actor: options.operator } : {}),
        ...(options.action ? { action: options.action } : {}),
        ...(options.from ? { from: options.from } : {}),
        ...(options.to ? { to: options.to } : {}),
      };
      await withAuditLog(options, async (log) => {
        const chunks = Readable.from(log.exportChunks(filter, format));
        // An export can be large: stream it page by page; never overwrite an existing file.
        if (options.out) await pipeline(chunks, createWriteStream(options.out, { flags: 'wx', mode: 0o600 }));
        else for await (const chunk of chunks) if (!process.stdout.write(chunk as string)) await once(process.stdout, 'drain');
      });
    });
}
