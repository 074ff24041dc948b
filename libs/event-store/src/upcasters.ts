/**
 * An upcaster lifts the stored payload of one event type from `fromVersion` to
 * `fromVersion + 1`. Readers apply them in sequence, so code only ever sees current payloads;
 * the stored rows (and their hashes) are never rewritten.
 */
export interface Upcaster {
  readonly type: string;
  readonly fromVersion: number;
  upcast(data: any): any;
}

export class UpcasterRegistry {
  private readonly byKey = new Map<string, Upcaster>();
  constructor(
    private readonly currentVersions: Readonly<Record<string, number>>,
    upcasters: readonly Upcaster[] = [],
  ) {
    for (const u of upcasters) {
      const key = `${u.type}@${u.fromVersion}`;
      if (this.byKey.has(key)) throw new Error(`two upcasters for ${key}`);
      this.byKey.set(key, u);
    }
  }

  currentVersion(type: string): number {
    return this.currentVersions[type] ?? 1;
  }

  upcast(type: string, schemaVersion: number, data: unknown): { data: unknown; schemaVersion: number } {
    let version = schemaVersion;
    let payload = data;
    const target = this.currentVersion(type);
    while (version < target) {
      const u = this.byKey.get(`${type}@${version}`);
      if (!u) throw new Error(`no upcaster for ${type} from schema version ${version} to ${target}`);
      payload = u.upcast(payload);
      version++;
    }
    return { data: payload, schemaVersion: version };
  }
}
