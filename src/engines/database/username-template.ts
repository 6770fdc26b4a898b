import { createHash, randomInt, randomUUID } from 'node:crypto';
import { BadRequestError } from '../../errors.js';

/**
 * Vault's username templates: text with `{{ ... }}` actions in Go's template syntax, restricted to
 * what usernames need. An action is a pipeline of commands joined by `|`, where the value of each
 * command becomes the last argument of the next. Operands are `.DisplayName`, `.RoleName`, quoted
 * strings, whole numbers and parenthesised pipelines. The functions are `printf`, `random`,
 * `truncate`, `truncate_sha256`, `uppercase`, `lowercase`, `replace`, `unix_time`,
 * `unix_time_millis`, `timestamp`, `uuid`, `sha256` and `base64`.
 */

/** The fields a template can read. */
export interface UsernameTemplateData {
  DisplayName: string;
  RoleName: string;
}

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipeline: Pipeline };

type Pipeline = Command[];
type Command = Operand[];
type Operand =
  | { kind: 'field'; name: string }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'function'; name: string }
  | { kind: 'group'; pipeline: Pipeline };

/** Characters `random` draws from, as in Vault: letters and digits. */
const RANDOM_CHARSET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Maximum count one `random` or `truncate` argument may request, a guard against huge output. */
const MAX_COUNT = 1024;

/** A parsed template, ready to render many times. */
export class UsernameTemplate {
  private constructor(private readonly nodes: Node[]) {}

  /** Parses a template; throws a `BadRequestError` that names the problem. */
  static parse(source: string): UsernameTemplate {
    return new UsernameTemplate(parseTemplate(source));
  }

  /** Renders the template; `now` is the time `unix_time` and `timestamp` read. */
  render(data: UsernameTemplateData, now = new Date()): string {
    let output = '';
    for (const node of this.nodes) {
      output += node.kind === 'text' ? node.text : stringify(evaluatePipeline(node.pipeline, data, now));
    }
    return output;
  }
}

function parseTemplate(source: string): Node[] {
  const nodes: Node[] = [];
  let position = 0;
  while (position < source.length) {
    const open = source.indexOf('{{', position);
    if (open === -1) {
      nodes.push({ kind: 'text', text: source.slice(position) });
      break;
    }
    const close = findActionEnd(source, open + 2);
    let text = source.slice(position, open);
    let body = source.slice(open + 2, close);
    // `{{-` and `-}}` trim the white space next to the action, as in Go.
    if (body.startsWith('- ')) {
      text = text.trimEnd();
      body = body.slice(1);
    }
    let trimAfter = false;
    if (body.endsWith(' -')) {
      trimAfter = true;
      body = body.slice(0, -1);
    }
    if (text !== '') nodes.push({ kind: 'text', text });
    nodes.push({ kind: 'action', pipeline: new ActionParser(body).parseAction() });
    position = close + 2;
    if (trimAfter) {
      while (position < source.length && /\s/.test(source[position])) position++;
    }
  }
  return nodes;
}

/** Finds the `}}` that closes an action, skipping quoted strings. */
function findActionEnd(source: string, from: number): number {
  let i = from;
  while (i < source.length) {
    if (source[i] === '"' || source[i] === '`') {
      const quote = source[i];
      i++;
      while (i < source.length && source[i] !== quote) i += source[i] === '\\' && quote === '"' ? 2 : 1;
      i++;
    } else if (source.startsWith('}}', i)) {
      return i;
    } else {
      i++;
    }
  }
  throw templateError('unclosed action: a "{{" has no matching "}}"');
}

/** A recursive-descent parser over the text of one action. */
class ActionParser {
  private position = 0;

  constructor(private readonly text: string) {}

  parseAction(): Pipeline {
    const pipeline = this.parsePipeline();
    this.skipSpace();
    if (this.position < this.text.length) throw templateError(`unexpected ${JSON.stringify(this.text.slice(this.position, this.position + 10))} in action`);
    return pipeline;
  }

  private parsePipeline(): Pipeline {
    const pipeline: Pipeline = [this.parseCommand()];
    for (;;) {
      this.skipSpace();
      if (this.text[this.position] !== '|') return pipeline;
      this.position++;
      pipeline.push(this.parseCommand());
    }
  }

  private parseCommand(): Command {
    const command: Command = [];
    for (;;) {
      this.skipSpace();
      const char = this.text[this.position];
      if (char === undefined || char === '|' || char === ')') break;
      command.push(this.parseOperand());
    }
    if (command.length === 0) throw templateError('empty command in action');
    return command;
  }

  private parseOperand(): Operand {
    const rest = this.text.slice(this.position);
    if (rest.startsWith('(')) {
      this.position++;
      const pipeline = this.parsePipeline();
      this.skipSpace();
      if (this.text[this.position] !== ')') throw templateError('unclosed "(" in action');
      this.position++;
      return { kind: 'group', pipeline };
    }
    const field = /^\.([A-Za-z_][A-Za-z0-9_]*)/.exec(rest);
    if (field) return this.advance(field[0], { kind: 'field', name: field[1] });
    const quoted = /^"(?:[^"\\]|\\.)*"/.exec(rest);
    if (quoted) return this.advance(quoted[0], { kind: 'string', value: JSON.parse(quoted[0]) as string });
    const raw = /^`[^`]*`/.exec(rest);
    if (raw) return this.advance(raw[0], { kind: 'string', value: raw[0].slice(1, -1) });
    const number = /^-?\d+/.exec(rest);
    if (number) return this.advance(number[0], { kind: 'number', value: Number(number[0]) });
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (name) {
      if (!(name[0] in FUNCTIONS)) throw templateError(`function ${JSON.stringify(name[0])} not defined`);
      return this.advance(name[0], { kind: 'function', name: name[0] });
    }
    throw templateError(`unexpected ${JSON.stringify(rest.slice(0, 10))} in action`);
  }

  private advance(token: string, operand: Operand): Operand {
    this.position += token.length;
    return operand;
  }

  private skipSpace(): void {
    while (this.position < this.text.length && /\s/.test(this.text[this.position])) this.position++;
  }
}

type Value = string | number;

function evaluatePipeline(pipeline: Pipeline, data: UsernameTemplateData, now: Date): Value {
  let previous: Value | undefined;
  for (const command of pipeline) previous = evaluateCommand(command, previous, data, now);
  return previous!;
}

function evaluateCommand(command: Command, piped: Value | undefined, data: UsernameTemplateData, now: Date): Value {
  const [head, ...rest] = command;
  if (head.kind !== 'function') {
    if (rest.length > 0 || piped !== undefined) throw templateError('only a function can take arguments or a piped value');
    return evaluateOperand(head, data, now);
  }
  const args = rest.map((operand) => evaluateOperand(operand, data, now));
  if (piped !== undefined) args.push(piped);
  return FUNCTIONS[head.name](args, now);
}

function evaluateOperand(operand: Operand, data: UsernameTemplateData, now: Date): Value {
  switch (operand.kind) {
    case 'field':
      if (operand.name !== 'DisplayName' && operand.name !== 'RoleName') {
        throw templateError(`unknown field ".${operand.name}"; the fields are .DisplayName and .RoleName`);
      }
      return data[operand.name];
    case 'string':
    case 'number':
      return operand.value;
    case 'function':
      return FUNCTIONS[operand.name]([], now);
    case 'group':
      return evaluatePipeline(operand.pipeline, data, now);
  }
}

type TemplateFunction = (args: Value[], now: Date) => Value;

const FUNCTIONS: Record<string, TemplateFunction> = {
  printf: (args) => {
    if (args.length === 0 || typeof args[0] !== 'string') throw templateError('printf needs a format string');
    return formatPrintf(args[0], args.slice(1));
  },
  random: (args) => {
    const count = countArg('random', args, 1);
    let result = '';
    for (let i = 0; i < count; i++) result += RANDOM_CHARSET[randomInt(RANDOM_CHARSET.length)];
    return result;
  },
  truncate: (args) => {
    expectArgs('truncate', args, 2);
    return [...stringify(args[1])].slice(0, countArg('truncate', args, 2)).join('');
  },
  truncate_sha256: (args) => {
    expectArgs('truncate_sha256', args, 2);
    const max = countArg('truncate_sha256', args, 2);
    const text = stringify(args[1]);
    if (text.length <= max) return text;
    if (max <= 8) throw templateError('truncate_sha256 needs a length above 8');
    const kept = text.slice(0, max - 8);
    return kept + createHash('sha256').update(text.slice(max - 8)).digest('hex').slice(0, 8);
  },
  uppercase: (args) => stringArg('uppercase', args).toUpperCase(),
  lowercase: (args) => stringArg('lowercase', args).toLowerCase(),
  replace: (args) => {
    expectArgs('replace', args, 3);
    return stringify(args[2]).split(stringify(args[0])).join(stringify(args[1]));
  },
  unix_time: (args, now) => {
    expectArgs('unix_time', args, 0);
    return Math.floor(now.getTime() / 1000);
  },
  unix_time_millis: (args, now) => {
    expectArgs('unix_time_millis', args, 0);
    return now.getTime();
  },
  timestamp: (args, now) => formatGoTime(stringArg('timestamp', args), now),
  uuid: (args) => {
    expectArgs('uuid', args, 0);
    return randomUUID();
  },
  sha256: (args) => createHash('sha256').update(stringArg('sha256', args)).digest('hex'),
  base64: (args) => Buffer.from(stringArg('base64', args), 'utf8').toString('base64'),
};

function expectArgs(name: string, args: Value[], count: number): void {
  if (args.length !== count) throw templateError(`${name} takes ${count} argument${count === 1 ? '' : 's'}, got ${args.length}`);
}

function stringArg(name: string, args: Value[]): string {
  expectArgs(name, args, 1);
  return stringify(args[0]);
}

function countArg(name: string, args: Value[], expected: number): number {
  expectArgs(name, args, expected);
  const count = typeof args[0] === 'number' ? args[0] : Number(args[0]);
  if (!Number.isInteger(count) || count < 0 || count > MAX_COUNT) throw templateError(`${name} needs a whole number from 0 to ${MAX_COUNT}`);
  return count;
}

/** Formats with Go's `%s`, `%d`, `%v` and `%%` verbs, which username templates use. */
function formatPrintf(format: string, args: Value[]): string {
  let next = 0;
  const output = format.replace(/%([sdvq%])/g, (_, verb: string) => {
    if (verb === '%') return '%';
    if (next >= args.length) throw templateError('printf has more verbs than arguments');
    const value = args[next++];
    return verb === 'q' ? JSON.stringify(stringify(value)) : stringify(value);
  });
  if (next < args.length) throw templateError('printf has more arguments than verbs');
  return output;
}

/**
 * Formats a time in UTC with a Go layout. Supported layout elements: 2006, 06, 01, 1, Jan, 02, 2,
 * 15, 03, 3, 04, 4, 05, 5, PM, MST, Z07:00, Z0700, -07:00, -0700 and .000 fractions.
 */
function formatGoTime(layout: string, now: Date): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const hour12 = now.getUTCHours() % 12 === 0 ? 12 : now.getUTCHours() % 12;
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const elements: Array<[string, () => string]> = [
    ['2006', () => String(now.getUTCFullYear())],
    ['Z07:00', () => 'Z'],
    ['Z0700', () => 'Z'],
    ['-07:00', () => '+00:00'],
    ['-0700', () => '+0000'],
    ['.000', () => `.${pad(now.getUTCMilliseconds(), 3)}`],
    ['Jan', () => months[now.getUTCMonth()]],
    ['MST', () => 'UTC'],
    ['PM', () => (now.getUTCHours() < 12 ? 'AM' : 'PM')],
    ['01', () => pad(now.getUTCMonth() + 1)],
    ['02', () => pad(now.getUTCDate())],
    ['03', () => pad(hour12)],
    ['04', () => pad(now.getUTCMinutes())],
    ['05', () => pad(now.getUTCSeconds())],
    ['06', () => pad(now.getUTCFullYear() % 100)],
    ['15', () => pad(now.getUTCHours())],
    ['1', () => String(now.getUTCMonth() + 1)],
    ['2', () => String(now.getUTCDate())],
    ['3', () => String(hour12)],
    ['4', () => String(now.getUTCMinutes())],
    ['5', () => String(now.getUTCSeconds())],
  ];
  let output = '';
  let i = 0;
  while (i < layout.length) {
    const element = elements.find(([token]) => layout.startsWith(token, i));
    if (element) {
      output += element[1]();
      i += element[0].length;
    } else {
      output += layout[i++];
    }
  }
  return output;
}

function stringify(value: Value): string {
  return typeof value === 'number' ? String(value) : value;
}

function templateError(message: string): BadRequestError {
  return new BadRequestError(`invalid username_template: ${message}`);
}
