/** The outcome of one template step: success with data, or a failure with a stable code. */
export class ServiceResult<T = unknown> {
  private constructor(
    readonly success: boolean,
    readonly data: T | undefined,
    readonly code: string | undefined,
    readonly message: string | undefined,
    readonly details: Record<string, unknown> | undefined,
  ) {}

  static ok<T = undefined>(data?: T): ServiceResult<T> {
    return new ServiceResult<T>(true, data, undefined, undefined, undefined);
  }

  static fail<T = never>(code: string, message: string, details?: Record<string, unknown>): ServiceResult<T> {
    return new ServiceResult<T>(false, undefined, code, message, details);
  }
}
