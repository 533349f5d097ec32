/**
 * vim25 faults (SOAP faults and TaskInfo.error) and their ProviderError
 * categories, so a vCenter error reaches the reconciler as a clear
 * condition with a category that decides whether retrying can help.
 */
import { ProviderError, type ProviderErrorCategory } from '../../provider';
import { node, text, xsiType, type XmlNode, type XmlValue } from './xml';

/** A fault as vCenter reported it. */
export interface VimFault {
  /** The fault type, e.g. `InvalidLogin`, `ManagedObjectNotFound`. */
  readonly type: string;
  readonly message: string;
  /** The moref value an `ManagedObjectNotFound` names, when given. */
  readonly obj?: string;
}

const CATEGORY: Readonly<Record<string, ProviderErrorCategory>> = {
  InvalidLogin: 'Unauthenticated',
  NotAuthenticated: 'Unauthenticated',
  NoPermission: 'Unauthenticated',
  ManagedObjectNotFound: 'NotFound',
  NotFound: 'NotFound',
  InvalidArgument: 'InvalidSpec',
  InvalidRequest: 'InvalidSpec',
  InvalidProperty: 'InvalidSpec',
  InvalidType: 'InvalidSpec',
  InvalidName: 'InvalidSpec',
  InvalidDatastorePath: 'InvalidSpec',
  InvalidDeviceSpec: 'InvalidSpec',
  InvalidController: 'InvalidSpec',
  InvalidPowerState: 'InvalidSpec',
  DuplicateName: 'InvalidSpec',
  FileAlreadyExists: 'InvalidSpec',
  NotSupported: 'InvalidSpec',
  ToolsUnavailable: 'InvalidSpec',
  InsufficientResourcesFault: 'InvalidSpec',
  NotEnoughLicenses: 'InvalidSpec',
  NotImplemented: 'Unimplemented',
  MethodNotFound: 'Unimplemented',
  // The object is busy or the service is: retrying later helps.
  InvalidState: 'Retryable',
  TaskInProgress: 'Retryable',
  HostCommunication: 'Retryable',
  HostNotConnected: 'Retryable',
  Timedout: 'Retryable',
  RequestCanceled: 'Retryable',
  SystemError: 'Retryable',
};

export function faultCategory(type: string): ProviderErrorCategory {
  return CATEGORY[type] ?? 'Internal';
}

/**
 * Reads `<soapenv:Fault>` from a parsed body: the fault type is the
 * `xsi:type` of the element inside `<detail>` (its name minus `Fault`
 * otherwise), the message is `faultstring`.
 */
export function parseSoapFault(body: XmlNode): VimFault | undefined {
  const f = node(body.Fault);
  if (!f) return undefined;
  const message = text(f.faultstring) ?? '';
  const detail = node(f.detail);
  const [name, value] = Object.entries(detail ?? {}).find(([k]) => !k.startsWith('@_') && k !== '#text') ?? [];
  if (!name) return { type: text(f.faultcode) ?? 'Unknown', message };
  const type = xsiType(value) ?? name.replace(/Fault$/, '');
  return { type, message, ...objOf(value) };
}

/** Reads a `LocalizedMethodFault` (TaskInfo.error). */
export function parseMethodFault(v: XmlValue | undefined): VimFault {
  const f = node(v);
  const inner = f?.fault;
  const type = xsiType(inner) ?? 'Unknown';
  const message = text(f?.localizedMessage) || type;
  return { type, message, ...objOf(inner) };
}

function objOf(v: XmlValue | undefined): { obj?: string } {
  const o = text(node(v)?.obj);
  return o ? { obj: o } : {};
}

/** One line for conditions and logs: `InvalidPowerState: The attempted operation…`. */
export function describeFault(f: VimFault): string {
  return f.message && f.message !== f.type ? `${f.type}: ${f.message}` : f.type;
}

export function faultError(f: VimFault, operation: string): ProviderError {
  return new VimFaultError(f, operation);
}

/** A ProviderError that keeps the vim25 fault, for callers that branch on its type. */
export class VimFaultError extends ProviderError {
  constructor(readonly fault: VimFault, operation: string) {
    super(faultCategory(fault.type), `${operation}: vCenter fault ${describeFault(fault)}`, operation);
  }
}

export function isFault(e: unknown, ...types: string[]): e is VimFaultError {
  return e instanceof VimFaultError && types.includes(e.fault.type);
}
