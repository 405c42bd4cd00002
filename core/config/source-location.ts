import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface SourceLocation {
  file: string;
  line: number;
  column: number;
  /** The text of that line. */
  source: string;
}

const toPath = (file: string) => (file.startsWith('file://') ? fileURLToPath(file) : file);

/**
 * Where loading a config or probe file failed, from the error Node gives. A syntax or import error carries a
 * "file:line" header, the offending line and a caret under the spot; an error thrown while the file runs carries
 * a "file:line:column" stack frame. Frames in Node's internals, node_modules and `skipFiles` are passed over.
 */
export function locateLoadError(error: unknown, skipFiles: readonly string[] = [], readLine = readSourceLine): SourceLocation | undefined {
  const stack = (error as { stack?: unknown })?.stack;
  if (typeof stack !== 'string') return undefined;
  const lines = stack.split('\n');
  const header = /^((?:file:\/\/)?\/.+):(\d+)$/.exec(lines[0] ?? '');
  if (header) {
    const caret = lines.findIndex((line, index) => index > 1 && /^\s*\^+\s*$/.test(line));
    if (caret > 0) {
      return { file: toPath(header[1]!), line: Number(header[2]), column: lines[caret]!.indexOf('^') + 1, source: lines[caret - 1]! };
    }
  }
  for (const line of lines) {
    const frame = /\(?((?:file:\/\/)?\/[^():]+):(\d+):(\d+)\)?\s*$/.exec(line);
    if (!frame) continue;
    const file = toPath(frame[1]!);
    if (file.includes('/node_modules/') || skipFiles.includes(file)) continue;
    const lineNumber = Number(frame[2]);
    return { file, line: lineNumber, column: Number(frame[3]), source: readLine(file, lineNumber) ?? '' };
  }
  return undefined;
}

function readSourceLine(file: string, line: number): string | undefined {
  try {
    return readFileSync(file, 'utf8').split('\n')[line - 1];
  } catch {
    return undefined;
  }
}

/** "file:3:8: message" with the line and a caret under the column, for a person fixing the file. */
export function formatAtLocation(location: SourceLocation, message: string): string {
  const source = location.source.replace(/\t/g, ' ');
  return `${location.file}:${location.line}:${location.column}: ${message}\n      ${source}\n      ${' '.repeat(Math.max(0, location.column - 1))}^`;
}
