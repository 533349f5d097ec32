/** The problems parseConfig reports for a configuration text (none: []). */
import { ConfigError, parseConfig } from '../../../src/reconciler/config';

export function configProblems(text: string): string[] {
  try {
    parseConfig(text, 'config.yaml');
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
  return [];
}
