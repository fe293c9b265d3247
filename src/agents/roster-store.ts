/**
 * Where the synced Telnyx roster lives, shared by every replica. The agent list is one versioned
 * value (written whole or not at all); presence is kept beside it per agent id. Static agents are
 * not stored: they come from config and are merged in by `LiveRoster`.
 */

/** A synced agent as stored: presence is kept separately, so a sync never overwrites it. */
export interface RosterEntry {
  /** Credential connection id. */
  id: string;
  /** Connection name. */
  name: string;
  /** `sip:<user_name>@sip.telnyx.com` */
  sip: string;
  /** Why Telnyx will not connect a call to `sip` (listed, never rung); absent = reachable. */
  unreachable?: Unreachable;
}

/**
 * `sip-uri-calling-disabled`: the connection's `sip_uri_calling_preference` is `disabled`
 * (Telnyx's default), so Telnyx refuses calls to `sip:<user_name>@sip.telnyx.com`; it must be
 * `internal` or `unrestricted` (spec3.yml `CredentialConnection.sip_uri_calling_preference`).
 */
export type Unreachable = 'sip-uri-calling-disabled';

export interface StoredRoster {
  /**
   * Increases by one whenever anything a call flow depends on changes: the agent list (sync) or
   * an agent's online state (presence check). Starts at 0 (nothing synced yet).
   */
  version: number;
  agents: readonly RosterEntry[];
  /** Agent id → registered at the last presence check. Agents never checked are absent. */
  presence: Readonly<Record<string, boolean>>;
  /** ISO time of the last successful sync (also set when nothing changed). */
  syncedAt?: string;
  /** ISO time of the last presence check that reached Telnyx. */
  presenceCheckedAt?: string;
}

export interface RosterStore {
  load(): Promise<StoredRoster>;
  /**
   * Compare-and-set of the agent list: stores `agents` as version `expectedVersion + 1` only if
   * the stored version is still `expectedVersion`, dropping presence of agents no longer listed.
   * Resolves to the new version, or `null` when another writer got there first (reload and retry).
   */
  replaceAgents(
    expectedVersion: number,
    agents: readonly RosterEntry[],
    syncedAt: string,
  ): Promise<number | null>;
  /** Records a sync that found no change (only `syncedAt` moves; never backwards). */
  markSynced(syncedAt: string): Promise<void>;
  /**
   * Stores presence for the given agent ids and the check time; bumps the version once if any
   * agent's online state changed. Resolves to the version after the write.
   */
  setPresence(presence: Readonly<Record<string, boolean>>, checkedAt: string): Promise<number>;
}
