/** Version pruner handler (placeholder until the pruner lands). */
export async function handler(_input: unknown): Promise<void> {
  throw new Error('version pruner: not built yet');
}
