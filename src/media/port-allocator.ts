import { createSocket, type Socket } from 'node:dgram';

/**
 * Hands out UDP sockets bound to even ports in [min, max] (RTP on even ports, RFC 3550 §11).
 * It walks the range from where it last stopped, so a port just released is not reused at once
 * (late packets of the previous call would land in the next one), and skips ports the OS says
 * are taken.
 */
export class RtpPortAllocator {
  private next: number;
  private readonly inUse = new Set<number>();

  constructor(
    private readonly address: string,
    private readonly min: number,
    private readonly max: number,
  ) {
    if (min > max) throw new TypeError('port_min must not exceed port_max');
    this.next = min + (min % 2);
  }

  get capacity(): number {
    return Math.floor((this.max - this.min) / 2) + 1;
  }

  get used(): number {
    return this.inUse.size;
  }

  /** Binds a socket on a free even port; rejects when the whole range is busy. */
  async bind(): Promise<{ socket: Socket; port: number; release: () => void }> {
    const span = this.capacity;
    for (let tries = 0; tries < span; tries++) {
      const port = this.next;
      this.next = port + 2 > this.max ? this.min + (this.min % 2) : port + 2;
      if (this.inUse.has(port)) continue;
      const socket = createSocket({ type: this.address.includes(':') ? 'udp6' : 'udp4' });
      const ok = await new Promise<boolean>((resolve) => {
        socket.once('error', () => resolve(false));
        socket.bind(port, this.address, () => resolve(true));
      });
      if (!ok) {
        socket.close();
        continue;
      }
      this.inUse.add(port);
      let released = false;
      return {
        socket,
        port,
        release: () => {
          if (released) return;
          released = true;
          this.inUse.delete(port);
          try {
            socket.close();
          } catch {
            // already closed
          }
        },
      };
    }
    throw new Error(`no free RTP port in ${this.min}-${this.max}`);
  }
}
