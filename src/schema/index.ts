export * from './node';
export * from './openapi';
export * from './emit';
export * from './kind';
export { checkSchema, valueProblems } from './check';
export * as s from './builders';
export { QUANTITY_PATTERN, DURATION_PATTERN } from './builders';
export * as cel from '../cel/rules';
