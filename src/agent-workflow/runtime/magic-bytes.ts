/**
 * Pure file-type sniffing from the first bytes of an object ("magic bytes"), used by the validator
 * to catch a declared Content-Type that does not match the content (e.g. PNG bytes uploaded as
 * image/jpeg). Only the types below are known; the validator reads the first 16 bytes.
 */

/** How many leading bytes the validator reads (enough for every signature below). */
export const MAGIC_BYTES_LENGTH = 16;

export type SniffedType = 'image/jpeg' | 'image/png' | 'image/gif' | 'image/webp' | 'application/pdf';

/** Declared content types (lower case, no parameters) that are checked, mapped to the sniffed type they must have. */
const CHECKED: Readonly<Record<string, SniffedType>> = {
  'image/jpeg': 'image/jpeg',
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'image/png': 'image/png',
  'image/gif': 'image/gif',
  'image/webp': 'image/webp',
  'application/pdf': 'application/pdf',
};

function startsWith(bytes: Uint8Array, signature: readonly number[], offset = 0): boolean {
  if (bytes.length < offset + signature.length) return false;
  return signature.every((b, i) => bytes[offset + i] === b);
}

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

/**
 * The type the leading bytes show, or null when none of the known signatures matches:
 * jpeg FF D8 FF; png 89 50 4E 47 0D 0A 1A 0A; gif "GIF87a"/"GIF89a"; webp "RIFF" <4 bytes> "WEBP";
 * pdf "%PDF-" at offset 0 (the PDF spec tolerates leading junk before the header; such files are not recognised).
 */
export function detectType(bytes: Uint8Array): SniffedType | null {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(bytes, ascii('GIF87a')) || startsWith(bytes, ascii('GIF89a'))) return 'image/gif';
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) return 'image/webp';
  if (startsWith(bytes, ascii('%PDF-'))) return 'application/pdf';
  return null;
}

/** "Image/JPEG; charset=binary" -> "image/jpeg". */
export function normalizeContentType(contentType: string | undefined | null): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

/** Whether magicMatches can check this declared content type (jpeg, png, gif, webp, pdf). */
export function isCheckedContentType(contentType: string): boolean {
  return Object.prototype.hasOwnProperty.call(CHECKED, normalizeContentType(contentType));
}

/**
 * Whether the leading bytes match the declared content type.
 * Content types outside the known list (text/plain, application/json, video/mp4, ...) are NOT
 * checked and always match: restrict them with the allowed content types instead.
 */
export function magicMatches(contentType: string, bytes: Uint8Array): boolean {
  const declared = normalizeContentType(contentType);
  if (!Object.prototype.hasOwnProperty.call(CHECKED, declared)) return true;
  return detectType(bytes) === CHECKED[declared];
}
