import type { Logger } from 'pino';
import type { CredentialConnection, TelnyxClient } from '../telnyx/client.js';
import type { RosterEntry } from './roster-store.js';
import { telnyxSipUri } from './sip-uri.js';

/** Which credential connections are agents (`AGENT_CONNECTION_FILTER` / `AGENT_OUTBOUND_PROFILE_ID`). */
export interface AgentFilter {
  /** Connection name contains this, case-insensitively (Telnyx requires ≥ 3 characters). */
  connectionName?: string;
  /** Connection's outbound voice profile id equals this. */
  outboundProfileId?: string;
}

export interface ListAgentConnectionsOptions {
  /** Telnyx maximum (and default) is 250. */
  pageSize?: number;
  /** Guard against a server that never reports the last page (docs/telnyx.md §5, §6). */
  maxPages?: number;
  logger: Logger;
}

/** Telnyx `user_name`: 4–32 letters and digits (docs/telnyx.md §4.1). */
const USER_NAME = /^[A-Za-z0-9]{4,32}$/;

/**
 * Telnyx connects a call to `sip:<user_name>@sip.telnyx.com` only when the connection's
 * `sip_uri_calling_preference` is `internal` (calls from this account's connections) or
 * `unrestricted`; its default, `disabled`, refuses them (spec3.yml
 * `CredentialConnection.sip_uri_calling_preference`). A connection without the field (an older
 * API answer) is taken as reachable: UNCONFIRMED that Telnyx always sends it.
 */
export function refusesSipUriCalls(conn: CredentialConnection): boolean {
  return conn.sip_uri_calling_preference === 'disabled';
}

/** Why a connection cannot be an agent, or undefined when it can. */
export function connectionProblem(conn: CredentialConnection): string | undefined {
  if (typeof conn.id !== 'string' || conn.id.trim() === '') return 'missing id';
  if (typeof conn.connection_name !== 'string' || conn.connection_name.trim() === '') {
    return 'missing connection_name';
  }
  if (typeof conn.user_name !== 'string' || !USER_NAME.test(conn.user_name)) {
    return 'user_name is not 4-32 letters and digits';
  }
  return undefined;
}

/**
 * The client-side half of the filter. The same filter is sent to Telnyx, but it is checked here
 * again so a proxy or an API change that ignores a query parameter can never turn every
 * connection on the account into an agent. With no filter set every connection matches.
 */
export function matchesAgentFilter(conn: CredentialConnection, filter: AgentFilter): boolean {
  if (filter.connectionName !== undefined) {
    const name = conn.connection_name ?? '';
    if (!name.toLowerCase().includes(filter.connectionName.toLowerCase())) return false;
  }
  if (filter.outboundProfileId !== undefined) {
    if (conn.outbound?.outbound_voice_profile_id !== filter.outboundProfileId) return false;
  }
  return true;
}

/**
 * Lists every active credential connection that is an agent, reading all pages. Pages are walked
 * explicitly rather than with the SDK's `for await`: the SDK stops only on an empty page or on
 * `meta.page_number >= meta.total_pages`, so a server whose meta does not advance would loop
 * forever (docs/telnyx.md §5). Here a page that does not answer the page asked for, or more
 * than `maxPages` pages, is an error. Offset pages shift when a connection is created or deleted
 * mid-listing (one could be skipped, and then wrongly reported as removed), so when
 * `meta.total_results` changes between pages the listing starts over (up to 3 times).
 * Malformed connections are skipped with a warning. Throws the SDK's error when Telnyx cannot be
 * read (the caller keeps its last roster).
 */
export async function listAgentConnections(
  client: TelnyxClient,
  filter: AgentFilter,
  options: ListAgentConnectionsOptions,
): Promise<RosterEntry[]> {
  for (let attempt = 1; ; attempt++) {
    const listed = await listOnce(client, filter, options);
    if (listed) return listed;
    if (attempt >= 3) throw new Error('credential connections kept changing while being listed');
    options.logger.info('credential connections changed while being listed: listing again');
  }
}

/** One pass over all pages; undefined when the total changed underneath. */
async function listOnce(
  client: TelnyxClient,
  filter: AgentFilter,
  options: ListAgentConnectionsOptions,
): Promise<RosterEntry[] | undefined> {
  const pageSize = options.pageSize ?? 250;
  const maxPages = options.maxPages ?? 200;
  const serverFilter: { connection_name?: { contains: string }; outbound_voice_profile_id?: string } = {};
  if (filter.connectionName !== undefined) serverFilter.connection_name = { contains: filter.connectionName };
  if (filter.outboundProfileId !== undefined)
    serverFilter.outbound_voice_profile_id = filter.outboundProfileId;

  const entries = new Map<string, RosterEntry>();
  let total: number | undefined;
  for (let pageNumber = 1; ; pageNumber++) {
    if (pageNumber > maxPages) {
      throw new Error(`credential connections: more than ${maxPages} pages, giving up`);
    }
    const page = await client.credentialConnections.list({
      ...(Object.keys(serverFilter).length > 0 && { filter: serverFilter }),
      'page[number]': pageNumber,
      'page[size]': pageSize,
    });
    const data: CredentialConnection[] = page.data ?? [];
    const meta: Partial<typeof page.meta> = page.meta ?? {};
    if (data.length > 0 && meta.page_number !== undefined && meta.page_number !== pageNumber) {
      throw new Error(
        `credential connections: asked for page ${pageNumber}, got page ${meta.page_number}; refusing to continue`,
      );
    }
    // The API sends total_results (docs/telnyx.md §4.1); the SDK's Meta type leaves it out.
    const results = (meta as { total_results?: number }).total_results;
    if (total === undefined) total = results;
    else if (results !== undefined && results !== total) return undefined;
    for (const conn of data) {
      if (conn.active !== true || !matchesAgentFilter(conn, filter)) continue;
      const problem = connectionProblem(conn);
      if (problem) {
        options.logger.warn(
          { connectionId: typeof conn.id === 'string' ? conn.id : undefined, problem },
          'credential connection skipped: not usable as an agent',
        );
        continue;
      }
      const id = conn.id as string;
      // A connection can move between pages while we read: keep one.
      entries.set(id, {
        id,
        name: (conn.connection_name as string).trim(),
        sip: telnyxSipUri(conn.user_name as string),
        ...(refusesSipUriCalls(conn) && { unreachable: 'sip-uri-calling-disabled' as const }),
      });
    }
    // Without meta, a full page may have a successor; an empty page never does.
    const more = meta.total_pages !== undefined ? pageNumber < meta.total_pages : data.length >= pageSize;
    if (data.length === 0 || !more) break;
  }
  return [...entries.values()];
}
