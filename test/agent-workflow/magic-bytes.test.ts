import { detectType, isCheckedContentType, magicMatches, normalizeContentType } from '../../src/agent-workflow/runtime/magic-bytes';

const bytes = (...parts: Array<number[] | string>): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? Array.from(p, (c) => c.charCodeAt(0)) : p)));

const SAMPLES = {
  jpeg: bytes([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10], 'JFIF', [0x00, 0x01, 0x01, 0x00, 0x00, 0x01]),
  png: bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d], 'IHDR'),
  gif87: bytes('GIF87a', [0x01, 0x00, 0x01, 0x00]),
  gif89: bytes('GIF89a', [0x01, 0x00, 0x01, 0x00]),
  webp: bytes('RIFF', [0x24, 0x00, 0x00, 0x00], 'WEBPVP8 '),
  pdf: bytes('%PDF-1.7\n%\xe2\xe3\xcf\xd3'),
  text: bytes('hello, world....'),
};

describe('detectType', () => {
  test.each([
    ['jpeg', 'image/jpeg'],
    ['png', 'image/png'],
    ['gif87', 'image/gif'],
    ['gif89', 'image/gif'],
    ['webp', 'image/webp'],
    ['pdf', 'application/pdf'],
    ['text', null],
  ] as const)('%s -> %s', (sample, type) => {
    expect(detectType(SAMPLES[sample])).toBe(type);
  });

  test('truncated or near-miss signatures are not recognised', () => {
    expect(detectType(new Uint8Array())).toBeNull();
    expect(detectType(bytes([0xff, 0xd8]))).toBeNull();
    expect(detectType(bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a]))).toBeNull();
    expect(detectType(bytes('GIF88a'))).toBeNull();
    expect(detectType(bytes('RIFF', [0, 0, 0, 0], 'WAVE'))).toBeNull(); // RIFF but audio
    expect(detectType(bytes('RIFF', [0, 0, 0, 0], 'WEB'))).toBeNull();
    expect(detectType(bytes(' %PDF-1.7'))).toBeNull();
  });
});

describe('magicMatches', () => {
  test('matching declared types', () => {
    expect(magicMatches('image/jpeg', SAMPLES.jpeg)).toBe(true);
    expect(magicMatches('image/png', SAMPLES.png)).toBe(true);
    expect(magicMatches('image/gif', SAMPLES.gif89)).toBe(true);
    expect(magicMatches('image/webp', SAMPLES.webp)).toBe(true);
    expect(magicMatches('application/pdf', SAMPLES.pdf)).toBe(true);
  });

  test('PNG bytes declared image/jpeg do not match, nor do empty bytes', () => {
    expect(magicMatches('image/jpeg', SAMPLES.png)).toBe(false);
    expect(magicMatches('application/pdf', SAMPLES.jpeg)).toBe(false);
    expect(magicMatches('image/png', new Uint8Array())).toBe(false);
  });

  test('case and parameters of the declared type are ignored; image/jpg is jpeg', () => {
    expect(magicMatches('Image/JPEG; charset=binary', SAMPLES.jpeg)).toBe(true);
    expect(magicMatches('image/jpg', SAMPLES.jpeg)).toBe(true);
    expect(magicMatches('IMAGE/PNG ; x=y', SAMPLES.jpeg)).toBe(false);
  });

  test('unknown content types are not checked (always match)', () => {
    expect(isCheckedContentType('text/plain')).toBe(false);
    expect(magicMatches('text/plain', SAMPLES.png)).toBe(true);
    expect(magicMatches('application/octet-stream', new Uint8Array())).toBe(true);
    expect(magicMatches('', SAMPLES.text)).toBe(true);
    expect(isCheckedContentType('image/webp')).toBe(true);
  });

  test('normalizeContentType', () => {
    expect(normalizeContentType(' Image/PNG ; charset=UTF-8')).toBe('image/png');
    expect(normalizeContentType(undefined)).toBe('');
  });
});
