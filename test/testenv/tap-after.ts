/** tap `after` script: stops the control plane tap-before.ts started. */
import { stopSharedControlPlane, STATE_ENV } from '../../src/testenv/shared';

const log = (m: string) => process.stderr.write(`# testenv: ${m}\n`);

if (!process.env[STATE_ENV]) {
  stopSharedControlPlane(process.ppid, log).catch((err: unknown) => {
    log(`could not stop the shared control plane: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  });
}
