/**
 * A TCP proxy in front of a registry that slows responses to a set rate and
 * remembers each request's head, so a test can interrupt a pull half-way
 * (kill the daemon, cut connections) and then see the Range request that
 * resumes it.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface ThrottleProxy {
  port: number;
  host: string;
  /** Request heads seen (request line and headers, lower-cased names). */
  requests: string[];
  /** Cuts every open connection (the registry stays up). */
  cutAll(): void;
  stop(): Promise<void>;
}

/** Proxies 127.0.0.1:<random> to 127.0.0.1:`targetPort`, responses at about `bytesPerSecond`. */
export async function startThrottleProxy(targetPort: number, bytesPerSecond: number): Promise<ThrottleProxy> {
  const sockets = new Set<Socket>();
  const requests: string[] = [];
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    let head = '';
    client.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      let end: number;
      while ((end = head.indexOf('\r\n\r\n')) >= 0) {
        requests.push(head.slice(0, end).toLowerCase());
        head = head.slice(end + 4);
      }
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      client.write(d);
      upstream.pause();
      setTimeout(() => upstream.resume(), (d.length / bytesPerSecond) * 1000);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const cutAll = () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  return {
    port,
    host: `127.0.0.1:${port}`,
    requests,
    cutAll,
    stop: () =>
      new Promise<void>((resolve) => {
        cutAll();
        server.close(() => resolve());
      }),
  };
}
