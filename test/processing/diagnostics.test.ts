import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagnose } from '../../processing/diagnostics.ts';
import { ffprobe } from '../../processing/ffmpeg.ts';

const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
const source = (size = '320x240') => ['-f', 'lavfi', '-i', `testsrc=size=${size}:rate=25:duration=2`];
const tone = ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100:duration=2', '-c:a', 'aac'];
const h264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25'];

/** Each clip made by ffmpeg the way such files arrive from cameras and editors. */
const CLIPS: Record<string, string[][]> = {
  'plain.mp4': [[...source(), ...tone, ...h264, '-pix_fmt', 'yuv420p']],
  'vfr.mp4': [[...source(), ...tone, '-vf', "setpts='if(lt(N,25),N/25/TB,(25+(N-25)*3)/25/TB)'", '-fps_mode', 'vfr', ...h264, '-pix_fmt', 'yuv420p']],
  'ten-bit.mp4': [[...source(), ...tone, ...h264, '-pix_fmt', 'yuv420p10le']],
  'rotated.mp4': [[...source(), ...tone, ...h264, '-pix_fmt', 'yuv420p', 'rotated-base.mp4'], ['-i', 'rotated-base.mp4', '-c', 'copy', '-metadata:s:v:0', 'rotate=90']],
  'silent.mp4': [[...source(), ...h264, '-pix_fmt', 'yuv420p']],
  'odd.mkv': [[...source('321x241'), ...tone, '-c:v', 'ffv1']],
};

describe('input diagnostics of real clips', () => {
  let dir: string;
  // The probe stage's own ffprobe run: headers and the first minute's packets in one pass.
  const probe = async (file: string) => {
    const info = await ffprobe(path.join(dir, file), { timeoutMs: 30_000, keyframes: true });
    return { raw: info.raw, keyframes: info.keyframeTimes };
  };

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-diagnostics-'));
    for (const [file, steps] of Object.entries(CLIPS)) {
      for (const [index, args] of steps.entries()) {
        const output = index === steps.length - 1 ? [file] : [];
        execFileSync(FFMPEG, ['-v', 'error', '-y', ...args, ...output], { cwd: dir });
      }
    }
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    { file: 'plain.mp4', findings: [] },
    { file: 'vfr.mp4', findings: ['variable_frame_rate'] },
    { file: 'ten-bit.mp4', findings: ['high_bit_depth'] },
    { file: 'rotated.mp4', findings: ['rotation'] },
    { file: 'silent.mp4', findings: ['audio_missing'] },
    { file: 'odd.mkv', findings: ['odd_dimensions'] },
  ])('$file → $findings', async ({ file, findings }) => {
    const { raw, keyframes } = await probe(file);
    const diagnostics = diagnose(raw, keyframes);
    expect(diagnostics.findings.map((finding) => finding.code)).toEqual(findings);
  });

  it('describes what was found: container, codecs, resolution, frame rate, duration, bit rate, audio layout, keyframe interval', async () => {
    const { raw, keyframes } = await probe('plain.mp4');
    expect(diagnose(raw, keyframes)).toMatchObject({
      container: expect.stringContaining('mp4'),
      durationSeconds: expect.closeTo(2, 0),
      bitRate: expect.any(Number),
      video: { codec: 'h264', width: 320, height: 240, frameRate: 25, pixelFormat: 'yuv420p', bitDepth: 8, rotation: 0 },
      audio: { codec: 'aac', channels: 1, layout: 'mono', sampleRate: 44100 },
      keyframeInterval: 1,
    });
    expect(diagnose((await probe('rotated.mp4')).raw).video?.rotation).toBe(90);
    expect(diagnose((await probe('ten-bit.mp4')).raw).video?.bitDepth).toBe(10);
  });
});

describe('diagnose decisions', () => {
  const video = { codec_type: 'video', codec_name: 'h264', width: 1920, height: 1080, pix_fmt: 'yuv420p', r_frame_rate: '30/1', avg_frame_rate: '30/1' };
  const audio = { codec_type: 'audio', codec_name: 'aac', channels: 2, channel_layout: 'stereo', sample_rate: '48000' };
  it.each([
    { case: 'a constant-rate 1080p file', streams: [video, audio], keyframes: [0, 2, 4], codes: [] },
    { case: 'NTSC rates are not variable', streams: [{ ...video, r_frame_rate: '30000/1001', avg_frame_rate: '2997/100' }, audio], keyframes: undefined, codes: [] },
    { case: 'interlaced', streams: [{ ...video, field_order: 'tt' }, audio], keyframes: undefined, codes: ['interlaced'] },
    { case: 'anamorphic', streams: [{ ...video, sample_aspect_ratio: '4:3' }, audio], keyframes: undefined, codes: ['non_square_pixels'] },
    { case: 'negative rotation normalised', streams: [{ ...video, side_data_list: [{ rotation: -90 }] }, audio], keyframes: undefined, codes: ['rotation'] },
    { case: 'keyframes 12 s apart', streams: [video, audio], keyframes: [0, 12, 24], codes: ['long_keyframe_interval'] },
    { case: 'audio only has no video findings', streams: [audio], keyframes: undefined, codes: [] },
  ])('$case', ({ streams, keyframes, codes }) => {
    expect(diagnose({ format: { format_name: 'mov,mp4', duration: '10' }, streams }, keyframes).findings.map((finding) => finding.code)).toEqual(codes);
  });
});
