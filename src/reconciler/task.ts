/**
 * Polling a provider task. A task the provider no longer knows (it kept
 * tasks in memory and restarted, or expired them) is treated as finished:
 * the object's real state is observed with Describe right after, so nothing
 * is lost, and the reconciler does not wait forever on a vanished task.
 */
import { isProviderError, type CallOptions, type Provider, type TaskStatus } from '../providers/provider';

export async function pollTask(provider: Provider, id: string, o?: CallOptions): Promise<TaskStatus & { forgotten?: boolean }> {
  try {
    return await provider.taskStatus({ id }, o);
  } catch (err) {
    if (isProviderError(err, 'NotFound')) return { done: true, forgotten: true };
    throw err;
  }
}
