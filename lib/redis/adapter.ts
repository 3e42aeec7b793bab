// What the coordinator needs from a Redis client: run a script, and receive the messages of the
// channels it subscribes to. Anything that offers these four functions can be used (node-redis,
// a test double); ioredisAdapter() makes them from ioredis clients.
import type { Script } from './scripts';

export interface RedisAdapter {
  /** Runs a script (EVALSHA, then EVAL when the server does not know it); bulk replies as Buffers. */
  runScript(script: Script, keys: string[], args: Array<string | Buffer>): Promise<unknown>;
  /** Subscribes the subscriber connection; resolves once the server has acknowledged it. */
  subscribe(channel: string): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  /** Registers the one function that receives every message of the subscribed channels; may
   * return a function that removes it again (called by close()). */
  onMessage(listener: (channel: string, message: Buffer) => void): (() => void) | void;
}

/** The parts of an ioredis `Redis` or `Cluster` used for commands. */
export interface IoredisCommands {
  evalshaBuffer(sha1: string, numKeys: number, ...keysAndArgs: Array<string | Buffer>): Promise<unknown>;
  evalBuffer(source: string, numKeys: number, ...keysAndArgs: Array<string | Buffer>): Promise<unknown>;
  duplicate(): IoredisSubscriber;
}

/** The parts of an ioredis connection used in subscriber mode. */
export interface IoredisSubscriber {
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  on(event: 'messageBuffer', listener: (channel: Buffer, message: Buffer) => void): unknown;
  off(event: 'messageBuffer', listener: (channel: Buffer, message: Buffer) => void): unknown;
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

export function ioredisAdapter(client: IoredisCommands, subscriber: IoredisSubscriber): RedisAdapter {
  return {
    async runScript(script, keys, args) {
      try {
        return await client.evalshaBuffer(script.sha1, keys.length, ...keys, ...args);
      } catch (error) {
        if (!isNoScript(error)) throw error;
        return client.evalBuffer(script.source, keys.length, ...keys, ...args);
      }
    },
    async subscribe(channel) {
      await subscriber.subscribe(channel);
    },
    async unsubscribe(channel) {
      await subscriber.unsubscribe(channel);
    },
    onMessage(listener) {
      const heard = (channel: Buffer, message: Buffer) => listener(channel.toString('utf8'), message);
      subscriber.on('messageBuffer', heard);
      return () => subscriber.off('messageBuffer', heard);
    },
  };
}
