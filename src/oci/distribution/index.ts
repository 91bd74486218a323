/**
 * The distribution client (OCI distribution spec / docker registry v2), on
 * undici. Entry points: `parseReference`, `RegistryClient` (resolve,
 * fetchManifest, fetchJsonBlob, fetchBlob), credentials and CA lookups.
 */
export { parseReference, formatReference, referenceName, apiHost, isLoopback, type Reference } from './reference.js';
export { RegistryClient, type RegistryClientOptions, type Resolved, type FetchBlobOptions, type FetchedBlob } from './client.js';
export { fileCredentials, staticCredentials, chainCredentials, anonymous, credentialsFromConfig, type Credentials, type CredentialsLookup } from './credentials.js';
export { certsDirCa, combineCa } from './ca.js';
export { Limiter } from './limit.js';
export { MirrorChain, type MirrorFailure, type MirrorOptions } from './mirrors.js';
export { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
export { MANIFEST_ACCEPT } from './media-types.js';
