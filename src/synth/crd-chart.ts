import { ApiObject, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { KindDefinition, customResourceDefinition, EmitOptions } from '../schema';

export interface CrdChartProps {
  /** The kinds to define; each becomes one CustomResourceDefinition. */
  readonly kinds: readonly KindDefinition[];
  /** Passed to the schema emitter. @default {} */
  readonly emit?: EmitOptions;
}

/**
 * A cdk8s chart holding one CustomResourceDefinition per kind, built from the
 * DSL definitions. Usable in any cdk8s app that wants to ship our CRDs.
 */
export class CrdChart extends Chart {
  /** The CRD objects, keyed by kind. */
  readonly crds: ReadonlyMap<string, ApiObject>;

  constructor(scope: Construct, id: string, props: CrdChartProps) {
    super(scope, id, { disableResourceNameHashes: true });
    const crds = new Map<string, ApiObject>();
    for (const kind of props.kinds) {
      const { apiVersion, kind: k, metadata, spec } = customResourceDefinition([kind], props.emit) as {
        apiVersion: string;
        kind: string;
        metadata: { name: string };
        spec: unknown;
      };
      crds.set(kind.kind, new ApiObject(this, kind.kind, { apiVersion, kind: k, metadata, spec }));
    }
    this.crds = crds;
  }
}
