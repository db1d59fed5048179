import { ANY } from '../order-fsm.constants.js';

export const dimensionKey = (bizCode: string, sceneId: string): string => `${bizCode}@${sceneId}`;

/** The keys tried for one lookup, most specific first: exact, bizCode@*, *@sceneId, *@*. */
export function dimensionLevels(bizCode: string, sceneId: string): readonly string[] {
  return [dimensionKey(bizCode, sceneId), dimensionKey(bizCode, ANY), dimensionKey(ANY, sceneId), dimensionKey(ANY, ANY)];
}

export function isValidName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value !== ANY && !value.includes('@');
}
