/** The compact vim25 SOAP client of the vSphere provider. */
export { VimClient, type CallOpts, type ServiceContent, type VimClientOptions } from './client';
export { describeFault, faultCategory, faultError, isFault, parseMethodFault, parseSoapFault, VimFaultError, type VimFault } from './faults';
export { retrieve, retrieveOne, retrieveView, type ObjectProps } from './properties';
export { taskInfo, taskRef, waitTask, type TaskInfo, type TaskState } from './tasks';
export { SESSION_COOKIE, SOAP_ACTION, SoapTransport, type TransportOptions } from './transport';
export { arr, bodyOf, bool, envelope, moRef, node, num, parseXml, ref, text, typed, xsiType, type MoRef, type XmlNode, type XmlValue } from './xml';
