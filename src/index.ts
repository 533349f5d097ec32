/** The virtrigaud package: schema DSL, the v1beta1 kinds, and offline validation. */
export * from './schema';
export * as v1beta1 from './api/v1beta1';
export * from './validate';
export { CrdChart, type CrdChartProps } from './synth/crd-chart';
export * from './fleet';
export * as install from './install';
