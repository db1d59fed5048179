import type { MachineDefinition } from '../model/machine.js';
import type { MachineMigration } from '../model/migration.js';
import type { Registration } from './processor-registry.js';
import { severityOf, validateMachine, type MachineIssue, type MachineIssueCode } from './validate-machine.js';

/** What validateVersions() reads of the registry. */
export interface VersionedRegistrations {
  listProcessors(version?: number): readonly Registration<unknown>[];
  listPlugins(version?: number): readonly Registration<unknown>[];
  listCompensations(version?: number): readonly Registration<unknown>[];
  versionsOf(metadata: Registration<unknown>['metadata']): readonly number[];
}

const covers = (list: readonly string[] | undefined, value: string) => !list || list.includes(value);

/**
 * Every served version of a machine checked on its own (with the processors and plugins that serve
 * it), plus what only versions together can get wrong: a registration for a version nobody serves,
 * a migration that leaves a non-final state without a place in the next version, a `compensate`
 * policy with no compensation to run (or a compensation no policy calls). With one version, the
 * messages are validateMachine()'s own; with several, each says which version it is about.
 */
export function validateVersions(
  machines: ReadonlyMap<number, MachineDefinition>,
  migrations: ReadonlyMap<number, MachineMigration>,
  registrations: VersionedRegistrations,
): MachineIssue[] {
  const issues: MachineIssue[] = [];
  const several = machines.size > 1;
  // The current version is the latest served: the only one new orders are created under.
  const current = Math.max(...machines.keys());
  const add = (code: MachineIssueCode, message: string, version?: number) =>
    issues.push({ severity: severityOf(code), code, message: several && version !== undefined ? `v${version}: ${message}` : message, ...(version !== undefined && { version }) });

  for (const [version, machine] of [...machines].sort(([a], [b]) => a - b)) {
    for (const issue of validateMachine(machine, registrations.listProcessors(version), registrations.listPlugins(version), { createsOrders: version === current }))
      add(issue.code, issue.message, version);

    // Where the machine says `compensate`, a compensation must serve the event in that state.
    const compensations = registrations.listCompensations(version);
    // Compensated when it arrives there, or when, held there, it expires.
    const compensated = (event: string, state: string) =>
      state !== machine.initial && !machine.hasEvent(state, event) && (machine.latePolicy(event, state).kind === 'compensate' || machine.compensatesOnExpiry(event, state));
    for (const event of machine.latePolicies.keys()) {
      for (const state of machine.stateNames.filter((s) => compensated(event, s))) {
        if (!compensations.some(({ metadata }) => metadata.event === event && covers(metadata.states, state))) {
          const when = machine.compensatesOnExpiry(event, state) ? `held in ${state} is to be compensated when it expires` : `arriving late in ${state} is to be compensated`;
          add('COMPENSATION_MISSING', `${event} ${when}, but no @LateEventCompensation handles it there`, version);
        }
      }
    }
    for (const { name, metadata } of compensations) {
      const states = metadata.states ?? machine.stateNames;
      if (!states.some((state) => machine.hasState(state) && compensated(metadata.event, state))) {
        add('COMPENSATION_UNUSED', `compensation ${name} (${metadata.event} in ${(metadata.states ?? ['any state']).join(', ')}) never runs: machine ${machine.name} does not compensate ${metadata.event} there`, version);
      }
    }
  }

  for (const registration of [...registrations.listProcessors(), ...registrations.listPlugins(), ...registrations.listCompensations()]) {
    for (const version of registrations.versionsOf(registration.metadata)) {
      if (!machines.has(version)) {
        add('VERSION_NOT_SERVED', `${registration.name} serves version ${version} of the machine, which this service does not serve (versions: ${[...machines.keys()].sort().join(', ')})`);
      }
    }
  }

  for (const migration of migrations.values()) {
    for (const problem of migration.problems()) add(problem.code, problem.message);
  }
  return issues;
}
