/** The structured log the agent-workflow handlers take as a dependency (see core/runtime/log.ts). */
export type { StructuredLog } from '../../core/runtime/log';
export { structuredLog } from '../../core/runtime/log';
