/**
 * The SOAP client without vcsim: envelopes, fault and property parsing
 * from recorded answers (fixtures/), and the client's session handling
 * against a small HTTP server that replays them.
 */
import t from 'tap';
import { createServer, type IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ProviderError } from '../../../src/providers/provider';
import {
  bodyOf, envelope, faultCategory, parseSoapFault, parseXml, retrieveOne, taskInfo, taskRef, typed, VimClient, waitTask,
} from '../../../src/providers/vsphere/soap';
import { vmState } from '../../../src/providers/vsphere/vm';

const category = (p: Promise<unknown>) => p.then(() => 'resolved', (e: unknown) => (e instanceof ProviderError ? e.category : String(e)));
const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', name), 'utf8');

t.test('envelope: method, _this, parameters in order, escaping, xsi:type', async (t) => {
  const xml = envelope('ReconfigVM_Task', { type: 'VirtualMachine', value: 'vm-1' }, {
    spec: { annotation: 'a & <b> "c"', numCPUs: '2', extraConfig: [typed('OptionValue', { key: 'k1', value: 'v1' }), typed('OptionValue', { key: 'k2', value: 'v2' })] },
  });
  t.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?><soapenv:Envelope /);
  t.match(xml, /<soapenv:Body><ReconfigVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">vm-1<\/_this><spec>/);
  t.match(xml, /<annotation>a &amp; &lt;b&gt; &quot;c&quot;<\/annotation>/, 'text is escaped');
  t.ok(xml.indexOf('<annotation>') < xml.indexOf('<numCPUs>') && xml.indexOf('<numCPUs>') < xml.indexOf('<extraConfig'), 'WSDL order kept');
  t.equal(xml.match(/<extraConfig xsi:type="OptionValue">/g)?.length, 2, 'arrays repeat the element with its xsi:type');
  const back = bodyOf(parseXml(xml));
  t.same((back?.ReconfigVM_Task as any)._this, { '@_type': 'VirtualMachine', '#text': 'vm-1' }, 'round trip of a moref');
  t.equal((back?.ReconfigVM_Task as any).spec.annotation, 'a & <b> "c"', 'round trip of escaped text');
});

t.test('faults: type from the detail, categories', async (t) => {
  const cases: [string, string, string][] = [
    ['fault-invalid-login.xml', 'InvalidLogin', 'Unauthenticated'],
    ['fault-not-authenticated.xml', 'NotAuthenticated', 'Unauthenticated'],
    ['fault-not-found.xml', 'ManagedObjectNotFound', 'NotFound'],
    ['fault-invalid-argument.xml', 'InvalidArgument', 'InvalidSpec'],
    ['fault-invalid-request.xml', 'InvalidRequest', 'InvalidSpec'],
  ];
  for (const [file, type, category] of cases) {
    const f = parseSoapFault(bodyOf(parseXml(fixture(file)))!);
    t.equal(f?.type, type, `${file}: type`);
    t.equal(faultCategory(type), category, `${type} -> ${category}`);
  }
  const nf = parseSoapFault(bodyOf(parseXml(fixture('fault-not-found.xml')))!);
  t.equal(nf?.obj, 'vm-404', 'ManagedObjectNotFound names the object');
  t.match(nf?.message, /vim.VirtualMachine:vm-404/, 'faultstring entities decoded');
  t.equal(faultCategory('SomethingNew'), 'Internal', 'unknown faults are Internal');
  t.equal(faultCategory('InvalidState'), 'Retryable', 'a busy object is retryable');
});

t.test('properties: values, morefs inside typed values, devices, guest IPs, snapshot tree', async (t) => {
  const body = bodyOf(parseXml(fixture('retrieve-vm.xml')))!;
  const objects = (body.RetrievePropertiesExResponse as any).returnval.objects;
  const props: Record<string, any> = {};
  for (const p of objects.propSet) props[p.name] = p.val;
  t.same(props['runtime.host'], { '#text': 'host-21', '@_type': 'HostSystem', '@_xsi:type': 'ManagedObjectReference' }, 'xsi:type and a moref type stay apart');
  const vm = vmState({ type: 'VirtualMachine', value: 'vm-42' }, props);
  t.equal(vm.name, 'web-server & co');
  t.equal(vm.powerState, 'poweredOn');
  t.equal(vm.cpu, 2);
  t.equal(vm.memoryMiB, 4096);
  t.same(vm.ips, ['10.0.0.5', '192.168.7.9'], 'IPs of every NIC, no link-local IPv6, no duplicates');
  t.same(vm.devices.map((d) => [d.type, d.key, d.controllerKey, d.unitNumber]), [
    ['ParaVirtualSCSIController', 1000, 100, 3], ['VirtualDisk', 2000, 1000, 0], ['VirtualVmxnet3', 4000, 100, 7],
  ]);
  t.equal(vm.devices[1]?.fileName, '[ssd-02] web-server/web-server.vmdk');
  t.equal(vm.devices[1]?.capacityKB, 41943040);
  t.same(vm.extraConfig, { 'virtrigaud.disk.data': '1000:1' });
  t.same(vm.snapshots.map((s) => [s.ref.value, s.name]), [['snapshot-5', 'base'], ['snapshot-7', 'before-resize']], 'tree flattened');
  t.equal(vm.currentSnapshot, 'snapshot-7');
  t.same(vm.datastores, ['datastore-61']);
});

/** A vCenter stand-in replaying fixtures; answers NotAuthenticated once after `expireAfter` calls. */
async function fakeVcenter(t: { teardown(fn: () => unknown): unknown }, opts: { expireAfter?: number; status?: number; raw?: string } = {}) {
  const calls: { method: string; cookie?: string; action?: string }[] = [];
  let sessions = 0;
  let expired = false;
  const server = createServer(async (req: IncomingMessage, res) => {
    let body = '';
    for await (const c of req) body += c;
    const method = /<soapenv:Body><(\w+)/.exec(body)?.[1] ?? '?';
    calls.push({ method, cookie: req.headers.cookie, action: req.headers.soapaction as string });
    if (opts.raw !== undefined) {
      res.writeHead(opts.status ?? 200, { 'content-type': 'text/html' });
      return res.end(opts.raw);
    }
    const reply = (status: number, xml: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'text/xml; charset=utf-8', ...headers });
      res.end(xml);
    };
    const ok = (inner: string) => reply(200, `<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><${method}Response xmlns="urn:vim25">${inner}</${method}Response></soapenv:Body></soapenv:Envelope>`);
    if (method === 'RetrieveServiceContent') {
      return ok('<returnval><rootFolder type="Folder">group-d1</rootFolder><propertyCollector type="PropertyCollector">propertyCollector</propertyCollector><viewManager type="ViewManager">ViewManager</viewManager><about><fullName>Fake vCenter</fullName><apiVersion>8.0.3.0</apiVersion><instanceUuid>u-1</instanceUuid></about><sessionManager type="SessionManager">SessionManager</sessionManager><searchIndex type="SearchIndex">SearchIndex</searchIndex></returnval>');
    }
    if (method === 'Login') {
      if (!body.includes('<password>right</password>')) return reply(500, fixture('fault-invalid-login.xml'));
      sessions += 1;
      return reply(200, `<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><LoginResponse xmlns="urn:vim25"><returnval><key>s</key></returnval></LoginResponse></soapenv:Body></soapenv:Envelope>`,
        { 'set-cookie': `vmware_soap_session="sess-${sessions}"; Path=/; HttpOnly; Secure;` });
    }
    if (opts.expireAfter !== undefined && !expired && calls.length > opts.expireAfter) {
      expired = true;
      return reply(500, fixture('fault-not-authenticated.xml'));
    }
    if (method === 'RetrievePropertiesEx') {
      if (body.includes('>task-77<')) return reply(200, fixture('task-error.xml'));
      return reply(200, fixture('retrieve-vm.xml'));
    }
    if (method === 'ContinueRetrievePropertiesEx') return ok('<returnval></returnval>');
    return reply(500, fixture('fault-invalid-request.xml'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise((r) => server.close(r)));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sdk`;
  return { url, calls, sessions: () => sessions };
}

t.test('client: login cookie, pages, re-login once on NotAuthenticated', async (t) => {
  const v = await fakeVcenter(t, { expireAfter: 4 });
  const c = new VimClient({ url: v.url, username: 'u', password: 'right' });
  t.teardown(() => c.close());
  const props = await retrieveOne(c, { type: 'VirtualMachine', value: 'vm-42' }, ['name']);
  t.ok(props.name, 'properties read');
  t.same(v.calls.map((x) => x.method), ['RetrieveServiceContent', 'Login', 'RetrievePropertiesEx', 'ContinueRetrievePropertiesEx'], 'token followed');
  t.equal(v.calls[2]?.cookie, 'vmware_soap_session="sess-1"', 'session cookie sent back');
  t.equal(v.calls[0]?.action, '"urn:vim25/7.0.3.0"', 'SOAPAction names the API version');
  await retrieveOne(c, { type: 'VirtualMachine', value: 'vm-42' }, ['name']);
  t.equal(v.sessions(), 2, 'expired session: logged in again');
  t.equal(v.calls.filter((x) => x.method === 'RetrievePropertiesEx').length, 3, 'the refused call was repeated once');
});

t.test('client: errors become ProviderErrors with categories', async (t) => {
  const v = await fakeVcenter(t);
  const wrong = new VimClient({ url: v.url, username: 'u', password: 'wrong' });
  t.teardown(() => wrong.close());
  await t.rejects(retrieveOne(wrong, { type: 'VirtualMachine', value: 'vm-42' }, ['name']), { category: 'Unauthenticated', message: /InvalidLogin/ });

  const c = new VimClient({ url: v.url, username: 'u', password: 'right' });
  t.teardown(() => c.close());
  const info = await taskInfo(c, taskRef('task-77'));
  t.equal(info.state, 'error');
  t.same(info.error, { type: 'InvalidPowerState', message: 'The attempted operation cannot be performed in the current state (Powered on).' });
  await t.rejects(waitTask(c, taskRef('task-77'), 'Power'), { category: 'InvalidSpec', message: /Power: vCenter fault InvalidPowerState/ });
  t.equal(await category(c.call('Unknown', { type: 'Folder', value: 'x' })), 'InvalidSpec', 'InvalidRequest');

  const html = await fakeVcenter(t, { status: 503, raw: '<html>maintenance</html>' });
  const c503 = new VimClient({ url: html.url, username: 'u', password: 'right' });
  t.teardown(() => c503.close());
  await t.rejects(c503.serviceContent(), { category: 'Retryable', message: /HTTP 503/ });
  const h404 = await fakeVcenter(t, { status: 404, raw: 'not here' });
  const c404 = new VimClient({ url: h404.url, username: 'u', password: 'right' });
  t.teardown(() => c404.close());
  await t.rejects(c404.serviceContent(), { category: 'InvalidSpec', message: /\/sdk URL/ });

  const closed = new VimClient({ url: 'http://127.0.0.1:1/sdk', username: 'u', password: 'p' });
  t.teardown(() => closed.close());
  const e = await closed.serviceContent().catch((x: unknown) => x);
  t.ok(e instanceof ProviderError && e.category === 'Retryable', `connection refused is Retryable (${(e as Error).message})`);
  t.equal(await category((async () => new VimClient({ url: 'not a url', username: 'u', password: 'p' }))()), 'InvalidSpec', 'an endpoint that is not a URL');
});
