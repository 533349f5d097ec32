// Each command is loaded when it runs: `validate` must not pay for loading
// the reconciler (its providers, clients and controllers), and nothing here
// does work at import. The loading is a require() (what tsc's CommonJS
// output makes of `await import()` too): bin/virtrigaud.js registers tsx for
// require only in a checkout, so a native import() of a .ts file would fail.

type ValidateCommand = typeof import('./validate-command');
type RunCommand = typeof import('./run-command');

const USAGE = `Usage: virtrigaud <command> [flags]

Commands:
  validate   validate manifests offline (virtrigaud validate --help)
  run        run the reconciler (virtrigaud run --help)`;

/** Entry point of the `virtrigaud` binary; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'validate': {
      const { runValidate } = require('./validate-command') as ValidateCommand;
      return runValidate(rest);
    }
    case 'run': {
      const { runOperator } = require('./run-command') as RunCommand;
      return runOperator(rest);
    }
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
