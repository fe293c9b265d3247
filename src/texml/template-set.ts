import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import Mustache from 'mustache';
import { TemplateError } from './template-error.js';
import { validateTexml } from './texml-document.js';
import { checkTokens, type PartialSource, type ShapeObject, type Token } from './view-shape.js';
import { escapeXml } from './xml-escape.js';

/** One template file and what it is rendered with. */
export interface TemplateSpec<V> {
  /** File name inside the template folder, e.g. `inbound.xml`. */
  file: string;
  /** The names the renderer provides (see view-shape.ts). */
  shape: ShapeObject;
  /**
   * Views the template is test-rendered with at load: at least one per branch the renderer can
   * take, so every section's output is checked as TeXML.
   */
  samples: ReadonlyArray<{ label: string; view: V }>;
}

export type RenderFn<V> = (view: V) => string;

/** Partials live in `<dir>/partials/<name>.xml` and are included as `{{> name}}`. */
const PARTIALS_DIR = 'partials';
const PARTIAL_NAME = /^[a-z0-9-]+$/;
const RENDER_OPTIONS: Mustache.RenderOptions = { escape: escapeXml };

interface Source {
  path: string;
  text: string;
}

function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

function readSource(path: string): Source {
  // A BOM some editors add would put text before the XML declaration.
  return { path: displayPath(path), text: readFileSync(path, 'utf8').replace(/^\uFEFF/, '') };
}

function parse(writer: Mustache.Writer, source: Source): Token[] {
  try {
    return writer.parse(source.text) as Token[];
  } catch (err) {
    // mustache.js reports positions as "... at <offset>".
    const message = err instanceof Error ? err.message : String(err);
    const at = /^(.*) at (\d+)$/.exec(message);
    if (!at) throw new TemplateError(source.path, undefined, `Mustache: ${message}`);
    throw new TemplateError(source.path, lineAt(source.text, Number(at[2])), `Mustache: ${at[1]}`);
  }
}

/** A folder of templates whose partials are loaded; `compile` checks and compiles one template. */
export interface TemplateDir {
  /**
   * Loads, checks and compiles one template. Throws `TemplateError` (`file:line: reason`) for a
   * missing file, a Mustache syntax error, a name the renderer does not provide, unescaped output,
   * or a rendered sample that is not TeXML Telnyx can run.
   */
  compile<V>(spec: TemplateSpec<V>): RenderFn<V>;
}

/** Opens a template folder: reads and parses its partials (`partials/*.xml`), or throws `TemplateError`. */
export function openTemplateDir(dir: string): TemplateDir {
  // A private writer: its parse cache is ours alone, so nobody else's Mustache.clearCache() or
  // templates affect the hot path.
  const writer = new Mustache.Writer();
  const sources = new Map<string, Source>();

  const partialTexts: Record<string, string> = {};
  const partials = new Map<string, PartialSource>();
  const partialsDir = join(dir, PARTIALS_DIR);
  if (existsSync(partialsDir)) {
    for (const entry of readdirSync(partialsDir).sort()) {
      if (!entry.endsWith('.xml')) continue;
      const name = entry.slice(0, -'.xml'.length);
      const source = readSource(join(partialsDir, entry));
      if (!PARTIAL_NAME.test(name)) {
        throw new TemplateError(source.path, undefined, 'partial names use only a-z, 0-9 and "-"');
      }
      sources.set(source.path, source);
      partials.set(name, { source: source.path, tokens: parse(writer, source) });
      partialTexts[name] = source.text;
    }
  }

  return {
    compile<V>(spec: TemplateSpec<V>): RenderFn<V> {
      const path = join(dir, spec.file);
      if (!existsSync(path)) {
        throw new TemplateError(
          displayPath(path),
          undefined,
          'template file is missing (every call flow needs it)',
        );
      }
      const source = readSource(path);
      sources.set(source.path, source);
      const issue = checkTokens(parse(writer, source), [spec.shape], source.path, partials);
      if (issue) {
        const where = sources.get(issue.source)!;
        throw new TemplateError(issue.source, lineAt(where.text, issue.offset), issue.reason);
      }

      const render: RenderFn<V> = (view) =>
        writer.render(source.text, view, partialTexts, RENDER_OPTIONS).trimStart();

      for (const sample of spec.samples) {
        const problem = validateTexml(render(sample.view));
        if (!problem) continue;
        const located = locateProblem(source, partials, sources, sample.view);
        const when = `(rendered for ${sample.label})`;
        if (located) throw new TemplateError(located.path, located.line, `${located.reason} ${when}`);
        throw new TemplateError(
          source.path,
          undefined,
          `${problem.reason} ${when}, line ${problem.line} of the reply`,
        );
      }
      return render;
    },
  };
}

// ---- Mapping a problem in a rendered reply back to a template line ----
//
// Sections, partials and standalone-tag stripping make rendered lines differ from template lines.
// To find the source line, the template and its partials are rendered once more with a marker
// (private-use characters around an index) at the start of each source line; the markers that end
// up on a rendered line say where it came from. Markers only add non-XML-significant text at line
// starts (and stop standalone tags from swallowing their line), so the marked reply is the real one
// up to whitespace: the same XML problem shows up, now with a known origin.

const MARK = /\uE000(\d+)\uE001/g;
const MARK_ONE = /\uE000(\d+)\uE001/;
const MUSTACHE_TAG = /\{\{[\s\S]*?\}\}/g;

interface Origin {
  path: string;
  line: number;
}

function markLines(source: Source, origins: Origin[]): string {
  const { text } = source;
  // Never put a marker inside a {{tag}} that spans lines.
  const tags = [...text.matchAll(MUSTACHE_TAG)].map((m) => [m.index, m.index + m[0].length] as const);
  let out = '';
  let from = 0;
  let t = 0;
  let line = 1;
  for (let p = 0; p < text.length; line++) {
    while (t < tags.length && tags[t]![1] <= p) t++;
    if (!(t < tags.length && tags[t]![0] < p)) {
      origins.push({ path: source.path, line });
      out += `${text.slice(from, p)}\uE000${origins.length - 1}\uE001`;
      from = p;
    }
    const nl = text.indexOf('\n', p);
    if (nl === -1) break;
    p = nl + 1;
  }
  return out + text.slice(from);
}

function locateProblem(
  template: Source,
  partials: ReadonlyMap<string, PartialSource>,
  sources: ReadonlyMap<string, Source>,
  view: unknown,
): (Origin & { reason: string }) | null {
  const origins: Origin[] = [];
  const markedPartials: Record<string, string> = {};
  for (const [name, partial] of partials)
    markedPartials[name] = markLines(sources.get(partial.source)!, origins);
  const marked = markLines(template, origins);
  // A throwaway writer: marked texts must not fill the hot path's cache.
  const rendered = new Mustache.Writer().render(marked, view, markedPartials, RENDER_OPTIONS);

  const lines = rendered.split('\n');
  const lineOrigin: (Origin | undefined)[] = [];
  let last: { origin: Origin; index: number } | undefined;
  lines.forEach((text, index) => {
    const m = MARK_ONE.exec(text);
    if (m) last = { origin: origins[Number(m[1])]!, index };
    lineOrigin.push(last && { path: last.origin.path, line: last.origin.line + index - last.index });
  });

  const clean = rendered.replace(MARK, '');
  const trimmed = clean.trimStart();
  const skippedLines = clean.slice(0, clean.length - trimmed.length).split('\n').length - 1;
  const problem = validateTexml(trimmed);
  if (!problem) return null;
  const at = (renderedLine: number) => lineOrigin[renderedLine - 1 + skippedLines];
  const origin = at(problem.line);
  if (!origin) return null;
  // The validator's message may name another rendered line ("opened in line 3, col 5"): map it too.
  const reason = problem.reason.replace(/\bin line (\d+), col \d+/g, (text, line: string) => {
    const other = at(Number(line));
    if (!other) return text;
    return other.path === origin.path ? `on line ${other.line}` : `in ${other.path}:${other.line}`;
  });
  return { ...origin, reason };
}
