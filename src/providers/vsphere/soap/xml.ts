/**
 * vim25 SOAP envelopes in and out, with fast-xml-parser.
 *
 * Requests are plain objects in WSDL element order (vCenter checks the
 * sequence; JS keeps insertion order). Attributes are `@_name`, text is
 * `#text`; polymorphic slots carry `@_xsi:type`. Responses are parsed with
 * element prefixes removed and every value kept as a string (nothing is
 * guessed numeric). `xsi:type` stays `@_xsi:type` whatever its prefix, apart
 * from a moref's own `@_type`: a property value that is a reference carries
 * both (`<val xsi:type="ManagedObjectReference" type="Datastore">`).
 */
import { XMLBuilder, XMLParser } from 'fast-xml-parser';

/** A managed object reference: `<x type="VirtualMachine">vm-12</x>`. */
export interface MoRef {
  readonly type: string;
  readonly value: string;
}

export type XmlValue = string | XmlNode | XmlValue[];
export interface XmlNode {
  [key: string]: XmlValue | undefined;
}

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', textNodeName: '#text', suppressEmptyNode: false });
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  transformTagName: (name: string) => name.slice(name.indexOf(':') + 1),
  // Called with the `@_` prefix already on the name.
  transformAttributeName: (name: string) => {
    const i = name.indexOf(':');
    if (i < 0 || name.startsWith('@_xmlns')) return name;
    return name.slice(i + 1) === 'type' ? '@_xsi:type' : `@_${name.slice(i + 1)}`;
  },
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
});

/** The body of a request: `<method xmlns="urn:vim25"><_this …/>…params</method>`. */
export function envelope(method: string, self: MoRef, params: XmlNode = {}): string {
  const body = { [method]: { '@_xmlns': 'urn:vim25', _this: ref(self), ...params } };
  return '<?xml version="1.0" encoding="UTF-8"?>' + builder.build({
    'soapenv:Envelope': {
      '@_xmlns:soapenv': 'http://schemas.xmlsoap.org/soap/envelope/',
      '@_xmlns:xsd': 'http://www.w3.org/2001/XMLSchema',
      '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
      'soapenv:Body': body,
    },
  });
}

/** Parses a response document; throws on XML that is not well-formed. */
export function parseXml(text: string): XmlNode {
  return parser.parse(text, true) as XmlNode;
}

/** The `soapenv:Body` of a parsed envelope, or undefined. */
export function bodyOf(doc: XmlNode): XmlNode | undefined {
  const env = doc.Envelope;
  if (!env || typeof env !== 'object' || Array.isArray(env)) return undefined;
  const body = env.Body;
  return body && typeof body === 'object' && !Array.isArray(body) ? body : undefined;
}

/** Encodes a reference for a request. */
export function ref(r: MoRef): XmlNode {
  return { '@_type': r.type, '#text': r.value };
}

/** An element of a polymorphic slot: `<x xsi:type="T">…</x>`. */
export function typed(xsiType: string, fields: XmlNode = {}): XmlNode {
  return { '@_xsi:type': xsiType, ...fields };
}

/** Decodes a reference from a response (undefined when absent or malformed). */
export function moRef(v: XmlValue | undefined): MoRef | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const type = v['@_type'];
  const value = v['#text'];
  return typeof type === 'string' && typeof value === 'string' ? { type, value } : undefined;
}

/** Always an array: a repeated element parses as one, a single one as a value. */
export function arr(v: XmlValue | undefined): XmlValue[] {
  if (v === undefined || v === '') return [];
  return Array.isArray(v) ? v : [v];
}

/** The text of a scalar element (`<x xsi:type="xsd:int">2</x>` → "2"). */
export function text(v: XmlValue | undefined): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && !Array.isArray(v) && typeof v['#text'] === 'string') return v['#text'];
  return undefined;
}

export function num(v: XmlValue | undefined): number | undefined {
  const t = text(v);
  if (t === undefined || t.trim() === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

export function bool(v: XmlValue | undefined): boolean | undefined {
  const t = text(v);
  return t === 'true' ? true : t === 'false' ? false : undefined;
}

/** A child object (not text, not repeated), or undefined. */
export function node(v: XmlValue | undefined): XmlNode | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

/** The `xsi:type` of a polymorphic element. */
export function xsiType(v: XmlValue | undefined): string | undefined {
  const n = node(v);
  const t = n?.['@_xsi:type'];
  return typeof t === 'string' ? t : undefined;
}
