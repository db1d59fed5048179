import { type CanActivate, createParamDecorator, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { ForbiddenError, UnauthenticatedError, ValidationFailedError } from '../errors/order-fsm.errors.js';
import type { Caller } from '../model/event.js';
import { MAX_ID_LENGTH } from '../order-fsm.constants.js';
import { OPS_OPTIONS, type ResolvedOpsOptions } from './ops.options.js';

const OPERATOR = Symbol('order-fsm:operator');

/**
 * Lets through the service's callers whose role may use the operator API (`roles`), as the
 * service's own `callerOf` tells them from the request: no caller is 401 UNAUTHENTICATED, another
 * role 403 FORBIDDEN, before anything is read or written.
 */
@Injectable()
export class OpsGuard implements CanActivate {
  constructor(@Inject(OPS_OPTIONS) private readonly options: ResolvedOpsOptions) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<Record<PropertyKey, unknown>>();
    const caller = await this.options.callerOf(request);
    if (!caller) throw new UnauthenticatedError();
    if (!this.options.roles.includes(caller.role)) throw new ForbiddenError(caller.role, this.options.roles);
    // The operator's name is the actor of the log and the audit, and scopes its request ids like any caller's.
    if (typeof caller.name !== 'string' || caller.name.length === 0 || caller.name.length > MAX_ID_LENGTH || caller.name.startsWith('@')) {
      throw new ValidationFailedError(`the caller's name must be 1 to ${MAX_ID_LENGTH} characters, not starting with @`);
    }
    request[OPERATOR] = Object.freeze({ name: caller.name, role: caller.role });
    return true;
  }
}

/** The operator of the request, as OpsGuard let it through. */
export const Operator = createParamDecorator((_data: unknown, context: ExecutionContext): Caller => {
  const operator = context.switchToHttp().getRequest<Record<PropertyKey, unknown>>()[OPERATOR] as Caller | undefined;
  if (!operator) throw new UnauthenticatedError();
  return operator;
});
