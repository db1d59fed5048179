/**
 * A JSON Schema (draft 2020-12 / OpenAPI 3.1 subset) of the payload a processor takes: its
 * `AbstractStateProcessor<{ payload }>` type as data, for a service to describe its API with.
 */
export type PayloadSchema = Readonly<Record<string, unknown>>;

/** Where a processor or plugin applies. An omitted dimension matches any value. */
export interface RegistrationOptions {
  state?: string | readonly string[];
  event: string;
  bizCode?: string | readonly string[];
  sceneId?: string | readonly string[];
  /** The machine versions it serves. Default: the current version only. */
  versions?: number | readonly number[];
  /** The payload the processor takes, as a JSON Schema (a processor only; a plugin's is its processor's). */
  payload?: PayloadSchema;
}

/** The stored form: lists, with `undefined` meaning "any". */
export interface RegistrationMetadata {
  readonly states?: readonly string[];
  readonly event: string;
  readonly bizCodes?: readonly string[];
  readonly sceneIds?: readonly string[];
  /** undefined: the current version. */
  readonly versions?: readonly number[];
  readonly payload?: PayloadSchema;
}

const toList = (value: string | readonly string[] | undefined): readonly string[] | undefined =>
  value === undefined ? undefined : Object.freeze(typeof value === 'string' ? [value] : [...value]);

export function toRegistrationMetadata(options: RegistrationOptions): RegistrationMetadata {
  return Object.freeze({
    states: toList(options.state),
    event: options.event,
    bizCodes: toList(options.bizCode),
    sceneIds: toList(options.sceneId),
    versions: options.versions === undefined ? undefined : Object.freeze(typeof options.versions === 'number' ? [options.versions] : [...options.versions]),
    ...(options.payload && { payload: options.payload }),
  });
}
