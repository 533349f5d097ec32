/**
 * tap `before` script: starts the control plane shared by all test files of
 * this run (see src/testenv/shared.ts). Never fails the run: a startup error
 * is recorded and reported by every test that calls useControlPlane(t).
 */
import { startSharedControlPlane, STATE_ENV } from '../../src/testenv/shared';

const log = (m: string) => process.stderr.write(`# testenv: ${m}\n`);

if (process.env[STATE_ENV]) {
  log(`using the control plane named by ${STATE_ENV}=${process.env[STATE_ENV]}`);
} else {
  // Our parent is the tap runner; test files see it as their parent too.
  startSharedControlPlane(process.ppid, log).catch((err: unknown) => {
    log(`could not start the shared control plane: ${(err as Error).stack ?? String(err)}`);
  });
}
