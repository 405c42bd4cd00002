import { z } from 'zod';

const BYTE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4 };

/** A size in config: bytes as a number, or "512MB", "2GB" (binary units). */
export const bytes = () =>
  z.union([z.string(), z.number().int().min(0)]).transform((value, ctx) => {
    if (typeof value === 'number') return value;
    const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb)$/i.exec(value.trim());
    if (!match) {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a size: use bytes or a number with B, KB, MB, GB or TB, like 2GB` });
      return z.NEVER;
    }
    return Math.floor(Number(match[1]) * BYTE_UNITS[match[2]!.toLowerCase()]!);
  });
