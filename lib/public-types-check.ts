// Compile-time check that the implementation matches the hand-written public types in
// index.d.ts: a mismatch fails `tsc`. Emits nothing of use at run time.
import type * as Public from '../index';
import type * as Impl from './index';
import type * as PublicRedis from '../redis';
import type * as ImplRedis from './redis/index';
import type * as PublicExpress from '../express';
import type * as PublicPrometheus from '../prometheus';
import type * as ImplPrometheus from './prometheus/index';
import type * as ImplExpress from './express/index';

type Assert<T extends true> = T;
type Extends<A, B> = [A] extends [B] ? true : false;

export type Checks = [
  Assert<Extends<InstanceType<typeof Impl.Singleflight>, Public.Singleflight>>,
  Assert<Extends<ConstructorParameters<typeof Impl.Singleflight>, ConstructorParameters<typeof Public.Singleflight>>>,
  Assert<Extends<ConstructorParameters<typeof Public.Singleflight>, ConstructorParameters<typeof Impl.Singleflight>>>,
  Assert<Extends<Impl.SingleflightStats, Public.SingleflightStats>>,
  Assert<Extends<Impl.SingleflightOptions, Public.SingleflightOptions>>,
  Assert<Extends<Public.SingleflightOptions, Impl.SingleflightOptions>>,
  Assert<Extends<Impl.Work<number>, Public.Work<number>>>,
  Assert<Extends<typeof Impl.MAX_KEY_LENGTH, typeof Public.MAX_KEY_LENGTH>>,
  Assert<
    Extends<
      Pick<InstanceType<typeof Impl.TooManySubscribersError>, 'code' | 'key' | 'maxSubscribers'>,
      Pick<Public.TooManySubscribersError, 'code' | 'key' | 'maxSubscribers'>
    >
  >,
  Assert<
    Extends<
      Pick<InstanceType<typeof Impl.FlightTimeoutError>, 'code' | 'key' | 'maxDuration'>,
      Pick<Public.FlightTimeoutError, 'code' | 'key' | 'maxDuration'>
    >
  >,
  Assert<
    Extends<
      Pick<InstanceType<typeof Impl.FlightCapacityError>, 'code' | 'key'>,
      Pick<Public.FlightCapacityError, 'code' | 'key'>
    >
  >,
  Assert<
    Extends<
      Pick<InstanceType<typeof Impl.OptionsMismatchError>, 'code' | 'singleflightName'>,
      Pick<Public.OptionsMismatchError, 'code' | 'singleflightName'>
    >
  >,
  Assert<Extends<Public.SingleflightStats, Impl.SingleflightStats>>,
  Assert<Extends<Public.TimeHistogram, Impl.TimeHistogram>>,
  Assert<Extends<Impl.TimeHistogram, Public.TimeHistogram>>,
  Assert<Extends<Impl.CallOptions, Public.CallOptions>>,
  Assert<
    Extends<Pick<InstanceType<typeof Impl.TooManySubscribersError>, 'code'>, Pick<Public.ThreadflightError, 'code'>>
  >,
  Assert<Extends<InstanceType<typeof Impl.FlightTimeoutError>, Impl.ThreadflightError>>,
  Assert<Extends<Public.CallOptions, Impl.CallOptions>>,
  Assert<Extends<Impl.Coordinator, Public.Coordinator>>,
  Assert<Extends<Public.Coordinator, Impl.Coordinator>>,
  Assert<Extends<InstanceType<typeof Impl.FlightCache>, Public.FlightCache>>,
  Assert<Extends<Impl.ExecuteContext, Public.ExecuteContext>>,
  Assert<Extends<Impl.FlightReport, Public.FlightReport>>,
  Assert<Extends<Public.FlightReport, Impl.FlightReport>>,
  Assert<Extends<Public.ExecuteContext, Impl.ExecuteContext>>,
  Assert<Extends<Impl.CacheTier, Public.CacheTier>>,
  Assert<Extends<Public.CacheTier, Impl.CacheTier>>,
  Assert<Extends<Public.CacheTierOptions, Impl.CacheTierOptions>>,
  Assert<Extends<ConstructorParameters<typeof Impl.FlightCache>, ConstructorParameters<typeof Public.FlightCache>>>,
  Assert<Extends<ConstructorParameters<typeof Public.FlightCache>, ConstructorParameters<typeof Impl.FlightCache>>>,
  Assert<Extends<Impl.FlightCacheOptions, Public.FlightCacheOptions>>,
  Assert<Extends<Public.FlightCacheOptions, Impl.FlightCacheOptions>>,
  Assert<Extends<Impl.GetOrSetOptions<number>, Public.GetOrSetOptions<number>>>,
  Assert<Extends<Public.GetOrSetOptions<number>, Impl.GetOrSetOptions<number>>>,
  Assert<Extends<Impl.FlightCacheStats, Public.FlightCacheStats>>,
  Assert<Extends<Public.FlightCacheStats, Impl.FlightCacheStats>>,
  Assert<Extends<Impl.CacheStatus, Public.CacheStatus>>,
  Assert<Extends<Public.FactoryContext<number>, Impl.FactoryContext<number>>>,
  Assert<Extends<Impl.FactoryContext<number>, Public.FactoryContext<number>>>,
  Assert<
    Extends<
      Pick<InstanceType<typeof Impl.CacheValueError>, 'code' | 'key' | 'cacheName'>,
      Pick<Public.CacheValueError, 'code' | 'key' | 'cacheName'>
    >
  >,
  Assert<
    Extends<Pick<InstanceType<typeof Impl.FlightTimeoutError>, 'limit'>, Pick<Public.FlightTimeoutError, 'limit'>>
  >,
  Assert<
    Extends<
      PublicPrometheus.ThreadflightMetricsOptions['singleflights'],
      ImplPrometheus.ThreadflightMetricsOptions['singleflights']
    >
  >,
  Assert<
    Extends<PublicPrometheus.ThreadflightMetricsOptions['caches'], ImplPrometheus.ThreadflightMetricsOptions['caches']>
  >,
  Assert<
    Extends<
      ReturnType<typeof ImplPrometheus.threadflightMetrics>,
      ReturnType<typeof PublicPrometheus.threadflightMetrics>
    >
  >,
  Assert<Extends<PublicExpress.CoalesceOptions, ImplExpress.CoalesceOptions>>,
  Assert<Extends<ImplExpress.CoalesceOptions, PublicExpress.CoalesceOptions>>,
  Assert<Extends<ImplExpress.FlightLocals, PublicExpress.FlightLocals>>,
  Assert<Extends<ReturnType<typeof ImplExpress.coalesce>, PublicExpress.CoalesceMiddleware>>,
  Assert<Extends<ReturnType<typeof ImplRedis.redisCoordinator>, PublicRedis.RedisCoordinator>>,
  Assert<Extends<PublicRedis.RedisCoordinatorOptions, ImplRedis.RedisCoordinatorOptions>>,
  Assert<Extends<ImplRedis.CoordinatorStats, PublicRedis.CoordinatorStats>>,
  Assert<Extends<PublicRedis.RedisAdapter, ImplRedis.RedisAdapter>>,
];
