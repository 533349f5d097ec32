import { runValidate } from './validate-command';
import { runOperator } from './run-command';

const USAGE = `Usage: virtrigaud <command> [flags]

Commands:
  validate   validate manifests offline (virtrigaud validate --help)
  run        run the reconciler (virtrigaud run --help)`;

/** Entry point of the `virtrigaud` binary; returns the exit status. */
export function main(argv: string[]): number | Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'validate':
      return runValidate(rest);
    case 'run':
      return runOperator(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`error: unknown command ${JSON.stringify(command)}\n\n${USAGE}\n`);
      return 2;
  }
}
