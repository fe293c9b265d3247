import { XMLParser } from 'fast-xml-parser';

/** A parsed element, as an independent XML parser (fast-xml-parser) sees it. */
export interface El {
  name: string;
  attrs: Record<string, string>;
  text: string;
  children: El[];
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: true,
});

type Node = Record<string, unknown> & { ':@'?: Record<string, string> };

function toEl(node: Node): El | null {
  const name = Object.keys(node).find((k) => k !== ':@');
  if (!name || name === '#text' || name.startsWith('?')) return null;
  const kids = (node[name] as Node[]) ?? [];
  const children = kids.map(toEl).filter((e): e is El => e !== null);
  const text = kids
    .filter((k) => '#text' in k)
    .map((k) => String(k['#text']))
    .join('');
  return { name, attrs: { ...(node[':@'] ?? {}) }, text, children };
}

/** Parses a TeXML reply and returns its root element. */
export function parseXml(xml: string): El {
  const roots = (parser.parse(xml) as Node[]).map(toEl).filter((e): e is El => e !== null);
  if (roots.length !== 1) throw new Error(`expected one root element, got ${roots.length}`);
  return roots[0]!;
}

/** Every element below (and including) `el`, depth first. */
export function allElements(el: El): El[] {
  return [el, ...el.children.flatMap(allElements)];
}

export function count(el: El, name: string): number {
  return allElements(el).filter((e) => e.name === name).length;
}
