import type { HumanDirectory, HumanRecord } from '../../ports.js';
import type { RegistryStore } from './registry-store.js';

/** HUMAN_DIRECTORY: humans read from KV `humans` at each call (logins and admin checks are rare). */
export class KvHumanDirectory implements HumanDirectory {
  constructor(private readonly store: RegistryStore) {}

  load(humanId: string): Promise<HumanRecord | undefined> {
    return this.store.getHuman(humanId);
  }
}
