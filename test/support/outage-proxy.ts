import { type AddressInfo, createServer, type Socket, connect as tcpConnect } from 'node:net';

export interface OutageProxy {
  port: number;
  /** Cuts every open connection and refuses new ones, like a server that went away. */
  down(): void;
  /** Accepts and forwards connections again (a server back on the same address). */
  up(): void;
  /**
   * Stops forwarding in both directions, connections kept open and new ones accepted: a server
   * that hangs (SIGSTOP), as the client sees it. Nothing is lost; `thaw` delivers what waited.
   */
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

interface Link {
  client: Socket;
  upstream: Socket;
}

/**
 * A TCP proxy in front of a shared server (the tests' PostgreSQL or Redis) that a test can take
 * down, freeze and bring back: a real outage as the client sees it (connections reset, new ones
 * closed at once, or replies that never come), without touching the server other tests use.
 * `targetUrl` is the server's URL; `defaultPort` the protocol's port when the URL names none.
 */
export async function startOutageProxy(targetUrl: string, defaultPort: number): Promise<OutageProxy> {
  const target = new URL(targetUrl);
  const targetPort = Number(target.port || defaultPort);
  const targetHost = target.hostname;
  const links = new Set<Link>();
  let isDown = false;
  let frozen = false;

  const join = ({ client, upstream }: Link) => {
    client.pipe(upstream);
    upstream.pipe(client);
  };
  const part = ({ client, upstream }: Link) => {
    client.unpipe(upstream);
    upstream.unpipe(client);
    client.pause();
    upstream.pause();
  };

  const server = createServer((client) => {
    if (isDown) {
      client.destroy();
      return;
    }
    const link = { client, upstream: tcpConnect(targetPort, targetHost) };
    links.add(link);
    const drop = () => {
      link.client.destroy();
      link.upstream.destroy();
      links.delete(link);
    };
    client.on('error', drop).on('close', drop);
    link.upstream.on('error', drop).on('close', drop);
    if (frozen) part(link);
    else join(link);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cutAll = () => {
    for (const { client, upstream } of links) {
      client.destroy();
      upstream.destroy();
    }
    links.clear();
  };
  return {
    port: (server.address() as AddressInfo).port,
    down() {
      isDown = true;
      cutAll();
    },
    up() {
      isDown = false;
    },
    freeze() {
      frozen = true;
      for (const link of links) part(link);
    },
    thaw() {
      frozen = false;
      for (const link of links) join(link);
    },
    async close() {
      cutAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The same URL through another host:port (the outage proxy). */
export function viaPort(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}
