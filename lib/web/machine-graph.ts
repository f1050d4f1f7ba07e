import { toDirectedGraph } from '@xstate/graph';
import type { AnyStateMachine } from 'xstate';

/** The source of a transition handled on the machine's root: it leaves whatever state the actor is in. */
export const ANY_STATE = '*';

/** A state of a machine, by its path below the root (`closing`, or `a.b` when nested). */
export interface MachineState {
  id: string;
  /** The enclosing state's id, or null for the root's children. */
  parent: string | null;
  label: string;
}

export interface MachineTransition {
  /** A state's id, or ANY_STATE for an event the root handles in every state. */
  from: string;
  to: string;
  event: string;
}

/**
 * A machine as a directed graph, from its definition (xstate's graph utilities). A machine
 * without child states (an actor that only parents others) is one state named after it.
 */
export interface MachineDescription {
  id: string;
  initial: string;
  states: MachineState[];
  transitions: MachineTransition[];
}

/** A node of @xstate/graph's directed graph, as much of it as is read here. */
interface GraphNode {
  id: string;
  children: GraphNode[];
  edges: { label: { text: string }; target: { id: string } }[];
}

/** `xstate.after.connectTimeout.machine.state` reads better as `after connectTimeout`; `*` as `any event`. */
function eventLabel(text: string): string {
  const after = /^xstate\.after\.([^.]+)\./.exec(text);
  if (after) return `after ${after[1]}`;
  if (text === '*') return 'any event';
  return text;
}

export function describeMachine(machine: AnyStateMachine): MachineDescription {
  const root = toDirectedGraph(machine) as unknown as GraphNode;
  const prefix = `${root.id}.`;
  const local = (id: string): string => (id === root.id ? root.id : id.startsWith(prefix) ? id.slice(prefix.length) : id);
  const states: MachineState[] = [];
  const transitions: MachineTransition[] = [];
  const visit = (node: GraphNode, parent: string | null): void => {
    for (const child of node.children) {
      const id = local(child.id);
      states.push({ id, parent, label: id.split('.').pop() ?? id });
      visit(child, id);
    }
  };
  visit(root, null);
  if (states.length === 0) {
    // Stateless: the actor itself is the one state, its root events loops on it.
    states.push({ id: root.id, parent: null, label: root.id });
    for (const edge of root.edges) transitions.push({ from: root.id, to: root.id, event: eventLabel(edge.label.text) });
    return { id: root.id, initial: root.id, states, transitions };
  }
  // Root events are drawn once, from ANY_STATE, not from each state they leave: the chart stays readable.
  for (const edge of root.edges) transitions.push({ from: ANY_STATE, to: local(edge.target.id), event: eventLabel(edge.label.text) });
  const addEdges = (node: GraphNode): void => {
    const from = local(node.id);
    for (const edge of node.edges) {
      const to = local(edge.target.id);
      // A targetless transition (an action on an event) changes no state: not an edge of the chart.
      if (to !== from) transitions.push({ from, to, event: eventLabel(edge.label.text) });
    }
    for (const child of node.children) addEdges(child);
  };
  for (const child of root.children) addEdges(child);
  const initial = typeof machine.config.initial === 'string' ? machine.config.initial : states[0]!.id;
  return { id: root.id, initial, states, transitions };
}

/** Mermaid `stateDiagram-v2` text of a machine, with its initial and final states. */
export function toMermaid(description: MachineDescription): string {
  const name = (id: string): string => (id === ANY_STATE ? 'any_state' : id.replace(/[^A-Za-z0-9_]/g, '_'));
  const lines = ['stateDiagram-v2', `  [*] --> ${name(description.initial)}`];
  if (description.transitions.some((t) => t.from === ANY_STATE)) lines.push(`  state "any state" as ${name(ANY_STATE)}`);
  for (const t of description.transitions) lines.push(`  ${name(t.from)} --> ${name(t.to)}: ${t.event}`);
  const finals = description.states.filter((s) => !description.transitions.some((t) => t.from === s.id && t.to !== s.id));
  for (const s of finals) if (s.id !== description.initial || description.states.length > 1) lines.push(`  ${name(s.id)} --> [*]`);
  return `${lines.join('\n')}\n`;
}
