// `tessera cp ...`: the credential-provider client on a workstation (logon-screen mode).
import type { Command } from 'commander';
import { createWorkstationKeyFile } from '../server/identity/workstation-key-file.ts';

export function registerCredentialProviderCommands(program: Command): void {
  const cp = program.command('cp').description('credential-provider mode: PIN reset at the logon screen of an enrolled workstation');
  cp.command('create-key')
    .description("create this workstation's key pair (a file only its owner can read) and print the public key an operator enrols")
    .requiredOption('--key-file <file>', 'where to keep the private key (created with mode 0600, never overwritten)')
    .action((options: { keyFile: string }) => {
      const key = createWorkstationKeyFile(options.keyFile);
      process.stdout.write(key.publicKeyPem);
      process.stderr.write(`tessera: workstation key kept in ${options.keyFile}; an operator enrols the public key above (POST /api/v1/workstations)\n`);
    });
}
