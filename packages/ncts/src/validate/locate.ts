/**
 * Where elements are in a document's text: line, column (1-based, of the `<`) and path, e.g.
 * `/CC015C/Consignment/HouseConsignment[2]/ConsignmentItem[1]/Commodity`. libxml2 reports schema
 * errors with a line only (column 0) and names the element in its message; a trader with a
 * generated 3,000-line declaration needs the column and the path to find it.
 *
 * A light scan of start and end tags, for documents that already parsed (so well-formed, and
 * without DOCTYPE: both were checked before): comments, CDATA and processing instructions are
 * skipped, and `>` inside attribute values is handled.
 */

export interface ElementPosition {
  /** Local name (prefix removed). */
  name: string;
  line: number;
  column: number;
  /** Local names from the root, with a 1-based index where a parent has several of that name. */
  path: string;
}

const skipped = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>/y;
const startTag = /<([A-Za-z_][\w.:-]*)(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*(\/?)>/y;
const endTag = /<\/([A-Za-z_][\w.:-]*)\s*>/y;

const localName = (qualified: string) => qualified.slice(qualified.indexOf(':') + 1);

interface Frame {
  segment: string;
  children: Map<string, number>;
}

/**
 * Calls `visit` for each start tag in document order, until it returns true. Repeated siblings
 * get their index only once the second one is seen, so the first of several is `Name` when
 * visited; paths are for people, and a later sibling shows `Name[2]`.
 */
export function scanElements(text: string, visit: (element: ElementPosition) => boolean): void {
  const stack: Frame[] = [];
  let line = 1;
  let lineStart = 0;
  let index = text.indexOf('<');
  while (index !== -1) {
    for (let at = text.indexOf('\n', lineStart); at !== -1 && at < index;) {
      line += 1;
      lineStart = at + 1;
      at = text.indexOf('\n', lineStart);
    }
    let next = index + 1;
    skipped.lastIndex = index;
    startTag.lastIndex = index;
    endTag.lastIndex = index;
    const skip = skipped.exec(text);
    if (skip !== null) {
      next = index + skip[0].length;
    } else {
      const start = startTag.exec(text);
      if (start !== null) {
        const name = localName(start[1]!);
        const parent = stack.at(-1);
        const position = (parent?.children.get(name) ?? 0) + 1;
        parent?.children.set(name, position);
        const segment = position > 1 ? `${name}[${position}]` : name;
        const path = `${stack.map((frame) => `/${frame.segment}`).join('')}/${segment}`;
        if (visit({ name, line, column: index - lineStart + 1, path })) return;
        if (start[2] !== '/') stack.push({ segment, children: new Map() });
        next = index + start[0].length;
      } else {
        const end = endTag.exec(text);
        if (end !== null) {
          stack.pop();
          next = index + end[0].length;
        }
      }
    }
    index = text.indexOf('<', next);
  }
}

/** The element named `name` whose start tag is on `line` (the first such), if any. */
export function elementOnLine(
  text: string,
  line: number,
  name: string | undefined,
): ElementPosition | undefined {
  let found: ElementPosition | undefined;
  let firstOnLine: ElementPosition | undefined;
  scanElements(text, (element) => {
    if (element.line > line) return true;
    if (element.line === line) {
      firstOnLine ??= element;
      if (name === undefined || element.name === name) {
        found = element;
        return true;
      }
    }
    return false;
  });
  return found ?? firstOnLine;
}

/** The first element whose path ends with `suffix` (e.g. `CustomsOfficeOfDeparture/referenceNumber`). */
export function elementByPath(text: string, suffix: string): ElementPosition | undefined {
  const wanted = suffix.split('/');
  let found: ElementPosition | undefined;
  scanElements(text, (element) => {
    const segments = element.path
      .split('/')
      .slice(1)
      .map((segment) => segment.replace(/\[\d+\]$/, ''));
    if (
      segments.length >= wanted.length &&
      wanted.every((part, at) => segments[segments.length - wanted.length + at] === part)
    ) {
      found = element;
      return true;
    }
    return false;
  });
  return found;
}

/** The element libxml2 names in a message: "Element '{urn:…}Name': …" or "Element 'Name': …". */
export function elementNamedIn(message: string): string | undefined {
  const match = /^Element '(?:\{[^}]*\})?([^':]+:)?([^']+)'/.exec(message.trim());
  return match?.[2];
}

export interface LocatableIssue {
  lineNumber: number;
  columnNumber: number;
  message: string;
  elementPath?: string;
}

/**
 * Gives each issue with a line but no column the column and path of the element its message
 * names (or of the first element on its line), in one pass over the text.
 */
export function locateIssues<T extends LocatableIssue>(text: string, issues: readonly T[]): T[] {
  const pending = issues.filter((issue) => issue.lineNumber > 0 && issue.columnNumber === 0);
  if (pending.length === 0) return [...issues];
  const located = new Map<T, ElementPosition>();
  const firstOnLine = new Map<number, ElementPosition>();
  const lastLine = Math.max(...pending.map((issue) => issue.lineNumber));
  const wanted = new Set(pending.map((issue) => issue.lineNumber));
  scanElements(text, (element) => {
    if (element.line > lastLine) return true;
    if (!wanted.has(element.line)) return false;
    if (!firstOnLine.has(element.line)) firstOnLine.set(element.line, element);
    for (const issue of pending)
      if (
        issue.lineNumber === element.line &&
        !located.has(issue) &&
        elementNamedIn(issue.message) === element.name
      )
        located.set(issue, element);
    return false;
  });
  return issues.map((issue) => {
    if (!pending.includes(issue)) return issue;
    const element = located.get(issue) ?? firstOnLine.get(issue.lineNumber);
    return element === undefined
      ? issue
      : { ...issue, columnNumber: element.column, elementPath: element.path };
  });
}
