/**
 * Where the pipeline run view draws each step: a left-to-right layered layout
 * of the DAG (pure, unit-tested).
 *
 * A step's column is its dependency depth (the longest chain of `depends_on`
 * above it: 0 for a step that depends on nothing), so every edge points right.
 * Within a column, steps are ordered by the mean row of their dependencies
 * (fewer crossings), ties in the pipeline file's order; columns are centred
 * vertically on the tallest one. Edges go from the right middle of a step to
 * the left middle of the step that depends on it.
 */

/** What the layout needs of a step. */
export interface IDagStep {
  name: string;
  depends_on: ReadonlyArray<string>;
}

/** Sizes of the drawing, in pixels. */
export interface IDagBox {
  nodeWidth: number;
  nodeHeight: number;
  /** Horizontal space between two columns (where the edges run). */
  columnGap: number;
  /** Vertical space between two steps of a column. */
  rowGap: number;
  /** Space around the whole drawing. */
  margin: number;
}

export const DEFAULT_DAG_BOX: IDagBox = {
  nodeWidth: 184,
  nodeHeight: 92,
  columnGap: 56,
  rowGap: 16,
  margin: 12
};

export interface IDagNode<S extends IDagStep = IDagStep> {
  step: S;
  /** Dependency depth: the column. */
  depth: number;
  /** Position in its column, from the top. */
  row: number;
  /** Top-left corner. */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface IDagEdge {
  /** The step depended on. */
  from: string;
  /** The step that depends on it. */
  to: string;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface IDagLayout<S extends IDagStep = IDagStep> {
  /** In the steps' order. */
  nodes: IDagNode<S>[];
  edges: IDagEdge[];
  width: number;
  height: number;
}

/**
 * The dependency depth of every step: 0 without dependencies, else one more
 * than its deepest dependency. Names that are not steps are ignored; a step on
 * a cycle (the server refuses those) gets the depth reached before the cycle.
 */
export function stepDepths(steps: ReadonlyArray<IDagStep>): Map<string, number> {
  const byName = new Map(steps.map(step => [step.name, step]));
  const depths = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (name: string): number => {
    const known = depths.get(name);
    if (known !== undefined) {
      return known;
    }
    const step = byName.get(name);
    if (!step || visiting.has(name)) {
      return -1;
    }
    visiting.add(name);
    let depth = 0;
    for (const parent of step.depends_on) {
      if (parent !== name && byName.has(parent)) {
        depth = Math.max(depth, depthOf(parent) + 1);
      }
    }
    visiting.delete(name);
    depths.set(name, depth);
    return depth;
  };
  for (const step of steps) {
    depthOf(step.name);
  }
  return depths;
}

/** Lay the steps out (see the module's description). */
export function layoutDag<S extends IDagStep>(
  steps: ReadonlyArray<S>,
  box: IDagBox = DEFAULT_DAG_BOX
): IDagLayout<S> {
  const depths = stepDepths(steps);
  const order = new Map(steps.map((step, i) => [step.name, i]));
  const columns: S[][] = [];
  for (const step of steps) {
    const depth = depths.get(step.name) ?? 0;
    (columns[depth] ??= []).push(step);
  }

  const rows = new Map<string, number>();
  columns.forEach((column, depth) => {
    if (depth > 0) {
      const key = (step: S): number => {
        const parents = step.depends_on
          .map(parent => rows.get(parent))
          .filter((row): row is number => row !== undefined);
        return parents.length
          ? parents.reduce((sum, row) => sum + row, 0) / parents.length
          : Number.POSITIVE_INFINITY;
      };
      column.sort((a, b) => key(a) - key(b) || order.get(a.name)! - order.get(b.name)!);
    }
    column.forEach((step, row) => rows.set(step.name, row));
  });

  const tallest = Math.max(0, ...columns.map(column => column?.length ?? 0));
  const pitchX = box.nodeWidth + box.columnGap;
  const pitchY = box.nodeHeight + box.rowGap;
  const columnHeight = (n: number): number => (n > 0 ? n * pitchY - box.rowGap : 0);
  const totalHeight = columnHeight(tallest);

  const placed = new Map<string, IDagNode<S>>();
  columns.forEach((column, depth) => {
    const offset = (totalHeight - columnHeight(column.length)) / 2;
    column.forEach((step, row) => {
      placed.set(step.name, {
        step,
        depth,
        row,
        x: box.margin + depth * pitchX,
        y: box.margin + offset + row * pitchY,
        width: box.nodeWidth,
        height: box.nodeHeight
      });
    });
  });

  const nodes = steps.map(step => placed.get(step.name)!);
  const edges: IDagEdge[] = [];
  for (const node of nodes) {
    for (const parent of node.step.depends_on) {
      const from = placed.get(parent);
      if (!from || parent === node.step.name) {
        continue;
      }
      edges.push({
        from: parent,
        to: node.step.name,
        x1: from.x + from.width,
        y1: from.y + from.height / 2,
        x2: node.x,
        y2: node.y + node.height / 2
      });
    }
  }

  const columnCount = columns.length;
  return {
    nodes,
    edges,
    width: columnCount ? 2 * box.margin + columnCount * pitchX - box.columnGap : 0,
    height: tallest ? 2 * box.margin + totalHeight : 0
  };
}
