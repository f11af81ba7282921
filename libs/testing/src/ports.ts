import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function getFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

/**
 * A first port with the next `count - 1` free as well, for a process that listens on a run of
 * ports (`warden up --http-port N` serves its five services on N to N+4). Taken below the kernel's
 * ephemeral range: there an outgoing connection or another test's port 0 can take one of the run
 * in the seconds before the process binds it (CI saw it), while below it only explicit binds do.
 */
export async function getFreePortRange(count: number): Promise<number> {
  const ephemeralFloor = ephemeralRangeStart();
  const lowest = 10_000;
  for (;;) {
    const base = lowest + Math.floor(Math.random() * (ephemeralFloor - lowest - count));
    const free = await Promise.all(Array.from({ length: count }, (_, i) => isFree(base + i)));
    if (free.every(Boolean)) return base;
  }
}

/** The first port of the kernel's ephemeral range (Linux), 32768 where it cannot be read. */
function ephemeralRangeStart(): number {
  try {
    const first = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0],
    );
    return Number.isInteger(first) && first > 11_000 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

/** Whether nothing listens on `port` on any address: one held anywhere can refuse a new listener. */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}
