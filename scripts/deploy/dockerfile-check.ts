import { validate } from 'dockerfile-utils';

/**
 * Lints the Dockerfile: dockerfile-utils' parser-level validation (what `docker build` would
 * refuse: bad flags, bad instructions, JSON in single quotes...), then the rules of our image
 * (issue "Ship it"): every stage on node:22-bookworm-slim pinned by one digest, multi-stage with a production-only
 * `npm ci --omit=dev`, compiled output only, a numeric non-root USER, exec-form CMD so SIGTERM
 * reaches Node, the call-flow templates and prompts inside.
 */

export const BASE_IMAGE = 'node:22-bookworm-slim';

export interface DockerfileProblem {
  /** 1-based line of the instruction (0: the file as a whole). */
  line: number;
  message: string;
}

export interface Instruction {
  line: number;
  keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  args: string;
}

interface Stage {
  line: number;
  image: string;
  name?: string;
  instructions: Instruction[];
}

/** Splits a Dockerfile into instructions: comments dropped, `\` continuations joined. */
export function parseInstructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split(/\r?\n/);
  let current: { line: number; text: string } | undefined;
  lines.forEach((raw, i) => {
    const trimmed = raw.trim();
    if (!current && (trimmed === '' || trimmed.startsWith('#'))) return;
    if (current && trimmed.startsWith('#')) return; // comment lines inside a continuation are skipped
    const continues = trimmed.endsWith('\\');
    const piece = continues ? trimmed.slice(0, -1) : trimmed;
    if (current) current.text = `${current.text.trimEnd()} ${piece}`;
    else current = { line: i + 1, text: piece };
    if (!continues) {
      const match = /^(\S+)\s*(.*)$/s.exec(current.text.trim());
      if (match) out.push({ line: current.line, keyword: match[1]!.toUpperCase(), args: match[2]!.trim() });
      current = undefined;
    }
  });
  return out;
}

/** True when `args` is a JSON array of strings (exec form). */
function isExecForm(args: string): boolean {
  try {
    const value: unknown = JSON.parse(args);
    return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string');
  } catch {
    return false;
  }
}

function stagesOf(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const words = ins.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const asIndex = words.findIndex((w) => w.toUpperCase() === 'AS');
      stages.push({
        line: ins.line,
        image: words[0] ?? '',
        name: asIndex > 0 ? words[asIndex + 1]?.toLowerCase() : undefined,
        instructions: [],
      });
    } else {
      stages.at(-1)?.instructions.push(ins);
    }
  }
  return stages;
}

/** Every problem found; an empty list means the Dockerfile passes. */
export function checkDockerfile(text: string): DockerfileProblem[] {
  const problems: DockerfileProblem[] = [];
  for (const d of validate(text)) {
    problems.push({ line: d.range.start.line + 1, message: `dockerfile-utils: ${d.message}` });
  }

  const stages = stagesOf(parseInstructions(text));
  if (stages.length < 2) {
    problems.push({ line: 0, message: 'must be multi-stage: build with dev dependencies, run without them' });
  }
  const names = new Set<string>();
  const digests = new Set<string>();
  for (const stage of stages) {
    const image = stage.image.toLowerCase();
    const fromStage = names.has(image);
    const [base, digest] = image.split('@');
    if (!fromStage && base !== BASE_IMAGE) {
      problems.push({
        line: stage.line,
        message: `FROM ${stage.image}: every stage must build on ${BASE_IMAGE}`,
      });
    } else if (!fromStage && !(digest && /^sha256:[0-9a-f]{64}$/.test(digest))) {
      // A tag moves; the digest beside it makes a rebuild reproducible and the base reviewable.
      problems.push({
        line: stage.line,
        message: `FROM ${stage.image}: pin the base by digest beside its tag (${BASE_IMAGE}@sha256:…)`,
      });
    } else if (!fromStage && digest) {
      digests.add(digest);
    }
    if (stage.name) names.add(stage.name);
  }
  if (digests.size > 1) {
    problems.push({
      line: 0,
      message: `every stage must use the same ${BASE_IMAGE} digest (found ${[...digests].join(', ')})`,
    });
  }

  const runs = stages.flatMap((s) => s.instructions.filter((i) => i.keyword === 'RUN'));
  if (!runs.some((r) => /\bnpm ci\b(?![^&;|]*--omit=dev)/.test(r.args))) {
    problems.push({ line: 0, message: 'a build stage must install every dependency with `npm ci`' });
  }
  if (!runs.some((r) => /\bnpm ci\b[^&;|]*--omit=dev/.test(r.args))) {
    problems.push({ line: 0, message: 'the runtime dependencies must come from `npm ci --omit=dev`' });
  }

  const final = stages.at(-1);
  if (!final) return problems;
  const last = (keyword: string) => final.instructions.filter((i) => i.keyword === keyword).at(-1);

  const user = last('USER');
  if (!user) {
    problems.push({ line: final.line, message: 'the final stage must set USER to a non-root user' });
  } else {
    const uid = user.args.split(':')[0]!.trim();
    if (!/^\d+$/.test(uid)) {
      problems.push({
        line: user.line,
        message: `USER ${user.args}: use a numeric uid, so Kubernetes runAsNonRoot can verify it`,
      });
    } else if (Number(uid) === 0) {
      problems.push({ line: user.line, message: 'USER must not be root (uid 0)' });
    }
  }

  const cmd = last('CMD');
  if (!cmd) problems.push({ line: final.line, message: 'the final stage needs a CMD' });
  else if (!isExecForm(cmd.args)) {
    problems.push({
      line: cmd.line,
      message:
        'CMD must be exec form (["node", ...]): in shell form /bin/sh is PID 1 and SIGTERM never reaches Node',
    });
  }
  const entrypoint = last('ENTRYPOINT');
  if (entrypoint && !isExecForm(entrypoint.args)) {
    problems.push({ line: entrypoint.line, message: 'ENTRYPOINT must be exec form (a JSON array)' });
  }
  const healthcheck = last('HEALTHCHECK');
  if (healthcheck && !/^NONE$/i.test(healthcheck.args)) {
    const cmdPart = healthcheck.args.replace(/^(--\S+\s+)*/, '');
    if (!/^CMD\s+/i.test(cmdPart) || !isExecForm(cmdPart.replace(/^CMD\s+/i, ''))) {
      problems.push({ line: healthcheck.line, message: 'HEALTHCHECK CMD must be exec form (a JSON array)' });
    }
  }

  const copies = final.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD');
  const copied = (pattern: RegExp) => copies.some((c) => pattern.test(c.args));
  if (!copied(/(^|\s)(\.\/)?texml\/?(\s|$)/))
    problems.push({ line: final.line, message: 'the image must contain texml/' });
  if (!copied(/(^|\s)(\.\/)?audio\/?(\s|$)/))
    problems.push({ line: final.line, message: 'the image must contain audio/' });
  if (!copied(/--from=\S+\s+\S*dist\b/)) {
    problems.push({
      line: final.line,
      message: 'the final stage must copy the compiled dist/ from a build stage',
    });
  }
  for (const c of copies) {
    if (!/--from=/.test(c.args) && /(^|\s)(\.\/)?(src|test)\/?(\s|$)|(^|\s)\.(\s|$)/.test(c.args)) {
      problems.push({
        line: c.line,
        message: `COPY ${c.args}: the runtime image holds compiled output only`,
      });
    }
  }
  for (const r of final.instructions.filter((i) => i.keyword === 'RUN')) {
    if (/\bnpm (ci|install|i)\b/.test(r.args) && !/--omit=dev/.test(r.args)) {
      problems.push({ line: r.line, message: 'the final stage must not install dev dependencies' });
    }
  }
  return problems;
}
