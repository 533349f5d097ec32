/**
 * Cross-namespace references need the consent of the referenced side: a
 * Provider, VMClass or VMImage lists in `spec.allowedNamespaces` which
 * namespaces may use it (Same by default). Without it, naming another
 * namespace in a reference is like naming an object that does not exist
 * for that tenant, and the VM says so with reason ReferenceNotPermitted.
 */

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly { readonly key: string; readonly operator: string; readonly values?: readonly string[] }[];
}

export interface AllowedNamespaces {
  readonly from?: 'Same' | 'All' | 'Selector';
  readonly names?: readonly string[];
  readonly selector?: LabelSelector;
}

interface Shareable {
  readonly metadata?: { readonly namespace?: string };
  readonly spec?: { readonly allowedNamespaces?: AllowedNamespaces };
}

/** meta/v1 LabelSelector semantics; an unknown operator matches nothing (as the API server refuses it). */
export function selectorMatches(sel: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In': if (!has || !values.includes(labels[e.key]!)) return false; break;
      case 'NotIn': if (has && values.includes(labels[e.key]!)) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
      default: return false;
    }
  }
  return true;
}

/**
 * Whether an object in namespace `from` may reference `target`.
 * `namespaceLabels` gives a namespace's labels (undefined when unknown:
 * an unknown namespace matches no selector).
 */
export function permitsReference(target: Shareable, from: string, namespaceLabels: (ns: string) => Readonly<Record<string, string>> | undefined): boolean {
  if ((target.metadata?.namespace ?? '') === from) return true;
  const a = target.spec?.allowedNamespaces;
  if (!a) return false;
  if (a.names?.includes(from)) return true;
  if (a.from === 'All') return true;
  if (a.from === 'Selector' && a.selector) {
    const labels = namespaceLabels(from);
    return labels !== undefined && selectorMatches(a.selector, labels);
  }
  return false;
}
