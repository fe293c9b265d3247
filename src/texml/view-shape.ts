/**
 * The shape of the values a template is rendered with, so a template can be checked before any
 * call arrives: every `{{name}}`, `{{#section}}` and `{{> partial}}` must resolve the way Mustache
 * will resolve it at render time (innermost section first, then outwards).
 *
 * - `'value'`: a string, number or boolean: usable as `{{x}}`, and as `{{#x}}`/`{{^x}}` to test it;
 * - an object: a section `{{#x}}…{{/x}}` whose body sees its fields;
 * - `[object]`: a list, `{{#x}}…{{/x}}` repeats the body for each item.
 */
export type Shape = 'value' | ShapeObject | ShapeList;
export interface ShapeObject {
  readonly [name: string]: Shape;
}
export type ShapeList = readonly [ShapeObject];

/** Mustache's token tuple: `[type, value, start, end, children?, closeStart?]`. */
export type Token = [string, string, number, number, ...unknown[]];

export interface ShapeIssue {
  /** Offset of the offending tag in its source. */
  offset: number;
  /** The source the tag is in (the template or one of its partials). */
  source: string;
  reason: string;
}

export interface PartialSource {
  /** File name used in messages. */
  source: string;
  tokens: Token[];
}

const isObject = (s: Shape | undefined): s is ShapeObject => typeof s === 'object' && !Array.isArray(s);
const isList = (s: Shape | undefined): s is ShapeList => Array.isArray(s);

function resolve(name: string, scopes: readonly Shape[]): Shape | undefined {
  const [first, ...rest] = name.split('.');
  for (let i = scopes.length - 1; i >= 0; i--) {
    const scope = scopes[i];
    if (!isObject(scope) || !Object.hasOwn(scope, first!)) continue;
    let current: Shape | undefined = scope[first!];
    for (const part of rest) {
      current = isObject(current) && Object.hasOwn(current, part) ? current[part] : undefined;
    }
    // Like Mustache: a dotted name that does not resolve here is looked up in the outer scopes.
    if (current !== undefined) return current;
  }
  return undefined;
}

function visibleNames(scopes: readonly Shape[]): string {
  const names = new Set<string>();
  for (const scope of scopes) if (isObject(scope)) for (const key of Object.keys(scope)) names.add(key);
  return [...names].sort().join(', ');
}

/**
 * Checks a parsed template against the shape of its view. Returns the first issue, or null.
 * Refuses `{{{x}}}` and `{{& x}}` (they would write a value unescaped into the XML) and delimiter
 * changes (they would hide such tags from this check's readers).
 */
export function checkTokens(
  tokens: readonly Token[],
  scopes: readonly Shape[],
  source: string,
  partials: ReadonlyMap<string, PartialSource>,
  partialChain: readonly string[] = [],
): ShapeIssue | null {
  for (const token of tokens) {
    const [type, name, offset] = token;
    const issue = (reason: string): ShapeIssue => ({ offset, source, reason });
    switch (type) {
      case 'text':
      case '!':
        break;
      case '&':
        return issue(
          `"${name}" is written unescaped ({{{${name}}}} or {{& ${name}}}): use {{${name}}}, which XML-escapes it`,
        );
      case '=':
        return issue('changing the Mustache delimiters ({{=…=}}) is not supported');
      case 'name': {
        if (name === '.') {
          if (scopes[scopes.length - 1] !== 'value') {
            return issue('{{.}} can only be used inside a section over a plain value');
          }
          break;
        }
        const shape = resolve(name, scopes);
        if (shape === undefined) {
          return issue(`unknown placeholder "${name}" (known here: ${visibleNames(scopes)})`);
        }
        if (shape !== 'value') {
          return issue(`"${name}" is a ${isList(shape) ? 'list' : 'section'}: use {{#${name}}}…{{/${name}}}`);
        }
        break;
      }
      case '#':
      case '^': {
        const shape = resolve(name, scopes);
        if (shape === undefined) {
          return issue(`unknown section "${name}" (known here: ${visibleNames(scopes)})`);
        }
        const inner = type === '^' ? scopes : [...scopes, isList(shape) ? shape[0] : shape];
        const found = checkTokens((token[4] as Token[]) ?? [], inner, source, partials, partialChain);
        if (found) return found;
        break;
      }
      case '>': {
        const partial = partials.get(name);
        if (!partial) {
          const known = [...partials.keys()].sort().join(', ') || 'none';
          return issue(`unknown partial "${name}" (partials: ${known})`);
        }
        if (partialChain.includes(name)) {
          return issue(`partial "${name}" includes itself (${[...partialChain, name].join(' → ')})`);
        }
        const found = checkTokens(partial.tokens, scopes, partial.source, partials, [...partialChain, name]);
        if (found) return found;
        break;
      }
      default:
        return issue(`unsupported Mustache tag "${type}"`);
    }
  }
  return null;
}
