import Table from 'cli-table3';
import pc from 'picocolors';

export type Colors = ReturnType<typeof pc.createColors>;

/** Whether this process has written its one `--json` document to stdout yet. */
let jsonDocumentWritten = false;

export function wroteJsonDocument(): boolean {
  return jsonDocumentWritten;
}

export function useColor(requested: boolean, stream: NodeJS.WriteStream = process.stdout): boolean {
  return requested && stream.isTTY === true && !('NO_COLOR' in process.env);
}

/** Writes to stdout/stderr with colors chosen once per run. */
export class Output {
  readonly c: Colors;

  constructor(color: boolean) {
    this.c = pc.createColors(color);
  }

  line(text = ''): void {
    process.stdout.write(`${text}\n`);
  }

  /** The one machine-readable document of a `--json` run; everything else goes to stderr. */
  json(value: unknown): void {
    jsonDocumentWritten = true;
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  table(head: readonly string[], rows: readonly (readonly unknown[])[]): void {
    const table = new Table({
      head: head.map((h) => this.c.bold(h)),
      style: { head: [], border: [], compact: true },
      chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    });
    for (const row of rows) table.push(row.map(cell));
    this.line(table.toString());
  }

  /** Progress and status for humans go to stderr so stdout stays pipeable. */
  status(text: string): void {
    process.stderr.write(`${text}\n`);
  }

  error(message: string, hint?: string): void {
    process.stderr.write(`${this.c.red('error:')} ${message}\n`);
    if (hint) process.stderr.write(`${this.c.dim('hint:')} ${hint}\n`);
  }
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.join(', ');
  return String(value);
}
