// `tessera server`: runs the CMS until SIGINT/SIGTERM (HTTPS on 127.0.0.1:8443, SQLite under ./data by default).
import type { Command } from 'commander';
import { DEFAULT_LISTEN, startServer } from '../server/start-server.ts';

interface ServerCommandOptions {
  db?: string;
  listen: string;
  data: string;
  plainHttp?: boolean;
  logLevel: string;
}

export function registerServerCommand(program: Command): void {
  program
    .command('server')
    .description('run the Tessera CMS server')
    .option('--db <url>', 'database: postgres://... or a SQLite file (default DATA/tessera.sqlite)')
    .option('--listen <host:port>', 'address to listen on', DEFAULT_LISTEN)
    .option('--data <dir>', 'data directory: SQLite file, master key file, TLS certificate, audit checkpoints', 'data')
    .option('--plain-http', 'serve plain HTTP instead of HTTPS (loopback addresses only)')
    .option('--log-level <level>', 'pino log level', 'info')
    .action(async (options: ServerCommandOptions) => {
      const server = await startServer({
        listen: options.listen,
        dataDir: options.data,
        logLevel: options.logLevel,
        ...(options.db !== undefined ? { db: options.db } : {}),
        ...(options.plainHttp ? { plainHttp: true } : {}),
      });
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void server.close().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
