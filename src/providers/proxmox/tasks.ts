/** PVE tasks: a UPID names its node; its status ends `OK` or with the error text. */
import { ProviderError, type TaskStatus } from '../provider';
import type { PveClient } from './client';
import { categoryOf } from './errors';

/** `UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:`. */
export function upidNode(upid: string): string {
  const parts = upid.split(':');
  if (parts[0] !== 'UPID' || !parts[1]) throw new ProviderError('NotFound', `task ${JSON.stringify(upid)} is not a Proxmox UPID`, 'TaskStatus');
  return parts[1];
}

/** A task's state: `exit` is PVE's exit status once it stopped (`OK`, `WARNINGS: n`, or the error text). */
async function taskState(c: PveClient, upid: string): Promise<{ done: boolean; error?: string }> {
  const s = await c.get<{ status: string; exitstatus?: string }>(`/nodes/${upidNode(upid)}/tasks/${encodeURIComponent(upid)}/status`, {}, 'TaskStatus');
  if (s.status !== 'stopped') return { done: false };
  const exit = s.exitstatus ?? '';
  return exit === 'OK' || exit.startsWith('WARNINGS') ? { done: true } : { done: true, error: exit.replace(/^TASK ERROR:\s*/, '') || 'task failed' };
}

/**
 * The protocol's TaskStatus: a failed task's error is PVE's text followed by
 * the error kind it maps to, as ProviderErrors read in conditions:
 * `can't lock file '...' - got timeout (Retryable)`.
 */
export async function taskStatus(c: PveClient, upid: string): Promise<TaskStatus> {
  const s = await taskState(c, upid);
  return s.error ? { done: true, error: `${s.error} (${categoryOf(500, s.error)})` } : s;
}

/** Waits for a task and throws its error as a ProviderError of the matching category (lock timeouts are Retryable). */
export async function awaitUpid(c: PveClient, upid: unknown, op: string, timeoutMs = 10 * 60_000): Promise<void> {
  if (typeof upid !== 'string' || !upid.startsWith('UPID:')) return;
  const end = Date.now() + timeoutMs;
  let delay = 50;
  for (;;) {
    const s = await taskState(c, upid);
    if (s.done) {
      if (s.error) throw new ProviderError(categoryOf(500, s.error), `${op}: task failed: ${s.error}`, op);
      return;
    }
    if (Date.now() > end) throw new ProviderError('Retryable', `${op}: task ${upid} still running after ${Math.round(timeoutMs / 1000)}s`, op);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 1000);
  }
}
