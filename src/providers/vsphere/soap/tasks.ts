/**
 * vSphere tasks: TaskInfo read through the PropertyCollector, and a wait
 * that polls it until success or error (bounded by the caller's deadline).
 */
import { ProviderError } from '../../provider';
import type { CallOpts, VimClient } from './client';
import { faultError, parseMethodFault, type VimFault } from './faults';
import { retrieveOne } from './properties';
import { node, num, text, type MoRef, type XmlValue } from './xml';

export type TaskState = 'queued' | 'running' | 'success' | 'error';

export interface TaskInfo {
  readonly state: TaskState;
  readonly error?: VimFault;
  readonly result?: XmlValue;
  readonly progress?: number;
  readonly descriptionId?: string;
}

export function taskRef(value: string): MoRef {
  return { type: 'Task', value };
}

export async function taskInfo(c: VimClient, task: MoRef, o?: CallOpts): Promise<TaskInfo> {
  const props = await retrieveOne(c, task, ['info'], o);
  const info = node(props.info) ?? {};
  const state = (text(info.state) ?? 'queued') as TaskState;
  return {
    state,
    ...(state === 'error' ? { error: parseMethodFault(info.error) } : {}),
    ...(info.result !== undefined ? { result: info.result } : {}),
    ...(num(info.progress) !== undefined ? { progress: num(info.progress) } : {}),
    ...(text(info.descriptionId) ? { descriptionId: text(info.descriptionId) } : {}),
  };
}

/** Polls until the task ends; returns its result, throws its fault as a ProviderError. */
export async function waitTask(c: VimClient, task: MoRef, operation: string, o?: CallOpts, pollMs = 200): Promise<XmlValue | undefined> {
  const deadline = Date.now() + (o?.timeoutMs ?? 5 * 60_000);
  for (;;) {
    const info = await taskInfo(c, task, o);
    if (info.state === 'success') return info.result;
    if (info.state === 'error') throw faultError(info.error ?? { type: 'Unknown', message: 'task failed' }, operation);
    if (Date.now() >= deadline) throw new ProviderError('Retryable', `${operation}: task ${task.value} still ${info.state} at the deadline`, operation);
    if (o?.signal?.aborted) throw new ProviderError('Retryable', `${operation}: cancelled`, operation);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
