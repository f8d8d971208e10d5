import * as path from 'path';

/**
 * The real published data the tests use (AWS ip-ranges.json versions, their SNS bodies, GitHub meta):
 * `../shared/data` beside the repository, or IP_RANGES_DATA_DIR.
 */
export const SHARED_DATA_DIR = process.env.IP_RANGES_DATA_DIR ?? path.resolve(__dirname, '../../../shared/data');
