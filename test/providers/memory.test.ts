import t from 'tap';
import { MemoryProvider } from '../../src/providers/memory';
import { runProviderConformance } from '../../src/providers/conformance';

t.test('conformance: in-memory provider, synchronous', (t) =>
  runProviderConformance(t, async () => {
    const provider = new MemoryProvider();
    return { provider, cleanup: () => provider.close() };
  }),
);

t.test('conformance: in-memory provider, asynchronous tasks', (t) =>
  runProviderConformance(t, async () => {
    const provider = new MemoryProvider({ asyncTasks: { completeAfterPolls: 3 } });
    return { provider, cleanup: () => provider.close() };
  }),
);

t.test('conformance: in-memory provider, time-based tasks and latency', (t) =>
  runProviderConformance(t, async () => {
    const provider = new MemoryProvider({ asyncTasks: { completeAfterMs: 30 }, latencyMs: 1 });
    return { provider, cleanup: () => provider.close() };
  }),
);

t.test('conformance: in-memory provider without snapshots or linked clones', (t) =>
  runProviderConformance(t, async () => {
    const provider = new MemoryProvider({ capabilities: { supportsSnapshots: false, supportsMemorySnapshots: false, supportsLinkedClones: false } });
    return { provider, cleanup: () => provider.close() };
  }),
);
