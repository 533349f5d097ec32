/**
 * gRPC status <-> ProviderError category (§14.4), and the per-client
 * circuit breaker that short-circuits calls after repeated infrastructure
 * failures.
 */
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { ProviderError, type ProviderErrorCategory } from '../provider';

export function categoryOf(code: Status): ProviderErrorCategory {
  switch (code) {
    case Status.NOT_FOUND:
      return 'NotFound';
    case Status.INVALID_ARGUMENT:
      return 'InvalidSpec';
    case Status.UNAVAILABLE:
    case Status.DEADLINE_EXCEEDED:
    case Status.RESOURCE_EXHAUSTED:
      return 'Retryable';
    case Status.UNIMPLEMENTED:
      return 'Unimplemented';
    case Status.UNAUTHENTICATED:
    case Status.PERMISSION_DENIED:
      return 'Unauthenticated';
    default:
      return 'Internal';
  }
}

export function codeOf(category: ProviderErrorCategory): Status {
  const codes: Record<ProviderErrorCategory, Status> = {
    NotFound: Status.NOT_FOUND,
    InvalidSpec: Status.INVALID_ARGUMENT,
    Retryable: Status.UNAVAILABLE,
    Unimplemented: Status.UNIMPLEMENTED,
    Unauthenticated: Status.UNAUTHENTICATED,
    Internal: Status.INTERNAL,
  };
  return codes[category];
}

/** A client-side gRPC failure as a ProviderError naming the RPC. */
export function fromServiceError(rpc: string, address: string, e: ServiceError, hint?: string): ProviderError {
  const name = Status[e.code] ?? String(e.code);
  const detail = e.details || e.message;
  return new ProviderError(categoryOf(e.code), `${rpc} (${address}): ${name}: ${detail}${hint ? ` (${hint})` : ''}`, rpc);
}

export interface CircuitBreakerOptions {
  /** Consecutive Retryable failures that open the circuit (default 10). */
  readonly failureThreshold?: number;
  /** How long it stays open before allowing trial calls (default 60 s). */
  readonly openMs?: number;
  /** Trial calls in the half-open state; all must succeed to close it (default 3). */
  readonly halfOpenCalls?: number;
  readonly now?: () => number;
}

/**
 * Closed -> (threshold consecutive Retryable failures) -> open -> (openMs)
 * -> half-open: up to `halfOpenCalls` trial calls; one failure re-opens,
 * that many successes close. Only infrastructure failures count: a
 * NotFound or InvalidSpec answer proves the provider is reachable.
 */
export class CircuitBreaker {
  private state: 'closed' | 'open' | 'half-open' = 'closed';
  private failures = 0;
  private openedAt = 0;
  private trials = 0;
  private successes = 0;
  private readonly threshold: number;
  private readonly openMs: number;
  private readonly halfOpenCalls: number;
  private readonly now: () => number;

  constructor(o: CircuitBreakerOptions = {}) {
    this.threshold = o.failureThreshold ?? 10;
    this.openMs = o.openMs ?? 60_000;
    this.halfOpenCalls = o.halfOpenCalls ?? 3;
    this.now = o.now ?? Date.now;
  }

  get currentState(): 'closed' | 'open' | 'half-open' {
    if (this.state === 'open' && this.now() - this.openedAt >= this.openMs) return 'half-open';
    return this.state;
  }

  /** Throws when the call may not go out; otherwise reserves it. */
  before(rpc: string): void {
    if (this.state === 'open') {
      const left = this.openMs - (this.now() - this.openedAt);
      if (left > 0) {
        throw new ProviderError('Retryable', `${rpc}: circuit open after ${this.threshold} consecutive failures; retry in ${Math.ceil(left / 1000)} s`, rpc);
      }
      this.state = 'half-open';
      this.trials = 0;
      this.successes = 0;
    }
    if (this.state === 'half-open') {
      if (this.trials >= this.halfOpenCalls) {
        throw new ProviderError('Retryable', `${rpc}: circuit half-open, ${this.halfOpenCalls} trial calls already in flight`, rpc);
      }
      this.trials += 1;
    }
  }

  after(err: unknown): void {
    const infra = err instanceof ProviderError ? err.category === 'Retryable' : err !== undefined;
    if (this.state === 'half-open') {
      if (infra) return this.open();
      this.successes += 1;
      if (this.successes >= this.halfOpenCalls) this.reset();
      return;
    }
    if (!infra) {
      this.failures = 0;
      return;
    }
    this.failures += 1;
    if (this.failures >= this.threshold) this.open();
  }

  private open(): void {
    this.state = 'open';
    this.openedAt = this.now();
    this.failures = 0;
  }

  private reset(): void {
    this.state = 'closed';
    this.failures = 0;
  }
}
