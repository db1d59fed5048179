/** Ids and names accepted from outside: 1 to 64 characters of letters, digits and `_ . : -`. */
export const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

export const isId = (value: unknown): value is string => typeof value === 'string' && ID_PATTERN.test(value);
