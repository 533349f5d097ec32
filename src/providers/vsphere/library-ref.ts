/**
 * How a content library item travels in the image payload. The wire
 * format's `image_json` has no content-library field, so VMImage
 * `source.vsphere.contentLibrary` becomes `TemplateName`
 * `contentlib://<library>/<item>[?version=<v>]`, names percent-encoded
 * (they may hold `/`, spaces, `?`). Pure: the reconciler builds it, the
 * vSphere provider reads it.
 */
export const CONTENT_LIBRARY_SCHEME = 'contentlib://';

export interface LibraryItemRef {
  readonly library: string;
  readonly item: string;
  readonly version?: string;
}

export function formatLibraryRef(r: LibraryItemRef): string {
  const q = r.version ? `?version=${encodeURIComponent(r.version)}` : '';
  return `${CONTENT_LIBRARY_SCHEME}${encodeURIComponent(r.library)}/${encodeURIComponent(r.item)}${q}`;
}

/** The reference in a TemplateName, undefined for a plain template name; malformed → Error. */
export function parseLibraryRef(templateName: string): LibraryItemRef | undefined {
  if (!templateName.startsWith(CONTENT_LIBRARY_SCHEME)) return undefined;
  const rest = templateName.slice(CONTENT_LIBRARY_SCHEME.length);
  const [path = '', query = ''] = rest.split('?', 2);
  const parts = path.split('/');
  const version = new URLSearchParams(query).get('version') ?? '';
  let library = '';
  let item = '';
  try {
    library = decodeURIComponent(parts[0] ?? '');
    item = decodeURIComponent(parts[1] ?? '');
  } catch {
    // bad percent-encoding: reported below
  }
  if (parts.length !== 2 || !library || !item) {
    throw new Error(`${JSON.stringify(templateName)} is not ${CONTENT_LIBRARY_SCHEME}<library>/<item>[?version=<v>]`);
  }
  return version ? { library, item, version } : { library, item };
}
