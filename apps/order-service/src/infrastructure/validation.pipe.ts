import { type ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import { ValidationFailedError } from '@order-fsm/core';
import { getMetadataStorage, ValidationError } from 'class-validator';
import { isId } from '../ids.js';
import { SendEventDto } from '../orders/order.dto.js';

/** class-validator's errors as the service's VALIDATION_FAILED (400): one entry a field, with its problems. */
export function validationError(errors: ValidationError[]): ValidationFailedError {
  const fields = errors.map((e) => ({ field: e.property, problems: Object.values(e.constraints ?? {}) }));
  return new ValidationFailedError(fields.flatMap((f) => f.problems).join('; ') || 'invalid request', { fields });
}

const SEND_EVENT_KEYS = new Set(['event', 'requestId', 'expectedState', 'payload']);

/**
 * What SendEventDto's decorators accept, written out: a plain object with no other property, `event`
 * and `requestId` ids, `expectedState` absent or an id, `payload` absent or an object (not an array).
 * It only ever says yes to a body class-validator would take; anything else, null values included,
 * goes to class-validator, which answers it as before.
 */
export function isPlainSendEvent(value: object): boolean {
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  for (const key of Object.keys(value)) if (!SEND_EVENT_KEYS.has(key)) return false;
  const body = value as Partial<Record<keyof SendEventDto, unknown>>;
  if (!isId(body.event) || !isId(body.requestId)) return false;
  if (body.expectedState !== undefined && !isId(body.expectedState)) return false;
  const { payload } = body;
  return payload === undefined || (payload !== null && typeof payload === 'object' && !Array.isArray(payload));
}

/** The properties a DTO declares a rule for: the only ones its requests may carry (whitelist). */
const declared = new WeakMap<object, ReadonlySet<string>>();
function declaredOf(metatype: new (...args: never[]) => unknown): ReadonlySet<string> {
  let names = declared.get(metatype);
  if (!names) {
    names = new Set(getMetadataStorage().getTargetValidationMetadatas(metatype, '', true, false).map((m) => m.propertyName));
    declared.set(metatype, names);
  }
  return names;
}

/** Keys class-validator's whitelist misjudges: it looks a key up in a plain object, so these pass as declared, or the prototype-key stripping deletes them first. */
export const isPrototypeNamed = (key: string): boolean => key in Object.prototype || key === 'prototype';

/**
 * An undeclared key named like Object.prototype's members (`toString`, `hasOwnProperty`,
 * `valueOf`, `constructor`, `__proto__`) or `prototype` is VALIDATION_FAILED, as class-validator's
 * whitelist answers any other undeclared key, checked on the body's own keys before anything strips
 * or copies it: the whitelist took the first ones as declared, and the prototype-key stripping
 * deleted `constructor` and `prototype` without a word. Other keys are left to class-validator,
 * which answers them with every other problem of the body. A DTO without rules is left alone.
 */
function refuseUndeclared(value: Record<string, unknown>, metatype: ArgumentMetadata['metatype']): void {
  const names = declaredOf(metatype as new (...args: never[]) => unknown);
  if (names.size === 0) return;
  const undeclared = Object.keys(value).filter((key) => isPrototypeNamed(key) && !names.has(key));
  if (undeclared.length > 0) {
    throw validationError(undeclared.map((key) => Object.assign(new ValidationError(), { property: key, constraints: { whitelistValidation: `property ${key} should not exist` } })));
  }
}

/**
 * The service's ValidationPipe: class-validator and class-transformer with `whitelist`,
 * `forbidNonWhitelisted` and `forbidUnknownValues`, answering VALIDATION_FAILED in the service's body.
 *
 * The hot route's body (POST /orders/:id/events, SendEventDto) is checked by isPlainSendEvent first:
 * a body it accepts, once its prototype keys are stripped as the pipe strips them, is the body
 * class-validator would have passed, and is answered as it came, where the pipe answered a copy of
 * it by class-transformer (equal to it: validation.pipe.spec.ts compares the two on a corpus). That
 * saves class-transformer's two copies and class-validator's walk over the metadata on every event
 * (4% of the service's CPU under the REST benchmark). Every refusal is still class-validator's own.
 */
export class ServiceValidationPipe extends ValidationPipe {
  constructor() {
    super({ whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true, exceptionFactory: validationError });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if ((metadata.type === 'body' || metadata.type === 'query') && value !== null && typeof value === 'object' && !Array.isArray(value) && metadata.metatype) {
      refuseUndeclared(value as Record<string, unknown>, metadata.metatype);
    }
    if (metadata.type === 'body' && metadata.metatype === SendEventDto && value !== null && typeof value === 'object') {
      this.stripProtoKeys(value);
      if (isPlainSendEvent(value)) return value;
    }
    return super.transform(value, metadata);
  }
}
