/** Every message a developer reads at bootstrap, in one place. */
export const messages = {
  notATemplate: (className: string) =>
    `${className} carries @OrderProcessor but does not extend AbstractStateProcessor`,
  notAPlugin: (className: string) =>
    `${className} carries @ProcessorPlugin but does not extend AbstractProcessorPlugin`,
  requestScoped: (className: string) =>
    `${className} is request-scoped (or depends on a request-scoped provider); processors and plugins must be singletons`,
  missingEvent: (className: string) => `${className}: the decorator needs a non-empty "event"`,
  badDimension: (className: string, dimension: string, value: unknown) =>
    `${className}: ${dimension} ${JSON.stringify(value)} must be a non-empty string without "@" and not "*"`,
  emptyDimension: (className: string, dimension: string) =>
    `${className}: ${dimension} is an empty list; omit it to match any`,
  ambiguousKey: (key: string, classNames: readonly string[]) =>
    `processors ${classNames.join(', ')} share the key ${key} and not all of them override filter(): ` +
    `an event there could match more than one`,
  badOptions: (detail: string) => `OrderFsmModule options: ${detail}`,
  managerOutsideSave: 'StateContext.manager is only available inside save(): the engine opens the transaction there',
  badNextState: (className: string, value: unknown) =>
    `${className}.getNextState() returned ${JSON.stringify(value)}, not a state name`,
};
