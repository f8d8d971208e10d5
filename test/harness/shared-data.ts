import * as fs from 'fs';
import * as path from 'path';

/** Byte-exact copies of ../shared/data, kept in the repository so that a fresh clone can run the tests. */
export const VENDORED_DATA_DIR = path.resolve(__dirname, '..', 'fixtures', 'shared-data');

/** The workplace's shared data folder beside the repository, when there is one. */
export const WORKPLACE_DATA_DIR = path.resolve(__dirname, '../../../shared/data');

/**
 * The real published data the tests use (AWS ip-ranges.json versions, their SNS bodies, GitHub meta):
 * IP_RANGES_DATA_DIR if set, else ../shared/data beside the repository, else the vendored copies.
 */
export const SHARED_DATA_DIR = process.env.IP_RANGES_DATA_DIR
  ?? (fs.existsSync(path.join(WORKPLACE_DATA_DIR, 'aws-ip-ranges')) ? WORKPLACE_DATA_DIR : VENDORED_DATA_DIR);
