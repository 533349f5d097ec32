/** The provider conformance suite and its helpers. */
export { runProviderConformance, type ConformanceOptions, type ProviderUnderTest } from './suite';
export { awaitTask, outcome, rejectsWith, type ConformanceTest } from './helpers';
export { classPayload, createRequest, desiredPayload, fixtureUid, imagePayload } from './fixtures';
