import type { Registry } from 'prom-client';

/**
 * Metric families with one series per row of a shared table (a probe, or a probe at a location), their values kept in
 * columns of numbers. prom-client keeps every series as an object with its own labels and a string key in each metric's
 * map, about 300 bytes a series; at 20,000 probes and twenty families that was most of the heap. Here a series costs 8
 * bytes per value, and the label sets, shared by every family of the table, are built once per row. Registered on a
 * prom-client registry like its own metrics: /metrics, `getSingleMetric(name).get()` and metric rules read them alike.
 */
export class SeriesTable<L extends string> {
  readonly #index = new Map<string, number>();
  readonly #labels: Array<Readonly<Record<L, string>>> = [];
  readonly #labelNames: readonly L[];

  constructor(labelNames: readonly L[]) {
    this.#labelNames = labelNames;
  }

  /** The row of these label values, added on first use. */
  row(labels: Readonly<Record<L, string>>): number {
    const key = this.#labelNames.map((name) => labels[name]).join('\0');
    let row = this.#index.get(key);
    if (row === undefined) {
      row = this.#labels.length;
      this.#index.set(key, row);
      this.#labels.push(Object.freeze(Object.fromEntries(this.#labelNames.map((name) => [name, labels[name]])) as Record<L, string>));
    }
    return row;
  }

  get size(): number {
    return this.#labels.length;
  }

  labels(row: number): Readonly<Record<L, string>> {
    return this.#labels[row]!;
  }
}

/** Numbers by row, NaN where the row has no series; grows by doubling. */
class Column {
  values = new Float64Array(0);

  get(row: number): number {
    return row < this.values.length ? this.values[row]! : NaN;
  }

  set(row: number, value: number): void {
    if (row >= this.values.length) {
      const grown = new Float64Array(Math.max(64, this.values.length * 2, row + 1)).fill(NaN);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[row] = value;
  }

  clear(): void {
    this.values = new Float64Array(0);
  }
}

interface Sample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

interface FamilyOptions {
  name: string;
  help: string;
  registers: Registry[];
}

/** What prom-client's registry asks of a metric. */
abstract class Family {
  readonly name: string;
  readonly help: string;
  abstract readonly type: 'gauge' | 'counter' | 'histogram';
  readonly aggregator = 'sum';

  constructor(options: FamilyOptions) {
    this.name = options.name;
    this.help = options.help;
    for (const registry of options.registers) registry.registerMetric(this as never);
  }

  abstract samples(): Sample[];
  abstract reset(): void;

  async get(): Promise<{ name: string; help: string; type: string; values: Sample[]; aggregator: string }> {
    return { name: this.name, help: this.help, type: this.type, values: this.samples(), aggregator: this.aggregator };
  }
}

/** A gauge (or counter) per row, optionally split by one more label whose values each get a column. */
export class CompactGauge<L extends string> extends Family {
  readonly type: 'gauge' | 'counter';
  readonly #table: SeriesTable<L>;
  readonly #extra: string | undefined;
  readonly #columns = new Map<string, Column>();

  constructor(table: SeriesTable<L>, options: FamilyOptions & { extraLabel?: string; type?: 'gauge' | 'counter' }) {
    super(options);
    this.#table = table;
    this.#extra = options.extraLabel;
    this.type = options.type ?? 'gauge';
  }

  #column(extra = ''): Column {
    let column = this.#columns.get(extra);
    if (!column) this.#columns.set(extra, (column = new Column()));
    return column;
  }

  set(row: number, value: number, extra?: string): void {
    this.#column(extra).set(row, value);
  }

  inc(row: number, delta = 1, extra?: string): void {
    const column = this.#column(extra);
    column.set(row, (Number.isNaN(column.get(row)) ? 0 : column.get(row)) + delta);
  }

  /** Removes the row's series (every value of the extra label). */
  remove(row: number): void {
    for (const column of this.#columns.values()) if (row < column.values.length) column.values[row] = NaN;
  }

  samples(): Sample[] {
    const samples: Sample[] = [];
    for (let row = 0; row < this.#table.size; row++) {
      for (const [extra, column] of this.#columns) {
        const value = column.get(row);
        if (Number.isNaN(value)) continue;
        const labels = this.#table.labels(row);
        samples.push({ value, labels: this.#extra === undefined ? { ...labels } : { ...labels, [this.#extra]: extra } });
      }
    }
    return samples;
  }

  reset(): void {
    for (const column of this.#columns.values()) column.clear();
  }
}

/** A histogram per row: cumulative bucket counts, sum and count in one column each. */
export class CompactHistogram<L extends string> extends Family {
  readonly type = 'histogram';
  readonly #table: SeriesTable<L>;
  readonly #buckets: readonly number[];
  /** Per bucket the observations at or below its bound (not cumulative), then sum, then count. */
  readonly #columns: Column[];

  constructor(table: SeriesTable<L>, options: FamilyOptions & { buckets: readonly number[] }) {
    super(options);
    this.#table = table;
    this.#buckets = [...options.buckets].sort((a, b) => a - b);
    this.#columns = Array.from({ length: this.#buckets.length + 2 }, () => new Column());
  }

  /** Gives the row its series at 0 before its first observation. */
  zero(row: number): void {
    for (const column of this.#columns) if (Number.isNaN(column.get(row))) column.set(row, 0);
  }

  observe(row: number, value: number): void {
    const count = this.#buckets.length + 1;
    if (Number.isNaN(this.#columns[count]!.get(row))) this.zero(row);
    const bucket = this.#buckets.findIndex((bound) => value <= bound);
    const add = (index: number, delta: number) => (this.#columns[index]!.values[row]! += delta);
    if (bucket !== -1) add(bucket, 1);
    add(count - 1, value);
    add(count, 1);
  }

  samples(): Sample[] {
    const samples: Sample[] = [];
    const [sum, count] = [this.#columns[this.#buckets.length]!, this.#columns[this.#buckets.length + 1]!];
    for (let row = 0; row < this.#table.size; row++) {
      if (Number.isNaN(count.get(row))) continue;
      const labels = this.#table.labels(row);
      let cumulative = 0;
      this.#buckets.forEach((bound, index) => {
        cumulative += this.#columns[index]!.get(row);
        samples.push({ value: cumulative, labels: { le: bound, ...labels }, metricName: `${this.name}_bucket` });
      });
      samples.push(
        { value: count.get(row), labels: { le: '+Inf', ...labels }, metricName: `${this.name}_bucket` },
        { value: sum.get(row), labels: { ...labels }, metricName: `${this.name}_sum` },
        { value: count.get(row), labels: { ...labels }, metricName: `${this.name}_count` },
      );
    }
    return samples;
  }

  reset(): void {
    for (const column of this.#columns) column.clear();
  }
}
