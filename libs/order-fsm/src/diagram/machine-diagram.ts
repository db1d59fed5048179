import type { MachineDefinition } from '../model/machine.js';
import type { ProcessorRegistry } from '../registry/processor-registry.js';

/** Which orders a diagram is about: omitted dimensions mean every value. */
export interface DiagramScope {
  readonly bizCode?: string;
  readonly sceneId?: string;
}

export interface DiagramState {
  readonly name: string;
  readonly kind: 'initial' | 'final' | 'automatic' | 'state';
  /** The event the worker sends in an automatic state. */
  readonly automaticEvent?: string;
  /** For which orders it is automatic, when not for all (`sceneId ENTERPRISE`). */
  readonly automaticFor?: string;
  readonly description?: string;
}

export interface DiagramEdge {
  readonly from: string;
  readonly to: string;
  readonly event: string;
  /** Who sends the event: a client, the worker (automatic), or a timer. */
  readonly trigger: 'client' | 'automatic' | 'timer';
  /** The processors that take it; empty when none does (drawn as a problem). */
  readonly processors: readonly string[];
  /** Who may send the event (`system`, role names), when the machine says; drawn as `[client]`. */
  readonly sentBy?: readonly string[];
}

export interface MachineDiagram {
  readonly machine: string;
  /** `*@*` for the whole machine, `TAXI@APP` for one dimension. */
  readonly scope: string;
  readonly states: readonly DiagramState[];
  readonly edges: readonly DiagramEdge[];
}

const covers = (list: readonly string[] | undefined, value: string | undefined) => value === undefined || !list || list.includes(value);
const toList = (v: string | readonly string[] | undefined) => (v === undefined ? undefined : typeof v === 'string' ? [v] : v);

/**
 * The machine as a graph, from its declared transitions and the registry. With a full scope
 * (bizCode and sceneId) each edge names the processors the registry would choose for such an order,
 * and only the transitions such an order can take are kept, with the states they touch.
 */
export function describeMachine(machine: MachineDefinition, registry: ProcessorRegistry, scope: DiagramScope = {}): MachineDiagram {
  const { bizCode, sceneId } = scope;
  const whole = bizCode === undefined && sceneId === undefined;
  const automaticOf = (state: string) => {
    const auto = machine.stateSpec(state)?.automatic;
    if (!auto || !covers(toList(auto.bizCode), bizCode) || !covers(toList(auto.sceneId), sceneId)) return undefined;
    return auto.event;
  };
  // The processors that serve this version of the machine, not those of the versions before or after it.
  const processorsOf = (from: string, event: string): string[] => {
    if (bizCode !== undefined && sceneId !== undefined) {
      const chosen = new Set(registry.resolve(from, event, bizCode, sceneId, machine.version));
      return registry.listProcessors(machine.version).filter((r) => chosen.has(r.instance)).map((r) => r.name);
    }
    return registry
      .listProcessors(machine.version)
      .filter(({ metadata: m }) => m.event === event && covers(m.states, from) && covers(m.bizCodes, bizCode) && covers(m.sceneIds, sceneId))
      .map((r) => r.name);
  };

  const edges: DiagramEdge[] = [];
  for (const t of machine.transitions) {
    const processors = processorsOf(t.from, t.event);
    if (!whole && processors.length === 0) continue;
    const trigger = t.timer ? 'timer' : automaticOf(t.from) === t.event ? 'automatic' : 'client';
    const senders = machine.sendersOf(t.event);
    edges.push({ from: t.from, to: t.to, event: t.event, trigger, processors, ...(senders && { sentBy: [...senders] }) });
  }
  const touched = new Set([machine.initial, ...edges.flatMap((e) => [e.from, e.to])]);
  const states: DiagramState[] = machine.stateNames
    .filter((name) => whole || touched.has(name))
    .map((name) => {
      const spec = machine.stateSpec(name);
      const automaticEvent = automaticOf(name);
      const kind = name === machine.initial ? 'initial' : spec?.final ? 'final' : automaticEvent ? 'automatic' : 'state';
      const auto = spec?.automatic;
      const automaticFor = automaticEvent && auto
        ? [
            bizCode === undefined && auto.bizCode !== undefined && `bizCode ${toList(auto.bizCode)!.join('|')}`,
            sceneId === undefined && auto.sceneId !== undefined && `sceneId ${toList(auto.sceneId)!.join('|')}`,
          ].filter(Boolean).join(', ')
        : '';
      return {
        name,
        kind,
        ...(automaticEvent && { automaticEvent }),
        ...(automaticFor && { automaticFor }),
        ...(spec?.description && { description: spec.description }),
      };
    });
  return { machine: machine.name, scope: `${bizCode ?? '*'}@${sceneId ?? '*'}`, states, edges };
}

const automaticLabel = (s: DiagramState) => `automatic ${s.automaticEvent}${s.automaticFor ? ` for ${s.automaticFor}` : ''}`;

const sentByLabel = (e: DiagramEdge) => (e.sentBy ? ` [${e.sentBy.length ? e.sentBy.join('|') : 'nobody'}]` : '');

const edgeLabel = (e: DiagramEdge, separator: string, between = ', ') =>
  `${e.trigger === 'timer' ? 'timer: ' : e.trigger === 'automatic' ? 'auto: ' : ''}${e.event}${sentByLabel(e)}${separator}${e.processors.length ? e.processors.join(between) : '(no processor)'}`;

/** Mermaid (stateDiagram-v2): final states end in [*], automatic states are shaded and say their event. */
export function toMermaid(d: MachineDiagram): string {
  const id = (state: string) => (d.states.find((s) => s.name === state)?.kind === 'initial' ? '[*]' : state);
  const lines = ['---', `title: ${d.machine} (${d.scope})`, '---', 'stateDiagram-v2', '  direction LR'];
  for (const s of d.states) {
    if (s.kind === 'automatic') lines.push(`  ${s.name} : ${s.name} (${automaticLabel(s)})`);
  }
  for (const e of d.edges) lines.push(`  ${id(e.from)} --> ${id(e.to)} : ${edgeLabel(e, ' / ')}`);
  for (const s of d.states) if (s.kind === 'final') lines.push(`  ${s.name} --> [*]`);
  lines.push('  classDef automatic fill:#fff3cd,stroke:#b58900', '  classDef final fill:#e8f5e9,stroke:#2e7d32');
  const automatic = d.states.filter((s) => s.kind === 'automatic').map((s) => s.name);
  const final = d.states.filter((s) => s.kind === 'final').map((s) => s.name);
  if (automatic.length) lines.push(`  class ${automatic.join(',')} automatic`);
  if (final.length) lines.push(`  class ${final.join(',')} final`);
  return `${lines.join('\n')}\n`;
}

const quote = (text: string) => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

/**
 * Graphviz DOT: the initial state is a dot, final states double circles, automatic states shaded;
 * automatic edges are bold, timer edges dashed, and an edge no processor takes is red.
 */
export function toDot(d: MachineDiagram): string {
  const lines = [
    `digraph ${quote(`${d.machine} ${d.scope}`)} {`,
    `  label=${quote(`${d.machine} (${d.scope})`)}; labelloc=t; rankdir=LR; fontname="Helvetica";`,
    '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=11];',
    '  edge [fontname="Helvetica", fontsize=9];',
  ];
  for (const s of d.states) {
    if (s.kind === 'initial') lines.push(`  ${quote(s.name)} [shape=circle, style=filled, fillcolor=black, label="", width=0.25, xlabel=${quote(s.name)}];`);
    else if (s.kind === 'final') lines.push(`  ${quote(s.name)} [shape=doublecircle, style=filled, fillcolor="#e8f5e9", color="#2e7d32"];`);
    else if (s.kind === 'automatic') {
      lines.push(`  ${quote(s.name)} [style="rounded,filled", fillcolor="#fff3cd", color="#b58900", label=${quote(`${s.name}\n(${automaticLabel(s)})`)}];`);
    } else lines.push(`  ${quote(s.name)};`);
  }
  for (const e of d.edges) {
    const style = [
      `label=${quote(edgeLabel(e, '\n', '\n'))}`,
      e.trigger === 'timer' && 'style=dashed',
      e.trigger === 'automatic' && 'style=bold, color="#b58900"',
      e.processors.length === 0 && 'color="#c62828", fontcolor="#c62828"',
    ].filter(Boolean);
    lines.push(`  ${quote(e.from)} -> ${quote(e.to)} [${style.join(', ')}];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

let graphviz: Promise<{ dot(source: string): string }> | undefined;

/** SVG, rendered in process by Graphviz compiled to WebAssembly: nothing is fetched. */
export async function toSvg(d: MachineDiagram): Promise<string> {
  graphviz ??= import('@hpcc-js/wasm-graphviz').then(({ Graphviz }) => Graphviz.load());
  return (await graphviz).dot(toDot(d));
}
