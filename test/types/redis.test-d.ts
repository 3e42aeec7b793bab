// Type tests of threadflight/redis and the `distributed` option: compiled by `npm run test:types`.
import { Singleflight, type Coordinator } from '../..';
import { redisCoordinator, type CoordinatorStats, type RedisAdapter, type RedisCoordinator } from '../../redis';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): void {}

declare const client: unknown;
declare const adapter: RedisAdapter;

async function typed(): Promise<void> {
  const coordinator = redisCoordinator({ client, prefix: 'app', leaseMs: 3000, codec: 'json', secret: 's' });
  expectType<Equal<typeof coordinator, RedisCoordinator>>();
  const asOption: Coordinator = coordinator; // what the distributed option takes
  const users = new Singleflight({ name: 'users', distributed: asOption });
  const user = await users.execute('u:1', async () => ({ id: 1 }));
  expectType<Equal<typeof user, { id: number }>>();
  expectType<Equal<ReturnType<RedisCoordinator['stats']>, CoordinatorStats>>();
  expectType<Equal<ReturnType<RedisCoordinator['close']>, Promise<void>>>();

  redisCoordinator({ adapter });
  redisCoordinator({
    client,
    codec: { encode: (value) => JSON.stringify(value), decode: (bytes) => bytes.toString() },
  });
  // @ts-expect-error the codec is 'structured', 'json' or an object with encode and decode
  redisCoordinator({ client, codec: 'xml' });
  // @ts-expect-error leaseMs is a number of milliseconds
  redisCoordinator({ client, leaseMs: '3s' });
  // @ts-expect-error options are required
  redisCoordinator();
  // @ts-expect-error an adapter answers with promises
  redisCoordinator({ adapter: { ...adapter, subscribe: (channel: string) => channel } });
  // @ts-expect-error a coordinator has run()
  new Singleflight({ name: 'n', distributed: {} });
}
void typed;
