/**
 * An agent is a SIP endpoint with a name. Static agents come from `AGENTS`; Telnyx agents are
 * credential connections (one per agent) found by the roster sync.
 */
export interface Agent {
  /** Stable id: the credential connection id for Telnyx agents, the name for static ones. */
  id: string;
  /** Display name (the connection name for Telnyx agents). */
  name: string;
  /** `sip:user@sip.telnyx.com` */
  sip: string;
  /** Online = registered at the last presence check; static agents are always online. */
  online: boolean;
  source: 'static' | 'telnyx';
  /** Telnyx will not connect a call to `sip` (e.g. `sip-uri-calling-disabled`): never rung. */
  unreachable?: string;
}

/** The roster as one immutable, versioned value: flows render from whatever snapshot is current. */
export interface RosterSnapshot {
  version: number;
  agents: readonly Agent[];
  /** ISO time of the last successful roster sync (undefined for a static roster). */
  syncedAt?: string;
  /** ISO time of the last presence check. */
  presenceCheckedAt?: string;
}

/**
 * Where the hot path reads agents from. `current()` never does I/O: implementations keep the
 * latest snapshot in memory and refresh it in the background, so a TeXML reply never waits.
 */
export interface Roster {
  current(): RosterSnapshot;
  /** Find the agent whose SIP URI matches (user and host compared case-insensitively). */
  bySip(sip: string): Agent | undefined;
}
