// Risk retired: import circles. Two modules that import each other (directly or round a longer
// loop) cannot be read, tested or moved one at a time, and an ES module circle can hand one side
// an undefined binding at start-up. Every relative import and every `@ctc-hub/*` import between
// the workspace's packages and services is followed; type-only imports count too (they still
// tie the two files together for a reader).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { repoRoot } from '@ctc-hub/testing';

const roots = ['packages', 'services'];
const specifier = /(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g;

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory())
      return entry.name === 'node_modules' || entry.name === 'dist' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** `@ctc-hub/name` → the file its package exports as `.`. */
function packageEntries(): Map<string, string> {
  const entries = new Map<string, string>();
  for (const root of roots)
    for (const name of readdirSync(join(repoRoot, root))) {
      const directory = join(repoRoot, root, name);
      try {
        const manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as {
          name: string;
          exports?: Record<string, string>;
        };
        const entry = manifest.exports?.['.'];
        if (entry !== undefined) entries.set(manifest.name, resolve(directory, entry));
      } catch {
        // not a package
      }
    }
  return entries;
}

function importGraph(): Map<string, string[]> {
  const entries = packageEntries();
  const graph = new Map<string, string[]>();
  for (const root of roots)
    for (const file of sourceFiles(join(repoRoot, root))) {
      const targets: string[] = [];
      for (const [, spec] of readFileSync(file, 'utf8').matchAll(specifier)) {
        if (spec === undefined) continue;
        if (spec.startsWith('.'))
          targets.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
        else if (entries.has(spec)) targets.push(entries.get(spec) as string);
      }
      graph.set(file, targets);
    }
  return graph;
}

/** Strongly connected components of more than one file, or a file importing itself (Tarjan). */
function circles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!graph.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node) as number, low.get(target) as number));
      } else if (onStack.has(target))
        low.set(node, Math.min(low.get(node) as number, index.get(target) as number));
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop() as string;
      onStack.delete(member);
      component.push(relative(repoRoot, member));
    } while (member !== node);
    if (component.length > 1 || (graph.get(node) ?? []).includes(node))
      found.push(component.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

test('no module imports itself, directly or round a loop', () => {
  const graph = importGraph();
  expect(graph.size).toBeGreaterThan(300);
  expect(circles(graph)).toEqual([]);
});
