// Where a server keeps its files under its data directory, in one place for the server and the CLI tools.
import { join, resolve } from 'node:path';

export interface DataPaths {
  dir: string;
  sqlite: string;
  masterKey: string;
  auditCheckpoints: string;
}

export function dataPaths(dataDir = 'data'): DataPaths {
  const dir = resolve(dataDir);
  return { dir, sqlite: join(dir, 'tessera.sqlite'), masterKey: join(dir, 'master.key'), auditCheckpoints: join(dir, 'audit-checkpoints') };
}
