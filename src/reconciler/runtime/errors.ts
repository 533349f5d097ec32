/** Errors from the API server, carrying its Status. */

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly status?: any,
  ) {
    super(message);
  }
}

const hasCode = (e: unknown, code: number) => e instanceof ApiError && e.code === code;

export const isNotFound = (e: unknown): boolean => hasCode(e, 404);
export const isConflict = (e: unknown): boolean => hasCode(e, 409) && (e as ApiError).reason !== 'AlreadyExists';
export const isAlreadyExists = (e: unknown): boolean => hasCode(e, 409) && (e as ApiError).reason === 'AlreadyExists';
export const isGone = (e: unknown): boolean => hasCode(e, 410);
export const isForbidden = (e: unknown): boolean => hasCode(e, 403);

/** Builds an ApiError from a response body (a Status, usually). */
export function apiErrorFrom(code: number, text: string, verb: string, path: string): ApiError {
  let status: any;
  try {
    status = JSON.parse(text);
  } catch {
    status = undefined;
  }
  const isStatus = status && status.kind === 'Status';
  const reason = (isStatus && status.reason) || reasonFor(code);
  const msg = (isStatus && status.message) || text.trim().slice(0, 500) || `HTTP ${code}`;
  return new ApiError(code, reason, `${verb} ${path}: ${msg}`, isStatus ? status : undefined);
}

function reasonFor(code: number): string {
  switch (code) {
    case 400: return 'BadRequest';
    case 401: return 'Unauthorized';
    case 403: return 'Forbidden';
    case 404: return 'NotFound';
    case 409: return 'Conflict';
    case 410: return 'Expired';
    case 422: return 'Invalid';
    case 429: return 'TooManyRequests';
    default: return code >= 500 ? 'InternalError' : 'Unknown';
  }
}
