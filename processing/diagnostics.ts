/** The parts of ffprobe's JSON (`-show_format -show_streams`) Vigil reads: the probe stage's limits and the diagnostics. */
export interface RawProbe {
  format?: { format_name?: string; duration?: string; bit_rate?: string };
  streams?: Array<{
    index?: number;
    codec_type?: string;
    codec_name?: string;
    profile?: string;
    width?: number;
    height?: number;
    pix_fmt?: string;
    bits_per_raw_sample?: string;
    duration?: string;
    nb_frames?: string;
    r_frame_rate?: string;
    avg_frame_rate?: string;
    field_order?: string;
    sample_aspect_ratio?: string;
    channels?: number;
    channel_layout?: string;
    sample_rate?: string;
    tags?: Record<string, string>;
    side_data_list?: Array<{ side_data_type?: string; rotation?: number }>;
  }>;
  /** Only with `-show_entries packet=…`: read for the keyframe times, then dropped. */
  packets?: Array<{ stream_index?: number; pts_time?: string; flags?: string }>;
}

/** Something about an input that slows processing or may degrade the output, though the video can be processed. */
export type FindingCode =
  | 'variable_frame_rate'
  | 'high_bit_depth'
  | 'odd_dimensions'
  | 'rotation'
  | 'audio_missing'
  | 'interlaced'
  | 'non_square_pixels'
  | 'long_keyframe_interval';

export interface Finding {
  code: FindingCode;
  /** One sentence for the platform's developers and admins. */
  detail: string;
}

/** What the probe stage found in an upload: stored with the video and sent in its `video.processing` event. */
export interface InputDiagnostics {
  container: string;
  durationSeconds: number;
  bitRate?: number;
  video?: { codec: string; profile?: string; width: number; height: number; frameRate?: number; pixelFormat?: string; bitDepth: number; rotation: number };
  audio?: { codec: string; channels: number; layout?: string; sampleRate?: number };
  /** Average seconds between keyframes over the part of the file that was read, when packets were read. */
  keyframeInterval?: number;
  findings: Finding[];
}

/** A keyframe interval above this makes seeking and segmenting slow. */
const LONG_KEYFRAME_INTERVAL_S = 10;

function rate(fraction: string | undefined): number | undefined {
  if (!fraction) return undefined;
  const [numerator, denominator] = fraction.split('/').map(Number);
  if (!numerator || !denominator) return undefined;
  return numerator / denominator;
}

function bitDepth(stream: NonNullable<RawProbe['streams']>[number]): number {
  const raw = Number(stream.bits_per_raw_sample);
  if (Number.isFinite(raw) && raw > 0) return raw;
  const match = /p(\d{2})(le|be)$/.exec(stream.pix_fmt ?? '');
  return match ? Number(match[1]) : 8;
}

function rotationOf(stream: NonNullable<RawProbe['streams']>[number]): number {
  const fromSideData = stream.side_data_list?.find((side) => typeof side.rotation === 'number')?.rotation;
  const raw = fromSideData ?? Number(stream.tags?.rotate ?? 0);
  return ((Math.round(raw) % 360) + 360) % 360;
}

/** Reads ffprobe's description of an upload (and, when read, its keyframe times) into diagnostics and findings. */
export function diagnose(probe: RawProbe, keyframeTimes?: readonly number[]): InputDiagnostics {
  const streams = probe.streams ?? [];
  const videoStream = streams.find((stream) => stream.codec_type === 'video');
  const audioStream = streams.find((stream) => stream.codec_type === 'audio');
  const findings: Finding[] = [];
  const diagnostics: InputDiagnostics = {
    container: probe.format?.format_name ?? 'unknown',
    durationSeconds: Number(probe.format?.duration ?? 0) || 0,
    findings,
  };
  const bitRate = Number(probe.format?.bit_rate);
  if (Number.isFinite(bitRate) && bitRate > 0) diagnostics.bitRate = bitRate;

  if (videoStream) {
    const width = videoStream.width ?? 0;
    const height = videoStream.height ?? 0;
    const nominal = rate(videoStream.r_frame_rate);
    const average = rate(videoStream.avg_frame_rate);
    const depth = bitDepth(videoStream);
    const rotation = rotationOf(videoStream);
    diagnostics.video = {
      codec: videoStream.codec_name ?? 'unknown',
      ...(videoStream.profile ? { profile: videoStream.profile } : {}),
      width,
      height,
      ...(average ?? nominal ? { frameRate: Number((average ?? nominal)!.toFixed(3)) } : {}),
      ...(videoStream.pix_fmt ? { pixelFormat: videoStream.pix_fmt } : {}),
      bitDepth: depth,
      rotation,
    };
    if (nominal && average && Math.abs(nominal - average) / nominal > 0.01) {
      findings.push({ code: 'variable_frame_rate', detail: `frame rate varies (nominal ${nominal.toFixed(2)} fps, average ${average.toFixed(2)} fps); the output is resampled to a constant rate` });
    }
    if (depth > 8) findings.push({ code: 'high_bit_depth', detail: `${depth}-bit video (${videoStream.pix_fmt ?? 'unknown pixel format'}) is converted to 8-bit` });
    if (width % 2 === 1 || height % 2 === 1) findings.push({ code: 'odd_dimensions', detail: `${width}×${height} has an odd dimension; the output is scaled to even dimensions` });
    if (rotation !== 0) findings.push({ code: 'rotation', detail: `rotated ${rotation}° by metadata; the output is turned upright` });
    if (videoStream.field_order && !['progressive', 'unknown'].includes(videoStream.field_order)) {
      findings.push({ code: 'interlaced', detail: `interlaced (${videoStream.field_order}); the output is deinterlaced` });
    }
    const aspect = videoStream.sample_aspect_ratio;
    if (aspect && aspect !== '1:1' && aspect !== '0:1') findings.push({ code: 'non_square_pixels', detail: `pixels are not square (sample aspect ratio ${aspect})` });
  }

  if (audioStream) {
    const sampleRate = Number(audioStream.sample_rate);
    diagnostics.audio = {
      codec: audioStream.codec_name ?? 'unknown',
      channels: audioStream.channels ?? 0,
      ...(audioStream.channel_layout ? { layout: audioStream.channel_layout } : {}),
      ...(Number.isFinite(sampleRate) && sampleRate > 0 ? { sampleRate } : {}),
    };
  } else if (videoStream) {
    findings.push({ code: 'audio_missing', detail: 'no audio stream; the output is silent' });
  }

  if (keyframeTimes && keyframeTimes.length >= 2) {
    const gaps = keyframeTimes.slice(1).map((time, index) => time - keyframeTimes[index]!);
    const interval = gaps.reduce((sum, gap) => sum + gap, 0) / gaps.length;
    diagnostics.keyframeInterval = Number(interval.toFixed(3));
    if (interval > LONG_KEYFRAME_INTERVAL_S) findings.push({ code: 'long_keyframe_interval', detail: `keyframes every ${interval.toFixed(1)} s on average` });
  }
  return diagnostics;
}
