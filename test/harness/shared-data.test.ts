import * as fs from 'fs';
import * as path from 'path';
import { VENDORED_DATA_DIR, WORKPLACE_DATA_DIR } from './shared-data';

function files(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)))
    .sort();
}

test('the vendored data is a byte-exact copy of the shared data (when the shared data is present)', () => {
  const vendored = files(VENDORED_DATA_DIR);
  expect(vendored).toEqual(expect.arrayContaining(['aws-ip-ranges/sns-messages.json', 'github-meta/meta-2025-07-21T21-00-29Z.json']));
  if (!fs.existsSync(WORKPLACE_DATA_DIR)) return; // a clone without the workplace folder uses the copies
  for (const f of files(WORKPLACE_DATA_DIR)) {
    expect(fs.readFileSync(path.join(VENDORED_DATA_DIR, f)).equals(fs.readFileSync(path.join(WORKPLACE_DATA_DIR, f)))).toBe(true);
  }
});
