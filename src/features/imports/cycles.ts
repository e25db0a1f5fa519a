/**
 * Links a file may close into a loop (a task its own ancestor, tasks waiting on each other), which
 * tasks must never hold: which links to cut, in a way that depends only on the ids (so a retried final
 * pass cuts the same ones).
 */

/** Tasks whose parent link closes a loop of parents: cut that link and every task has a root. */
export function parentLinksToCut(parents: ReadonlyMap<string, string>): string[] {
  const state = new Map<string, 1 | 2>();
  const cut: string[] = [];
  for (const start of [...parents.keys()].sort()) {
    const path: string[] = [];
    let node: string | undefined = start;
    while (node !== undefined && !state.has(node)) {
      state.set(node, 1);
      path.push(node);
      node = parents.get(node);
    }
    // Back at a task of this very walk: the last one's parent link closes the loop.
    const last = path.at(-1);
    if (node !== undefined && state.get(node) === 1 && last !== undefined) cut.push(last);
    for (const p of path) state.set(p, 2);
  }
  return cut;
}

/** Dependency edges that close a cycle (back edges of a depth-first walk in id order). */
export function dependencyEdgesToCut(
  edges: readonly { id: string; dependsOn: string }[],
): { id: string; dependsOn: string }[] {
  const next = new Map<string, string[]>();
  for (const e of edges) {
    // Appended in place: copying the list on each edge made a task with n edges cost n².
    const list = next.get(e.id);
    if (list) list.push(e.dependsOn);
    else next.set(e.id, [e.dependsOn]);
  }
  for (const list of next.values()) list.sort();
  const state = new Map<string, 1 | 2>();
  const cut: { id: string; dependsOn: string }[] = [];
  for (const start of [...next.keys()].sort()) {
    if (state.has(start)) continue;
    // An explicit stack: a file may chain thousands of tasks, deeper than the call stack goes.
    const stack: { node: string; i: number }[] = [{ node: start, i: 0 }];
    state.set(start, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { node: string; i: number };
      const targets = next.get(top.node) ?? [];
      if (top.i >= targets.length) {
        state.set(top.node, 2);
        stack.pop();
        continue;
      }
      const target = targets[top.i++] as string;
      const seen = state.get(target);
      if (seen === 1) cut.push({ id: top.node, dependsOn: target });
      else if (seen === undefined) {
        state.set(target, 1);
        stack.push({ node: target, i: 0 });
      }
    }
  }
  return cut;
}
