import type { Backlog } from '@savepoint/task-schema';

/**
 * The built-in outline decomposer: turns a PRD's markdown outline into a backlog, deterministically
 * (the same PRD text always gives the same backlog).
 *
 * Rules:
 * - A single level-1 heading before any other heading is the document title and is skipped.
 * - The remaining heading levels, shallowest first, become Phase, Milestone and Task; deeper headings
 *   are Tasks too (their parent Task's title is prefixed so they stay recognisable).
 * - Top-level list items (`-`, `*`, `+`, `1.`) become Subtasks of the nearest heading; nested list items
 *   and paragraphs become that item's description. Fenced code blocks are skipped.
 * - A missing level is filled with a container that repeats its parent's title, so every branch is
 *   Phase > Milestone > Task > Subtask, and a Task without list items gets one Subtask named after it.
 *   A PRD with no headings at all becomes one Phase named after its first line.
 * - Within a Task, each Subtask depends on the one before it.
 */
export function decomposePrd(text: string, options: DecomposeOptions = {}): Backlog {
  const blocks = outline(text);
  const fallbackTitle = options.fallbackTitle ?? firstLine(text) ?? 'Plan';
  const root = newNode(fallbackTitle);

  const headingLevels = [...new Set(blocks.filter(isHeading).map((b) => b.level))].sort();
  let skipTitle = false;
  const firstHeading = blocks.find(isHeading);
  if (
    firstHeading?.level === 1 &&
    blocks.filter((b) => isHeading(b) && b.level === 1).length === 1
  ) {
    skipTitle = true;
    root.title = firstHeading.text;
  }
  const levels = skipTitle ? headingLevels.filter((level) => level !== 1) : headingLevels;
  const depthOf = (level: number) => Math.min(levels.indexOf(level) + 1, 4);

  // Stack of open nodes by depth: index 0 is the root, 1 Phase, 2 Milestone, 3 Task.
  const stack: Node[] = [root];
  let taskTitle = '';
  for (const block of blocks) {
    if (block.kind === 'heading') {
      if (skipTitle && block.level === 1) continue;
      let depth = depthOf(block.level);
      let title = block.text;
      if (depth === 4) {
        // Headings below Task level stay Tasks, named after the Task they refine.
        depth = 3;
        if (taskTitle) title = `${taskTitle}: ${title}`;
      } else if (depth === 3) {
        taskTitle = title;
      }
      stack.length = Math.min(stack.length, depth);
      const node = newNode(title);
      ensureDepth(stack, depth - 1).children.push(node);
      stack.push(node);
    } else if (block.kind === 'item') {
      stack[stack.length - 1]!.items.push({ title: block.text, description: [...block.details] });
    } else {
      stack[stack.length - 1]!.description.push(block.text);
    }
  }
  if (root.children.length === 0 && root.items.length === 0)
    root.children.push(newNode(root.title));
  const phases = normalise(root);

  return {
    backlog: phases.map((phase, p) => {
      const phaseId = `P${p + 1}`;
      return {
        type: 'Phase',
        id: phaseId,
        title: phase.title,
        status: 'Planned',
        description: describe(phase),
        milestones: phase.children.map((milestone, m) => {
          const milestoneId = `${phaseId}.M${m + 1}`;
          return {
            type: 'Milestone',
            id: milestoneId,
            title: milestone.title,
            status: 'Planned',
            description: describe(milestone),
            tasks: milestone.children.map((task, t) => {
              const taskId = `${milestoneId}.T${t + 1}`;
              return {
                type: 'Task',
                id: taskId,
                title: task.title,
                status: 'Planned',
                description: describe(task),
                subtasks: task.items.map((item, s) => {
                  const id = `${taskId}.S${s + 1}`;
                  return {
                    type: 'Subtask',
                    id,
                    title: item.title,
                    status: 'Planned',
                    story_points: 1,
                    dependencies: s === 0 ? [] : [`${taskId}.S${s}`],
                    context_scope: contract(item, task, milestone, phase),
                  };
                }),
              };
            }),
          };
        }),
      };
    }),
    currentItemId: null,
  } as Backlog;
}

/** Options for {@link decomposePrd}. */
export interface DecomposeOptions {
  /** Title of the single Phase made from a PRD without headings. @default the PRD's first line */
  fallbackTitle?: string;
}

interface Item {
  title: string;
  description: string[];
}

interface Node {
  title: string;
  description: string[];
  children: Node[];
  items: Item[];
}

type Block =
  | { kind: 'heading'; level: number; text: string }
  | { kind: 'item'; text: string; details: string[] }
  | { kind: 'paragraph'; text: string };

function isHeading(block: Block): block is Extract<Block, { kind: 'heading' }> {
  return block.kind === 'heading';
}

const MAX_TITLE = 200;

/** Reads the markdown into headings, top-level list items (with nested lines) and paragraphs. */
function outline(text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let fence: string | null = null;
  let paragraph: string[] = [];
  let currentItem: Extract<Block, { kind: 'item' }> | null = null;

  const endParagraph = () => {
    if (paragraph.length > 0) {
      blocks.push({ kind: 'paragraph', text: clean(paragraph.join(' ')) });
      paragraph = [];
    }
  };

  for (const raw of lines) {
    const line = raw.replace(/\t/g, '    ');
    const fenceMatch = /^\s*(```|~~~)/.exec(line);
    if (fence) {
      if (fenceMatch && fenceMatch[1] === fence) fence = null;
      continue;
    }
    if (fenceMatch) {
      endParagraph();
      fence = fenceMatch[1]!;
      continue;
    }
    const heading = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      endParagraph();
      currentItem = null;
      const title = clean(heading[2]!);
      if (title) blocks.push({ kind: 'heading', level: heading[1]!.length, text: title });
      continue;
    }
    const item = /^( *)(?:[-*+]|\d{1,9}[.)])\s+(.*)$/.exec(line);
    if (item && !/^ *[-*_](\s*[-*_]){2,}\s*$/.test(line)) {
      const indent = item[1]!.length;
      const content = clean(item[2]!.replace(/^\[[ xX]\]\s+/, ''));
      if (indent < 2 || !currentItem) {
        endParagraph();
        if (content) {
          currentItem = { kind: 'item', text: content, details: [] };
          blocks.push(currentItem);
        }
      } else if (content) {
        currentItem.details.push(content);
      }
      continue;
    }
    if (line.trim() === '') {
      endParagraph();
      continue;
    }
    if (/^ {0,3}([-*_])(\s*\1){2,}\s*$/.test(line) || /^\s*\|/.test(line)) {
      // Thematic breaks and table rows carry no outline.
      endParagraph();
      continue;
    }
    if (currentItem && /^ {2,}\S/.test(line) && paragraph.length === 0) {
      currentItem.details.push(clean(line));
      continue;
    }
    currentItem = null;
    paragraph.push(line.trim());
  }
  endParagraph();
  return blocks;
}

function newNode(title: string): Node {
  return { title, description: [], children: [], items: [] };
}

/** Makes sure the stack has an open node at `depth`, inventing containers for skipped levels. */
function ensureDepth(stack: Node[], depth: number): Node {
  while (stack.length <= depth) {
    const node = newNode(stack[stack.length - 1]!.title);
    stack[stack.length - 1]!.children.push(node);
    stack.push(node);
  }
  return stack[depth]!;
}

/**
 * Gives every branch all four levels: list items on the root, a Phase or a Milestone move into a
 * chain of containers that repeat its title, and a Task with no items gets one Subtask named after it.
 */
function normalise(root: Node): Node[] {
  const lift = (node: Node, depth: number) => {
    if (depth === 3) {
      if (node.items.length === 0) {
        node.items.push({ title: node.title, description: [...node.description] });
      }
      return;
    }
    if (node.items.length > 0) {
      const top = newNode(node.title);
      let bottom = top;
      for (let d = depth + 2; d <= 3; d++) {
        const inner = newNode(node.title);
        bottom.children.push(inner);
        bottom = inner;
      }
      bottom.items = node.items;
      node.items = [];
      node.children.unshift(top);
    }
    if (node.children.length === 0) node.children.push(newNode(node.title));
    for (const child of node.children) lift(child, depth + 1);
  };
  lift(root, 0);
  return root.children;
}

function describe(node: Node): string {
  return node.description.length > 0 ? node.description.join('\n\n') : node.title;
}

function contract(item: Item, task: Node, milestone: Node, phase: Node): string {
  const detail = item.description.length > 0 ? item.description.join(' ') : item.title;
  return [
    'CONTRACT DEFINITION:',
    `1. RESEARCH NOTE: Part of "${phase.title}" > "${milestone.title}" > "${task.title}".`,
    `2. INPUT: ${task.description.length > 0 ? task.description.join(' ') : 'The PRD section this item comes from.'}`,
    `3. LOGIC: ${detail}`,
    `4. OUTPUT: "${item.title}" done and verified.`,
  ].join('\n');
}

/** Strips inline markdown so titles read as plain text. */
function clean(text: string): string {
  const plain = text
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/(\*\*|__)(.*?)\1/g, '$2')
    .replace(/(^|[^\w*])[*_]([^*_]+)[*_](?=$|[^\w*])/g, '$1$2')
    .replace(/`([^`]*)`/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
  return plain.length > MAX_TITLE ? `${plain.slice(0, MAX_TITLE - 1)}…` : plain;
}

function firstLine(text: string): string | undefined {
  const line = text
    .split(/\r?\n/)
    .map((l) => clean(l.replace(/^#+\s*/, '')))
    .find((l) => l.length > 0);
  return line;
}
