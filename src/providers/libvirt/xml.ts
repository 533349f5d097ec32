/**
 * Just enough XML for libvirt documents: a tolerant parser into a tree
 * (elements, attributes, text; comments and declarations dropped) and
 * escaping for the documents we write. libvirt's XML has no DTD entities
 * beyond the five predefined ones and numeric references.
 */

export interface XmlNode {
  readonly name: string;
  readonly attrs: Record<string, string>;
  readonly children: XmlNode[];
  text: string;
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function unescape(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[e.toLowerCase()] ?? '';
  });
}

const TOKEN = /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!\[CDATA\[([\s\S]*?)\]\]>|<!DOCTYPE[^>]*>|<\/([^\s>]+)\s*>|<([^\s/>]+)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)/g;
const ATTR = /([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

/** Parses a document; returns its root element. Throws on malformed nesting. */
export function parseXml(doc: string): XmlNode {
  const root: XmlNode = { name: '#document', attrs: {}, children: [], text: '' };
  const stack: XmlNode[] = [root];
  for (const m of doc.matchAll(TOKEN)) {
    const top = stack[stack.length - 1]!;
    if (m[1] !== undefined) top.text += m[1];
    else if (m[2] !== undefined) {
      if (top.name !== m[2]) throw new Error(`malformed XML: </${m[2]}> closes <${top.name}>`);
      stack.pop();
    } else if (m[3] !== undefined) {
      const attrs: Record<string, string> = {};
      for (const a of (m[4] ?? '').matchAll(ATTR)) attrs[a[1]!] = unescape(a[2] ?? a[3] ?? '');
      const node: XmlNode = { name: m[3], attrs, children: [], text: '' };
      top.children.push(node);
      if (m[5] !== '/') stack.push(node);
    } else if (m[6] !== undefined) top.text += unescape(m[6]);
  }
  const el = root.children[0];
  if (!el || stack.length !== 1) throw new Error('malformed XML: no root element or unclosed elements');
  return el;
}

/** The first child at a `/`-separated path (`devices/disk`), or undefined. */
export function child(node: XmlNode | undefined, path: string): XmlNode | undefined {
  let cur = node;
  for (const part of path.split('/')) cur = cur?.children.find((c) => c.name === part);
  return cur;
}

/** All children at a path whose last segment may repeat (`devices/disk`). */
export function children(node: XmlNode | undefined, path: string): XmlNode[] {
  const parts = path.split('/');
  const last = parts.pop()!;
  const parent = parts.length ? child(node, parts.join('/')) : node;
  return parent ? parent.children.filter((c) => c.name === last) : [];
}

export function textAt(node: XmlNode | undefined, path: string): string | undefined {
  const n = child(node, path);
  return n ? n.text.trim() : undefined;
}
