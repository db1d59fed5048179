import { Injectable, PipeTransform } from '@nestjs/common';
import { ValidationFailedError } from '@order-fsm/core';
import { isId } from '../ids.js';

/** Route ids: 1 to 64 characters of letters, digits and `_ . : -`. */
@Injectable()
export class IdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isId(value)) {
      throw new ValidationFailedError('the id in the path must be 1 to 64 characters of letters, digits, "_", ".", ":" or "-"');
    }
    return value;
  }
}
