// The `tessera` command tree: commander parses arguments and hands each command to its module.
import { Command, CommanderError } from 'commander';
import { reportCliError } from './cli-errors.ts';
import { registerCardCommands } from './card-commands.ts';
import { registerServerCommand } from './server-command.ts';
import { registerAuditCommands } from './audit-commands.ts';
import { registerOperatorCommands } from './operator-commands.ts';
import { registerCredentialProviderCommands } from './cp-commands.ts';

export function buildProgram(): Command {
  const program = new Command('tessera')
    .description('Tessera credential management system for smart-card credentials')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError(false);
  // Each command group lives in its own module; registered in the order `--help` lists them.
  registerCardCommands(program);
  registerServerCommand(program);
  registerOperatorCommands(program);
  registerCredentialProviderCommands(program);
  registerAuditCommands(program);
  return program;
}

/** Runs the CLI and returns the process exit code: 0 success, 1 failure, 2 usage error. */
export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    return reportCliError(error);
  }
}
