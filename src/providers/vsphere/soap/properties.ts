/**
 * Reading managed objects through the PropertyCollector
 * (RetrievePropertiesEx, ContinueRetrievePropertiesEx) and, for "all VMs
 * under X", a ContainerView that is destroyed afterwards.
 */
import { ProviderError } from '../../provider';
import { parseMethodFault } from './faults';
import type { CallOpts, VimClient } from './client';
import { arr, moRef, node, ref, text, typed, type MoRef, type XmlNode, type XmlValue } from './xml';

/** One object's properties by path, e.g. `props['runtime.powerState']`. */
export interface ObjectProps {
  readonly obj: MoRef;
  readonly props: Readonly<Record<string, XmlValue>>;
}

const PAGE = 500;

/** Properties of `objs` (all of `type`); an object vCenter no longer has is left out. */
export async function retrieve(c: VimClient, objs: readonly MoRef[], type: string, paths: readonly string[], o?: CallOpts): Promise<ObjectProps[]> {
  if (objs.length === 0) return [];
  const objectSet = objs.map((obj) => ({ obj: ref(obj), skip: 'false' }));
  return collect(c, { propSet: [propSpec(type, paths)], objectSet }, o);
}

/** Properties of one object; NotFound when vCenter does not know it. */
export async function retrieveOne(c: VimClient, obj: MoRef, paths: readonly string[], o?: CallOpts): Promise<Readonly<Record<string, XmlValue>>> {
  const [first] = await retrieve(c, [obj], obj.type, paths, o);
  if (!first) throw new ProviderError('NotFound', `${obj.type} ${obj.value} not found`, 'RetrievePropertiesEx');
  return first.props;
}

/** Properties of every `type` object below `container` (recursive). */
export async function retrieveView(c: VimClient, container: MoRef, type: string, paths: readonly string[], o?: CallOpts): Promise<ObjectProps[]> {
  const sc = await c.serviceContent(o);
  const view = moRef(await c.call('CreateContainerView', sc.viewManager, { container: ref(container), type, recursive: 'true' }, o));
  if (!view) throw new ProviderError('Internal', 'CreateContainerView returned no view', 'CreateContainerView');
  try {
    const traverse = typed('TraversalSpec', { name: 'view', type: 'ContainerView', path: 'view', skip: 'false' });
    return await collect(c, { propSet: [propSpec(type, paths)], objectSet: [{ obj: ref(view), skip: 'true', selectSet: traverse }] }, o);
  } finally {
    await c.call('DestroyView', view, {}, { timeoutMs: 10_000 }).catch(() => undefined);
  }
}

function propSpec(type: string, paths: readonly string[]): XmlNode {
  return { type, all: 'false', pathSet: [...paths] };
}

async function collect(c: VimClient, specSet: XmlNode, o?: CallOpts): Promise<ObjectProps[]> {
  const sc = await c.serviceContent(o);
  const out: ObjectProps[] = [];
  let page = node(await c.call('RetrievePropertiesEx', sc.propertyCollector, { specSet, options: { maxObjects: String(PAGE) } }, o));
  for (;;) {
    for (const item of arr(page?.objects)) {
      const read = readObject(node(item));
      if (read) out.push(read);
    }
    const token = text(page?.token);
    if (!token) return out;
    page = node(await c.call('ContinueRetrievePropertiesEx', sc.propertyCollector, { token }, o));
  }
}

function readObject(n: XmlNode | undefined): ObjectProps | undefined {
  const obj = moRef(n?.obj);
  if (!n || !obj) return undefined;
  // A vanished object shows up here rather than as a fault on some servers;
  // any other missing property (e.g. one the user may not read) is just absent.
  for (const m of arr(n.missingSet)) if (parseMethodFault(node(m)?.fault).type === 'ManagedObjectNotFound') return undefined;
  const props: Record<string, XmlValue> = {};
  for (const p of arr(n.propSet)) {
    const pn = node(p);
    const name = text(pn?.name);
    if (name && pn?.val !== undefined) props[name] = pn.val;
  }
  return { obj, props };
}
