// Type tests of FlightCache: what compiles, and what must not (each @ts-expect-error is checked by tsc).
import { FlightCache, type CacheStatus, type FlightCacheStats, type FactoryContext } from '../..';
import { redisCoordinator } from '../../redis';

declare const client: import('ioredis').Redis;

const users = new FlightCache({ name: 'users', ttl: '5m', grace: '1h', maxEntries: 50_000 });
const unnamed = new FlightCache();
new FlightCache({ name: 'shared', distributed: redisCoordinator({ client }) });

interface User {
  id: number;
  name: string;
}
declare function findUser(id: number): Promise<User | null>;

async function usage(): Promise<void> {
  const user: User | null = await users.remember('user:1', '10m', () => findUser(1));
  const status: CacheStatus = {};
  const same: User | null = await users.getOrSet(
    'user:1',
    (ctx: FactoryContext<User | null>) => {
      if (ctx.stale !== undefined) ctx.setTtl('1m');
      return findUser(1);
    },
    { ttl: (value) => (value === null ? '10s' : '10m'), timeout: 200, hardTimeout: '2s', status },
  );
  const sync: string = await unnamed.getOrSet('k', () => 'v');
  const peek: User | undefined = users.get<User>('user:1');
  const stats: FlightCacheStats = users.stats();
  users.set('user:2', { id: 2, name: 'Ada' }, { ttl: '1h' });
  const removed: boolean = users.delete('user:1');
  users.clear();
  void [user, same, sync, peek, stats, removed];
  const fill: CacheStatus['fill'] = 'factory';
  void fill;
}
void usage;

// @ts-expect-error ttl is a duration, not a boolean
new FlightCache({ ttl: true });
// @ts-expect-error unknown option
new FlightCache({ ttlSeconds: 5 });
// @ts-expect-error the factory's value must match the call's type
const wrong: Promise<number> = unnamed.getOrSet('k', () => 'string');
void wrong;
// @ts-expect-error status values are a closed set
const badStatus: CacheStatus = { get: 'found' };
void badStatus;
