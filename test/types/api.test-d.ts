// Type tests: compiled by `npm run test:types`; each @ts-expect-error must be an error and
// each Equal<> must hold, or tsc fails.
import {
  Singleflight,
  TooManySubscribersError,
  FlightTimeoutError,
  MAX_KEY_LENGTH,
  type SingleflightStats,
  type Work,
  type CallOptions,
} from '../..';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): void {}

async function typed(): Promise<void> {
  const sf = new Singleflight({ maxSubscribers: 100, maxDuration: 5000, name: 'users' });

  const n = await sf.execute('k', async () => 1);
  expectType<Equal<typeof n, number>>();

  const s = await sf.execute('k', () => 'sync');
  expectType<Equal<typeof s, string>>();

  const user = await sf.execute('user:1', async (signal) => {
    expectType<Equal<typeof signal, AbortSignal>>();
    return { id: 1, name: 'Ada' };
  });
  expectType<Equal<typeof user, { id: number; name: string }>>();

  const explicit = sf.execute<string[]>('list', async () => ['a']);
  expectType<Equal<typeof explicit, Promise<string[]>>>();

  const stats: SingleflightStats = sf.getStats();
  expectType<Equal<typeof stats.oldestCallAge, number | null>>();
  expectType<Equal<ReturnType<typeof sf.isInFlight>, boolean>>();
  expectType<Equal<ReturnType<typeof sf.getInFlightCount>, number>>();
  expectType<Equal<ReturnType<typeof sf.clear>, void>>();
  expectType<Equal<typeof MAX_KEY_LENGTH, number>>();

  const controller = new AbortController();
  const withSignal = await sf.execute('k', async () => 1, { signal: controller.signal });
  expectType<Equal<typeof withSignal, number>>();

  const done = await sf.do('k', async () => ({ id: 1 }));
  expectType<Equal<typeof done, { value: { id: number }; shared: boolean }>>();
  const forgot: boolean = sf.forget('k');
  void forgot;

  const options: CallOptions = {};
  void options;
  const w: Work<number> = () => 1;
  void w;

  try {
    await sf.execute('k', async () => 1);
  } catch (error) {
    if (error instanceof TooManySubscribersError) expectType<Equal<typeof error.code, 'ERR_TOO_MANY_SUBSCRIBERS'>>();
    if (error instanceof FlightTimeoutError) expectType<Equal<typeof error.code, 'ERR_FLIGHT_TIMEOUT'>>();
  }

  // @ts-expect-error keys are strings
  void sf.execute(1, async () => 1);
  // @ts-expect-error work is required
  void sf.execute('k');
  // @ts-expect-error unknown option
  new Singleflight({ maxSubscriber: 3 });
  // @ts-expect-error options are numbers
  new Singleflight({ maxDuration: '5s' });
  // @ts-expect-error the signal must be an AbortSignal
  void sf.execute('k', async () => 1, { signal: 'stop' });
  // @ts-expect-error unknown call option
  void sf.do('k', async () => 1, { timeout: 5 });
  // @ts-expect-error the result type follows the work
  const wrong: string = await sf.execute('k', async () => 1);
  void wrong;
}
void typed;
