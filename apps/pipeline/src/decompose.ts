import { type Backlog, createBacklogIndex } from '@savepoint/task-schema';

/**
 * Why a PRD could not be decomposed.
 *
 * - `EMPTY`: the text is empty or only whitespace.
 * - `BINARY`: the text holds NUL characters or bytes that are not UTF-8: not a markdown file.
 * - `NO_HEADINGS`: the text has no markdown heading (`#`, or a line underlined with `===`/`---`).
 * - `NO_WORK`: every section is one that is not work (Non-goals, References, ...) or the title.
 */
export type DecomposeErrorCode = 'EMPTY' | 'BINARY' | 'NO_HEADINGS' | 'NO_WORK';

/** The PRD cannot be turned into a backlog; the message says why, naming the source if given. */
export class DecomposeError extends Error {
  override readonly name = 'DecomposeError';
  constructor(
    readonly code: DecomposeErrorCode,
    message: string,
    readonly source: string | undefined,
  ) {
    super(message);
  }
}

/**
 * Headings of sections that are plainly not work; they are skipped with everything under them
 * (their subsections too). Matched case-insensitively on the heading text, after a leading
 * number (`7.`, `A.`) is dropped, either whole or followed by a space, colon or dash
 * (`Appendix A: data model`, `Out of scope for v1`).
 */
export const NON_WORK_SECTIONS: readonly string[] = Object.freeze([
  'non-goals',
  'non goals',
  'nongoals',
  'out of scope',
  'not in scope',
  'references',
  'glossary',
  'appendix',
  'appendices',
  'faq',
  'faqs',
  'frequently asked questions',
  'background',
  'open questions',
  'further reading',
  'see also',
  'changelog',
  'revision history',
]);

/**
 * The built-in outline decomposer: turns a PRD's markdown outline into a backlog, deterministically
 * (the same PRD text always gives the same backlog, with the same ids).
 *
 * Rules (also in the app's README):
 * - ATX (`## Title`) and setext (`Title` over `===` for level 1, `---` for level 2) headings.
 * - A single level-1 heading before any other heading is the document title.
 * - Sections named in {@link NON_WORK_SECTIONS} are skipped with their subsections.
 * - With three or more section levels, the shallowest three become Phase, Milestone and Task;
 *   deeper headings are Tasks too (named after the Task they refine). With fewer, the deepest level
 *   is Task and the one above it Milestone; a missing Phase is the document title (or "Plan"), a
 *   missing Milestone repeats its Phase's title. A Task never repeats its Milestone's title.
 * - Top-level list items (`-`, `*`, `+`, `1.`) become Subtasks of the nearest heading; `- [x]`
 *   starts Complete, `- [ ]` Planned. Nested list items and indented lines become the item's
 *   details. Fenced code blocks are skipped. Items written directly under a heading above Task
 *   level go into a Task named "General" of that heading.
 * - A Task without list items gets one Subtask named after it.
 * - Within a Task, each Subtask depends on the one before it.
 *
 * @throws DecomposeError when the text is empty, binary, has no heading, or has no work section.
 */
export function decomposePrd(text: string, options: DecomposeOptions = {}): Backlog {
  const source = options.source;
  const where = source === undefined ? 'the PRD' : source;
  if (text.includes('\u0000') || badUtf8(text)) {
    throw new DecomposeError(
      'BINARY',
      `${where} is not a text file (it holds NUL or non-UTF-8 bytes); give a markdown PRD`,
      source,
    );
  }
  if (text.trim() === '') {
    throw new DecomposeError(
      'EMPTY',
      `${where} is ${text.length === 0 ? 'empty' : 'blank'}; write the work as markdown headings and list items`,
      source,
    );
  }
  const all = outline(text);
  if (!all.some(isHeading)) {
    throw new DecomposeError(
      'NO_HEADINGS',
      `${where} has no markdown heading; the built-in decomposer needs headings (## Section) with list items under them, or use --backlog / --decompose`,
      source,
    );
  }
  const blocks = withoutNonWork(all);
  const root = newNode(options.fallbackTitle ?? 'Plan');

  let skipTitle = false;
  const firstHeading = blocks.find(isHeading);
  if (
    firstHeading?.level === 1 &&
    blocks.filter((b) => isHeading(b) && b.level === 1).length === 1
  ) {
    skipTitle = true;
    root.title = firstHeading.text;
  }
  const levels = [...new Set(blocks.filter(isHeading).map((b) => b.level))]
    .filter((level) => !skipTitle || level !== 1)
    .sort();
  const hasWork = blocks.some(
    (b) => b.kind === 'item' || (isHeading(b) && !(skipTitle && b.level === 1)),
  );
  if (!hasWork) {
    throw new DecomposeError(
      'NO_WORK',
      `${where} has no work to plan: no list items and no headings besides the title and sections that are not work (${NON_WORK_SECTIONS.slice(0, 4).join(', ')}, ...)`,
      source,
    );
  }
  // Fewer than three section levels: the deepest is Task, so a Task never repeats its Milestone.
  const offset = Math.max(0, 3 - levels.length);
  const depthOf = (level: number) => Math.min(levels.indexOf(level) + 1 + offset, 4);

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
      stack[stack.length - 1]!.items.push({
        title: block.text,
        description: [...block.details],
        done: block.done,
      });
    } else {
      stack[stack.length - 1]!.description.push(block.text);
    }
  }
  const phases = normalise(root);

  const done: string[] = [];
  const backlog = {
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
                  if (item.done) done.push(`${taskId}.S${s + 1}`);
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
  if (done.length === 0) return backlog;
  // Checked items start Complete; setStatus rolls that up to the containers they complete.
  const index = createBacklogIndex(backlog);
  for (const id of done) index.setStatus(id, 'Complete');
  return index.backlog;
}

/** Options for {@link decomposePrd}. */
export interface DecomposeOptions {
  /** Title of the Phase made when the PRD has no document title and too few levels. @default 'Plan' */
  fallbackTitle?: string;
  /** Where the text came from (a file path), named in error messages. */
  source?: string;
}

interface Item {
  title: string;
  description: string[];
  done: boolean;
}

interface Node {
  title: string;
  /** For a made-up "General" Task: the heading it stands for, the title of its lone Subtask. */
  subject?: string;
  description: string[];
  children: Node[];
  items: Item[];
}

type Block =
  | { kind: 'heading'; level: number; text: string }
  | { kind: 'item'; text: string; details: string[]; done: boolean }
  | { kind: 'paragraph'; text: string };

function isHeading(block: Block): block is Extract<Block, { kind: 'heading' }> {
  return block.kind === 'heading';
}

const MAX_TITLE = 200;

/** Reads the markdown into headings, top-level list items (with nested lines) and paragraphs. */
function outline(text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  // YAML front matter is metadata, and its closing `---` would otherwise underline a heading.
  if (lines[0]?.trim() === '---') {
    const end = lines.findIndex(
      (line, i) => i > 0 && (line.trim() === '---' || line.trim() === '...'),
    );
    if (end > 0) lines.splice(0, end + 1);
  }
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
    const underline = /^ {0,3}(=+|-+)\s*$/.exec(line);
    if (underline && paragraph.length > 0) {
      // A setext heading: the paragraph above the underline is its text.
      const title = clean(paragraph.join(' '));
      paragraph = [];
      currentItem = null;
      if (title)
        blocks.push({ kind: 'heading', level: underline[1]![0] === '=' ? 1 : 2, text: title });
      continue;
    }
    const heading = /^ {0,3}(#{1,6})(?:\s+(.*?))?\s*$/.exec(line);
    if (heading) {
      endParagraph();
      currentItem = null;
      const title = clean((heading[2] ?? '').replace(/\s+#+$/, '').replace(/^#+$/, ''));
      if (title) blocks.push({ kind: 'heading', level: heading[1]!.length, text: title });
      continue;
    }
    const item = /^( *)(?:[-*+]|\d{1,9}[.)])\s+(.*)$/.exec(line);
    if (item && !/^ *[-*_](\s*[-*_]){2,}\s*$/.test(line)) {
      const indent = item[1]!.length;
      const box = /^\[([ xX])\]\s+/.exec(item[2]!);
      const content = clean(box ? item[2]!.slice(box[0].length) : item[2]!);
      if (indent < 2 || !currentItem) {
        endParagraph();
        if (content) {
          currentItem = {
            kind: 'item',
            text: content,
            details: [],
            done: box?.[1] !== undefined && box[1] !== ' ',
          };
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

/** Title of the Task made for list items written directly under a heading above Task level. */
const GENERAL = 'General';

/**
 * Gives every branch all four levels. List items above Task level move into a Task named
 * "General" (under a Milestone repeating a Phase's title when they sit on a Phase); a container
 * with nothing under it gets such a chain too, and a Task with no items gets one Subtask named
 * after what it stands for: its own title, or the heading a "General" Task was made for.
 */
function normalise(root: Node): Node[] {
  const chain = (node: Node, depth: number): { top: Node; bottom: Node } => {
    const top = newNode(depth + 1 === 3 ? GENERAL : node.title);
    let bottom = top;
    for (let d = depth + 2; d <= 3; d++) {
      const inner = newNode(d === 3 ? GENERAL : node.title);
      bottom.children.push(inner);
      bottom = inner;
    }
    bottom.subject = node.title;
    bottom.description = [...node.description];
    return { top, bottom };
  };
  const lift = (node: Node, depth: number) => {
    if (depth === 3) {
      if (node.items.length === 0) {
        node.items.push({
          title: node.subject ?? node.title,
          description: [...node.description],
          done: false,
        });
      }
      return;
    }
    if (node.items.length > 0 || node.children.length === 0) {
      const { top, bottom } = chain(node, depth);
      bottom.items = node.items;
      node.items = [];
      node.children.unshift(top);
    }
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

/** Drops the sections that are not work (see {@link NON_WORK_SECTIONS}) and all they contain. */
function withoutNonWork(blocks: Block[]): Block[] {
  const kept: Block[] = [];
  let skipping: number | undefined;
  for (const block of blocks) {
    if (isHeading(block)) {
      if (skipping !== undefined && block.level <= skipping) skipping = undefined;
      if (skipping === undefined && isNonWork(block.text)) skipping = block.level;
    }
    if (skipping === undefined) kept.push(block);
  }
  return kept;
}

function isNonWork(heading: string): boolean {
  const text = heading
    .toLowerCase()
    .replace(/^(?:\d+(?:\.\d+)*|[a-z])[.)]\s+/, '')
    .trim();
  return NON_WORK_SECTIONS.some(
    (name) =>
      text === name || (text.startsWith(name) && /^[\s:\-–—(]/.test(text.slice(name.length))),
  );
}

/** Text decoded from bytes that are not UTF-8 is full of U+FFFD; a few may be real characters. */
function badUtf8(text: string): boolean {
  let replaced = 0;
  for (const char of text) if (char === '\uFFFD') replaced += 1;
  return replaced > 0 && replaced * 100 >= text.length;
}
