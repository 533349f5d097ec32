/** The reconciler's operator-owned configuration: types, defaults, the file loader, in-process selection. */
export * from './types';
export { ConfigError, loadConfigFile, parseConfig } from './load';
export { InProcessRefused, allowsNamespace, requestedInstance, selectInstance } from './in-process';
export { hostPolicyFrom } from './host-policy';
