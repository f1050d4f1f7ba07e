import { toDirectedGraph } from '@xstate/graph';
import type { AnyStateMachine } from 'xstate';

/** A state of a machine, by its path below the root (`closing`, or `a.b` when nested). */
export interface MachineState {
  id: string;
  /** The enclosing state's id, or null for the root's children. */
  parent: string | null;
  label: string;
}

export interface MachineTransition {
  from: string;
  to: string;
  event: string;
}

/** A machine as a directed graph, from its definition (xstate's graph utilities). */
export interface MachineDescription {
  id: string;
  states: MachineState[];
  transitions: MachineTransition[];
}

/** A node of @xstate/graph's directed graph, as much of it as is read here. */
interface GraphNode {
  id: string;
  children: GraphNode[];
  edges: { label: { text: string }; target: { id: string } }[];
}

/** `xstate.after.connectTimeout.machine.state` reads better as `after connectTimeout`. */
function eventLabel(text: string): string {
  const after = /^xstate\.after\.([^.]+)\./.exec(text);
  if (after) return `after ${after[1]}`;
  return text;
}

export function describeMachine(machine: AnyStateMachine): MachineDescription {
  const root = toDirectedGraph(machine) as unknown as GraphNode;
  const prefix = `${root.id}.`;
  const local = (id: string): string => (id.startsWith(prefix) ? id.slice(prefix.length) : id);
  const states: MachineState[] = [];
  const transitions: MachineTransition[] = [];
  const seen = new Set<string>();
  const visit = (node: GraphNode, parent: string | null): void => {
    for (const child of node.children) {
      const id = local(child.id);
      states.push({ id, parent, label: id.split('.').pop() ?? id });
      visit(child, id);
    }
  };
  visit(root, null);
  const addEdges = (node: GraphNode, from: string[]): void => {
    for (const edge of node.edges) {
      const event = eventLabel(edge.label.text);
      const to = local(edge.target.id);
      // An event handled on the root applies in every state: drawn from each state it moves.
      for (const source of from) {
        if (source === to) continue;
        const key = `${source}\u0000${to}\u0000${event}`;
        if (seen.has(key)) continue;
        seen.add(key);
        transitions.push({ from: source, to, event });
      }
    }
    for (const child of node.children) addEdges(child, [local(child.id)]);
  };
  const leaves = states.filter((s) => s.parent === null).map((s) => s.id);
  addEdges({ ...root, children: [] }, leaves.filter((id) => id !== 'closed'));
  for (const child of root.children) addEdges(child, [local(child.id)]);
  return { id: root.id, states, transitions };
}

/** Mermaid `stateDiagram-v2` text of a machine, with its initial state. */
export function toMermaid(description: MachineDescription, initial: string): string {
  const name = (id: string): string => id.replace(/[^A-Za-z0-9_]/g, '_');
  const lines = ['stateDiagram-v2', `  [*] --> ${name(initial)}`];
  for (const t of description.transitions) lines.push(`  ${name(t.from)} --> ${name(t.to)}: ${t.event}`);
  const finals = description.states.filter((s) => !description.transitions.some((t) => t.from === s.id));
  for (const s of finals) lines.push(`  ${name(s.id)} --> [*]`);
  return `${lines.join('\n')}\n`;
}
