import t from 'tap';
import { runProviderConformance } from '../../../src/providers/conformance';
import { LibvirtProvider } from '../../../src/providers/libvirt';
import { ensureTestNetwork, requireHypervisorTools, TEST_POOL, TEST_URI } from './support';

requireHypervisorTools(t);
ensureTestNetwork();

// Blank disks, no OS: cheap under TCG. The conformance fixtures ask for 2 GiB
// of guest RAM, which QEMU only reserves (a guest without OS touches little).
t.test('conformance: libvirt provider on qemu:///system', (t) =>
  runProviderConformance(t, async () => {
    const provider = new LibvirtProvider({ uri: TEST_URI, pool: TEST_POOL, blankRootDisk: true, shutdownPollMs: 200 });
    return { provider, cleanup: () => provider.close() };
  }, { namePrefix: 'vrconf', taskTimeoutMs: 120_000 }),
);
