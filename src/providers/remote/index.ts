/**
 * The remote provider protocol (`provider.v1.Provider`, §15): a gRPC
 * client implementing Provider, and a server adapter exposing a Provider.
 */
export { RemoteProvider, type RemoteProviderOptions } from './client';
export { serveProvider, type ServeOptions, type ServedProvider, type ServerTls } from './server';
export {
  clientCredentials, pemsFromSecret, providerServiceName, tlsFromSecret,
  type ClientTls, type MtlsClientTls, type PlaintextTls, type TlsSecretPems,
} from './tls';
export { CircuitBreaker, categoryOf, codeOf, type CircuitBreakerOptions } from './errors';
export { desiredJson, createJson, goJson, parseProviderRaw } from './payload';
export { LOADER_OPTIONS, PROTO_DIR, RPC_NAMES, RPC_TIMEOUTS_MS, loadProtos, type RpcName } from './proto';
