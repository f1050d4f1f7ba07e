import ELK from 'elkjs/lib/elk.bundled.js';
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api';
import { ANY_STATE, MachineDescription } from './machine-graph';

const CHAR_WIDTH = 7.5;
const STATE_HEIGHT = 46;
const LABEL_HEIGHT = 14;

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * The machine laid out once with elkjs (layered, nested states inside their parent) and
 * drawn as SVG. Each state is a `<g data-state="id">` with a `<text data-count="id">` the
 * console fills with the number of actors in it. Events the root handles in every state
 * start from one dashed "any state" box instead of from each state.
 */
export async function machineSvg(description: MachineDescription): Promise<string> {
  const nodes = new Map<string, ElkNode>();
  const top: ElkNode[] = [];
  for (const state of description.states) {
    const node: ElkNode = { id: state.id, width: Math.max(110, state.label.length * CHAR_WIDTH + 30), height: STATE_HEIGHT, children: [], labels: [{ text: state.label }] };
    nodes.set(state.id, node);
    const parent = state.parent === null ? undefined : nodes.get(state.parent);
    if (parent) parent.children!.push(node);
    else top.push(node);
  }
  if (description.transitions.some((t) => t.from === ANY_STATE)) {
    top.push({ id: ANY_STATE, width: 110, height: 30, labels: [{ text: 'any state' }] });
  }
  const edges: ElkExtendedEdge[] = description.transitions.map((t, i) => ({
    id: `e${i}`,
    sources: [t.from],
    targets: [t.to],
    labels: [{ text: t.event, width: t.event.length * 6.2, height: LABEL_HEIGHT }],
  }));
  const elk = new ELK();
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.layered.spacing.nodeNodeBetweenLayers': '60',
      'elk.spacing.nodeNode': '40',
      'elk.spacing.edgeLabel': '4',
      'elk.edgeLabels.inline': 'false',
    },
    children: top,
    edges,
  };
  const laid: ElkNode = await elk.layout(graph);
  const parts: string[] = [];
  const drawNode = (node: ElkNode, dx: number, dy: number): void => {
    const x = dx + (node.x ?? 0);
    const y = dy + (node.y ?? 0);
    const id = escape(node.id);
    const label = escape(node.labels?.[0]?.text ?? node.id);
    const w = node.width ?? 0;
    if (node.id === ANY_STATE) {
      // Not a state: where the root's events start. No count, drawn dashed.
      parts.push(`<g class="any-state"><rect x="${x}" y="${y}" width="${w}" height="${node.height ?? 0}" rx="15"/><text class="label" x="${x + w / 2}" y="${y + 19}">${label}</text></g>`);
      return;
    }
    parts.push(
      `<g class="state" data-state="${id}"><rect x="${x}" y="${y}" width="${w}" height="${node.height ?? 0}" rx="10"/>` +
        `<text class="label" x="${x + w / 2}" y="${y + 19}">${label}</text>` +
        `<text class="count" data-count="${id}" x="${x + w / 2}" y="${y + 37}">0</text></g>`,
    );
    for (const child of node.children ?? []) drawNode(child, x, y);
  };
  for (const node of laid.children ?? []) drawNode(node, 0, 0);
  for (const edge of (laid.edges ?? []) as ElkExtendedEdge[]) {
    for (const section of edge.sections ?? []) {
      const points = [section.startPoint, ...(section.bendPoints ?? []), section.endPoint];
      parts.unshift(`<path class="edge" d="M ${points.map((p) => `${p.x} ${p.y}`).join(' L ')}" marker-end="url(#arrow)"/>`);
    }
    for (const label of edge.labels ?? []) {
      parts.push(`<text class="event" x="${(label.x ?? 0) + (label.width ?? 0) / 2}" y="${(label.y ?? 0) + 11}">${escape(label.text ?? '')}</text>`);
    }
  }
  const width = Math.ceil((laid.width ?? 0) + 2);
  const height = Math.ceil((laid.height ?? 0) + 2);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="machine" data-machine="${escape(description.id)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">` +
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>` +
    `${parts.join('')}</svg>`
  );
}
