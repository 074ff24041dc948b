export default async function globalTeardown(): Promise<void> {
  const containers = (globalThis as Record<string, unknown>).__CERTFLOW_CONTAINERS__ as { stop(): Promise<unknown> }[] | undefined;
  if (containers) await Promise.all(containers.map((c) => c.stop()));
}
