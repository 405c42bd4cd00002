import { describe, expect, it } from 'vitest';
import { fillIn } from '../../core/text.ts';

describe('fillIn', () => {
  it.each([
    ['names replaced, numbers written out', 'The video has {frames} frames; the most is {max}.', { frames: 9000, max: 7200 }, 'The video has 9000 frames; the most is 7200.'],
    ['a name used twice', '{a} and {a}', { a: 'x' }, 'x and x'],
    ['an unknown name stays as written', 'Hello {who}', {}, 'Hello {who}'],
    ['a name of Object.prototype is not a value', 'Hello {constructor}', {}, 'Hello {constructor}'],
    ['a value holding braces is not filled again', '{a}', { a: '{b}', b: 'no' }, '{b}'],
  ])('%s', (_case, text, values, expected) => {
    expect(fillIn(text, values)).toBe(expected);
  });
});
