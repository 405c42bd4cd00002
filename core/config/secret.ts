import { z } from 'zod';

/** A value that never prints itself: logs, errors, JSON and inspection all show [redacted]. */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'Secret([redacted])';
  }
}

export const secret = () =>
  z.union([z.string().min(1), z.instanceof(Secret)]).transform((value) => (value instanceof Secret ? value : new Secret(value)));

/** Hides the password of a connection URL, for messages that must name the target. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = 'redacted';
    return parsed.toString();
  } catch {
    return '[unparseable url]';
  }
}
