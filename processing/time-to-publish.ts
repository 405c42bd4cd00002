/**
 * Source-duration buckets of the time-to-publish promise: a bounded label for the histogram, the rule and the report.
 * Each bucket holds sources up to `upTo` seconds long (the last has no upper end).
 */
export const DURATION_BUCKETS = [
  { name: '<1m', upTo: 60 },
  { name: '1-5m', upTo: 300 },
  { name: '5-20m', upTo: 1200 },
  { name: '20-60m', upTo: 3600 },
  { name: '>60m', upTo: Infinity },
] as const;

export type DurationBucket = (typeof DURATION_BUCKETS)[number]['name'];
export const DURATION_BUCKET_NAMES = DURATION_BUCKETS.map((bucket) => bucket.name) as [DurationBucket, ...DurationBucket[]];

export function durationBucketOf(sourceSeconds: number): DurationBucket {
  return DURATION_BUCKETS.find((bucket) => sourceSeconds < bucket.upTo)!.name;
}

/** Upload-to-published time of the videos of one bucket over a window. */
export interface TimeToPublish {
  bucket: DurationBucket;
  videos: number;
  medianSeconds: number;
  p95Seconds: number;
}
