// Times are timestamptz in every table and epoch milliseconds in TypeScript; these two convert at the SQL boundary,
// so rows come back as the fields they fill.

/** A parameter (`$3`) of epoch milliseconds, as a timestamptz. */
export const toTime = (param: string) => `to_timestamp(${param}::float8 / 1000)`;

/** A timestamptz column as epoch milliseconds; with `alias`, selected under that name. */
export const epochMs = (column: string, alias?: string) => `(extract(epoch from ${column}) * 1000)::float8${alias ? ` as "${alias}"` : ''}`;
