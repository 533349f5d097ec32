/**
 * Wire-level behaviour of the remote provider client and server adapter:
 * error mapping, provider_raw_json parsing, the circuit breaker, the exact
 * JSON payloads, health, deadlines, proto text and Secret parsing.
 */
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequest, desiredPayload, outcome } from '../../src/providers/conformance';
import { ProviderError, UID_RAW_KEY, UID_TAG_PREFIX, type ProviderErrorCategory } from '../../src/providers/provider';
import {
  CircuitBreaker, PROTO_DIR, RPC_NAMES, loadProtos, tlsFromSecret, type RpcName,
} from '../../src/providers/remote';
import { createFromWire, createToWire, type Wire } from '../../src/providers/remote/codec';
import { served } from './remote-helpers';

const CATEGORIES: ProviderErrorCategory[] = ['NotFound', 'InvalidSpec', 'Retryable', 'Unimplemented', 'Unauthenticated', 'Internal'];

t.test('every error category survives the wire, and the message names the RPC', async (t) => {
  const s = await served({ client: { circuitBreaker: false } });
  t.teardown(() => s.cleanup());
  for (const c of CATEGORIES) {
    s.memory.faults.failNext('GetCapabilities', new ProviderError(c, `injected ${c}`));
    const err = await s.remote.getCapabilities().catch((e: unknown) => e);
    t.ok(err instanceof ProviderError && err.category === c, `${c} -> ${c}`);
    t.match((err as Error).message, new RegExp(`^GetCapabilities \\(127\\.0\\.0\\.1:\\d+\\): .*injected ${c}`), `${c}: message`);
  }
  s.memory.faults.failNext('ListVMs', new Error('plain failure'));
  t.equal(await outcome(s.remote.listVMs()), 'Internal', 'a non-ProviderError is INTERNAL');
  t.equal(await outcome(s.remote.power('nope', 'On', 0)), 'NotFound', 'real NotFound from the provider');
});

t.test('gRPC status codes map to categories (raw handlers)', async (t) => {
  const codes: [grpc.status, ProviderErrorCategory][] = [
    [grpc.status.NOT_FOUND, 'NotFound'], [grpc.status.INVALID_ARGUMENT, 'InvalidSpec'], [grpc.status.UNAVAILABLE, 'Retryable'],
    [grpc.status.DEADLINE_EXCEEDED, 'Retryable'], [grpc.status.RESOURCE_EXHAUSTED, 'Retryable'], [grpc.status.UNIMPLEMENTED, 'Unimplemented'],
    [grpc.status.UNAUTHENTICATED, 'Unauthenticated'], [grpc.status.PERMISSION_DENIED, 'Unauthenticated'],
    [grpc.status.INTERNAL, 'Internal'], [grpc.status.FAILED_PRECONDITION, 'Internal'], [grpc.status.UNKNOWN, 'Internal'],
  ];
  let next = codes[0]![0];
  const s = await served({
    client: { circuitBreaker: false },
    server: { rawHandlers: { Validate: () => Promise.reject(Object.assign(new Error('x'), { code: next, details: 'raw' })) } },
  });
  t.teardown(() => s.cleanup());
  for (const [code, cat] of codes) {
    next = code;
    t.equal(await outcome(s.remote.validate()), cat, `${grpc.status[code]} -> ${cat}`);
  }
});

t.test('provider_raw_json: parsed, or {parseError} when it is not a JSON object', async (t) => {
  let raw = '';
  const s = await served({ server: { rawHandlers: { Describe: () => ({ exists: true, power_state: 'On', ips: ['198.51.100.7'], console_url: 'vnc://x', provider_raw_json: raw }) } } });
  t.teardown(() => s.cleanup());
  raw = '{"host":"esx-1","cpu":4}';
  t.same((await s.remote.describe('x')).providerRaw, { host: 'esx-1', cpu: 4 });
  raw = '{not json';
  const bad = (await s.remote.describe('x')).providerRaw;
  t.equal(typeof bad.parseError, 'string', `parse error reported: ${String(bad.parseError)}`);
  raw = '[1,2]';
  t.equal(typeof (await s.remote.describe('x')).providerRaw.parseError, 'string', 'an array is not an object');
  raw = '';
  const d = await s.remote.describe('x');
  t.same(d.providerRaw, {}, 'empty -> {}');
  t.same([d.exists, d.powerState, d.ips, d.consoleURL], [true, 'On', ['198.51.100.7'], 'vnc://x']);
});

t.test('the VM uid on the wire: one more tag out, a provider_raw key back', async (t) => {
  const seen: { rpc: RpcName; req: Wire }[] = [];
  const s = await served({ server: { onRequest: (rpc, req) => seen.push({ rpc, req }) } });
  t.teardown(() => s.cleanup());
  const uid = '3d0f4c1e-2b7a-4e55-8a61-9f0b6c2d7e48';
  // A tenant's own tag with the reserved prefix must not travel as (or beside) the real uid.
  const { id } = await s.remote.create(createRequest('uid', { uid, tags: ['team-a', `${UID_TAG_PREFIX}forged`] }));
  const create = seen.find((x) => x.rpc === 'Create')!.req;
  t.same(create.tags, ['team-a', `${UID_TAG_PREFIX}${uid}`], 'the client sends the uid as the last tag, and only its own');
  t.equal(s.memory.vms()[id]!.uid, uid, 'the server hands the provider req.uid');
  t.same(s.memory.vms()[id]!.tags, ['team-a'], 'and strips the uid tag from the tags');
  const { id: plain } = await s.remote.create(createRequest('plain', { tags: [`${UID_TAG_PREFIX}forged`] }));
  t.same(seen.filter((x) => x.rpc === 'Create')[1]!.req.tags, [], 'no uid: no uid tag (a forged one is dropped)');
  t.equal(s.memory.vms()[plain]!.uid, undefined, 'no uid stored');

  // What the server answers, read with a bare gRPC client (no lifting).
  const { providerService } = loadProtos();
  const raw = new providerService(`127.0.0.1:${s.port}`, grpc.credentials.createInsecure()) as unknown as Record<string, Function>;
  t.teardown(() => (raw as unknown as grpc.Client).close());
  const call = (rpc: string, req: Wire) => new Promise<Wire>((resolve, reject) => raw[rpc]!.call(raw, req, (e: Error | null, r: Wire) => (e ? reject(e) : resolve(r))));
  const wireDescribe = await call('Describe', { id });
  t.equal(JSON.parse(wireDescribe.provider_raw_json)[UID_RAW_KEY], uid, `Describe: provider_raw_json carries ${UID_RAW_KEY}`);
  t.notOk(UID_RAW_KEY in JSON.parse((await call('Describe', { id: plain })).provider_raw_json), 'and none for a VM without a uid');
  const wireList = (await call('ListVMs', {})).vms as Wire[];
  t.same(wireList.map((v) => [v.name, v.provider_raw[UID_RAW_KEY]]), [['plain', undefined], ['uid', uid]], `ListVMs: provider_raw carries ${UID_RAW_KEY}`);

  // The client lifts it into .uid and out of providerRaw.
  const d = await s.remote.describe(id);
  t.equal(d.uid, uid, 'describe().uid');
  t.notOk(UID_RAW_KEY in d.providerRaw, 'not left in providerRaw');
  t.equal((await s.remote.describe(plain)).uid, undefined, 'no uid for the other VM');
  const listed = await s.remote.listVMs();
  t.same(listed.map((v) => [v.name, v.uid]), [['plain', undefined], ['uid', uid]], 'listVMs().uid (in id order)');
  t.notOk(listed.some((v) => UID_RAW_KEY in v.providerRaw), 'not left in providerRaw');
});

t.test('a provider that ignores the uid tag reports no uid', async (t) => {
  // Like a Go provider of today: it keeps the tag as a tag and answers without the provider_raw key.
  const s = await served({
    server: {
      rawHandlers: {
        Describe: () => ({ exists: true, power_state: 'On', ips: [], console_url: '', provider_raw_json: '{"tags":"x"}' }),
        ListVMs: () => ({ vms: [{ id: 'go-1', name: 'web', power_state: 'On', ips: [], cpu: 2, memory_mib: 2048, disks: [], networks: [], provider_raw: { host: 'h1' } }] }),
      },
    },
  });
  t.teardown(() => s.cleanup());
  const d = await s.remote.describe('go-1');
  t.equal(d.uid, undefined, 'describe: no uid');
  t.same(d.providerRaw, { tags: 'x' }, 'providerRaw as sent');
  const [v] = await s.remote.listVMs();
  t.equal(v?.uid, undefined, 'listVMs: no uid');
  t.same(v?.providerRaw, { host: 'h1' }, 'providerRaw as sent');
});

t.test('circuit breaker: 10 Retryable failures open it; calls then fail fast', async (t) => {
  let now = 1_000_000;
  const s = await served({ client: { circuitBreaker: { now: () => now } } });
  t.teardown(() => s.cleanup());
  s.memory.faults.failAlways('Validate', new ProviderError('Retryable', 'hypervisor unreachable'));
  for (let i = 0; i < 10; i++) t.equal(await outcome(s.remote.validate()), 'Retryable', `failure ${i + 1}`);
  t.equal(s.remote.breaker?.currentState, 'open');
  const err = (await s.remote.validate().catch((e: unknown) => e)) as ProviderError;
  t.equal(err.category, 'Retryable');
  t.match(err.message, /circuit open/);
  t.equal(s.memory.calls.Validate, 10, 'the 11th call never reached the server');
  now += 60_000;
  s.memory.faults.clear();
  t.equal(s.remote.breaker?.currentState, 'half-open', 'half-open after 60 s');
  for (let i = 0; i < 3; i++) t.equal(await outcome(s.remote.validate()), 'resolved', `trial ${i + 1}`);
  t.equal(s.remote.breaker?.currentState, 'closed', 'three good trials close it');
  s.memory.faults.failNext('Describe', new ProviderError('NotFound', 'x'), 20);
  for (let i = 0; i < 12; i++) await outcome(s.remote.describe('x'));
  t.equal(s.remote.breaker?.currentState, 'closed', 'non-infrastructure errors do not count');
});

t.test('circuit breaker: a failed half-open trial re-opens it', async (t) => {
  let now = 0;
  const b = new CircuitBreaker({ failureThreshold: 2, openMs: 100, now: () => now });
  const infra = new ProviderError('Retryable', 'down');
  b.before('X'); b.after(infra);
  b.before('X'); b.after(infra);
  t.throws(() => b.before('X'), /circuit open/);
  now = 100;
  b.before('X');
  b.after(infra);
  t.equal(b.currentState, 'open');
  now = 200;
  for (let i = 0; i < 3; i++) b.before('X');
  t.throws(() => b.before('X'), /half-open/, 'at most 3 trial calls');
});

t.test('JSON payloads on the wire: PascalCase keys in Go order, nulls, omitted placement', async (t) => {
  const seen: { rpc: RpcName; req: Wire }[] = [];
  const s = await served({ server: { onRequest: (rpc, req) => seen.push({ rpc, req }) } });
  t.teardown(() => s.cleanup());
  const bare = createRequest('wire', { networks: [], disks: [], tags: [] });
  const { id } = await s.remote.create(bare);
  const create = seen.find((x) => x.rpc === 'Create')!.req;
  t.same(Object.keys(JSON.parse(create.class_json)),
    ['CPU', 'MemoryMiB', 'Firmware', 'DiskDefaults', 'GuestToolsPolicy', 'ExtraConfig', 'PerformanceProfile', 'SecurityProfile', 'ResourceLimits']);
  t.equal(create.class_json,
    '{"CPU":2,"MemoryMiB":2048,"Firmware":"BIOS","DiskDefaults":{"Type":"thin","SizeGiB":20},"GuestToolsPolicy":"install",' +
    '"ExtraConfig":null,"PerformanceProfile":null,"SecurityProfile":null,"ResourceLimits":null}');
  t.equal(create.image_json, '{"TemplateName":"ubuntu-22.04","Path":"","URL":"","Format":"template","Checksum":"","ChecksumType":"sha256"}');
  t.equal(create.networks_json, 'null', 'empty slice -> null');
  t.equal(create.disks_json, 'null');
  t.equal(create.placement_json, '', 'no placement: field omitted');
  t.equal(create.user_data.length, 0, 'no user data: empty bytes');
  t.same(create.tags, []);

  const full = createRequest('wire2', {
    placement: { Datastore: 'ds1', StoragePod: '', Cluster: 'c1', Folder: '/vms', Host: '' },
    userData: '#cloud-config\nruncmd: [echo "<&>"]\n', metaData: 'instance-id: wire2\n',
  });
  await s.remote.create(full);
  const c2 = seen.filter((x) => x.rpc === 'Create')[1]!.req;
  t.equal(c2.placement_json, '{"Datastore":"ds1","StoragePod":"","Cluster":"c1","Folder":"/vms","Host":""}');
  t.same(Object.keys(JSON.parse(c2.networks_json)[0]),
    ['Name', 'Portgroup', 'NetworkName', 'Bridge', 'VLAN', 'Model', 'MacAddress', 'IPPolicy', 'StaticIP', 'Prefix', 'Gateway', 'DNS', 'PCISlotNumber']);
  t.equal(JSON.parse(c2.networks_json)[0].PCISlotNumber, null);
  t.equal(c2.disks_json, '[{"SizeGiB":10,"Type":"thin","Name":"data"}]');
  t.equal(Buffer.from(c2.user_data).toString('utf8'), full.userData, 'user_data bytes');
  t.equal(Buffer.from(c2.meta_data).toString('utf8'), full.metaData, 'meta_data bytes (field 9)');

  await s.remote.reconfigure(id, desiredPayload(bare, 4, 4096));
  const desired = seen.find((x) => x.rpc === 'Reconfigure')!.req.desired_json as string;
  const parsed = JSON.parse(desired);
  t.same(Object.keys(parsed), ['Name', 'Class', 'Image', 'Networks', 'Disks', 'UserData', 'MetaData', 'Placement', 'Tags']);
  t.same([parsed.Networks, parsed.Disks, parsed.UserData, parsed.MetaData, parsed.Placement, parsed.Tags], [null, null, null, null, null, null]);
  t.equal(parsed.Class.CPU, 4);
  const withUser = desiredPayload(full, 2, 2048);
  await s.remote.reconfigure(id, withUser);
  const d2 = seen.filter((x) => x.rpc === 'Reconfigure')[1]!.req.desired_json as string;
  t.match(d2, /"UserData":\{"CloudInitData":"#cloud-config\\nruncmd: \[echo \\"\\u003c\\u0026\\u003e\\"\]\\n","Type":"cloud-init"\}/, 'Go-style HTML escaping');
  t.match(d2, /"MetaData":\{"MetaDataYAML":"instance-id: wire2\\n"\}/);

  await s.remote.power(id, 'ShutdownGraceful', 60);
  const power = seen.find((x) => x.rpc === 'Power')!.req;
  t.same([power.op, power.graceful_timeout_seconds], ['POWER_OP_SHUTDOWN_GRACEFUL', 60], 'PowerOp by wire name');
});

t.test('per-RPC deadlines: a hung call ends at its deadline as Retryable', async (t) => {
  const s = await served({ client: { timeoutsMs: { Describe: 200 } }, memory: { timeoutFaultMs: 5000 } });
  t.teardown(() => s.cleanup());
  s.memory.faults.failNext('Describe', 'timeout');
  const start = Date.now();
  const err = (await s.remote.describe('x').catch((e: unknown) => e)) as ProviderError;
  t.equal(err.category, 'Retryable');
  t.match(err.message, /DEADLINE_EXCEEDED/);
  t.ok(Date.now() - start < 2000, 'ended near the 200 ms deadline');
  const ac = new AbortController();
  s.memory.faults.failNext('Validate', 'timeout');
  const pending = s.remote.validate({ signal: ac.signal });
  setTimeout(() => ac.abort(), 50);
  t.match(await pending.catch((e: Error) => e.message), /cancelled/, 'an abort signal cancels the call');
});

t.test('grpc.health.v1.Health/Check answers SERVING', async (t) => {
  const s = await served();
  t.teardown(() => s.cleanup());
  const health = new (loadProtos().healthService)(`127.0.0.1:${s.port}`, grpc.credentials.createInsecure());
  t.teardown(() => health.close());
  const check = (service: string) =>
    new Promise<Wire>((res, rej) => (health as unknown as Record<string, Function>).Check!.call(health, { service }, (e: Error | null, r: Wire) => (e ? rej(e) : res(r))));
  t.same(await check(''), { status: 'SERVING' });
  t.same(await check('provider.v1.Provider'), { status: 'SERVING' });
  await t.rejects(check('nope'), { code: grpc.status.NOT_FOUND });
});

t.test('the .proto files: the wire contract the client loads', async (t) => {
  const text = readFileSync(join(PROTO_DIR, 'provider.proto'), 'utf8');
  t.match(text, /bytes meta_data = 9;/);
  t.match(text, /package provider\.v1;/);
  const { providerService } = loadProtos();
  const methods = Object.keys(providerService.service).sort();
  t.same(methods, [...RPC_NAMES].sort(), 'every RPC of the service is known to the client');
});

t.test('tlsFromSecret', async (t) => {
  const pem = (label: string) => `-----BEGIN ${label}-----\nAAAA\n-----END ${label}-----\n`;
  const data = { 'tls.crt': pem('CERTIFICATE'), 'tls.key': pem('PRIVATE KEY'), 'ca.crt': pem('CERTIFICATE') };
  const b64 = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  const fromPlain = tlsFromSecret(data, { serverName: 'svc' });
  t.same(tlsFromSecret(b64, { serverName: 'svc' }), fromPlain, 'base64 and decoded data give the same result');
  t.same(fromPlain, { mode: 'mtls', caPem: data['ca.crt'], certPem: data['tls.crt'], keyPem: data['tls.key'], serverName: 'svc', insecureSkipVerify: false });
  for (const key of Object.keys(data)) {
    const { [key as keyof typeof data]: _, ...rest } = data;
    t.throws(() => tlsFromSecret(rest), new RegExp(`lacks key "${key.replace('.', '\\.')}"`), `missing ${key}`);
    t.throws(() => tlsFromSecret({ ...data, [key]: '' }), new RegExp(`"${key.replace('.', '\\.')}" is empty`), `empty ${key}`);
  }
  t.throws(() => tlsFromSecret({ ...data, 'tls.key': 'bm90IGEgcGVt' }), /neither PEM nor base64/);
});

t.test('an Ignition config crosses the wire as a reserved tag and comes back as userDataFormat; a tenant tag of that name is dropped', async (t) => {
  const req = createRequest('ign', { userData: '{"ignition":{"version":"3.4.0"}}', userDataFormat: 'ignition', tags: ['team-a', 'virtrigaud.io/user-data-format=ignition'] });
  const wire = createToWire(req);
  t.same(wire.tags, ['team-a', 'virtrigaud.io/user-data-format=ignition'], 'one format tag, the tenant\'s copy replaced by ours');
  const back = createFromWire(wire);
  t.equal(back.userDataFormat, 'ignition');
  t.same(back.tags, ['team-a'], 'the provider sees only the VM\'s own tags');
  const plain = createFromWire(createToWire(createRequest('ci', { userData: '#cloud-config\n', tags: ['virtrigaud.io/user-data-format=ignition'] })));
  t.equal(plain.userDataFormat, undefined, 'a tag in the spec cannot turn cloud-init into Ignition');
});
