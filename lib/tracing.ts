// Tracing through diagnostics_channel: every execute() is traced on the TracingChannel
// 'threadflight:execute' (start, end, asyncStart, asyncEnd, error) while anything subscribes to
// it; with no subscriber, a call costs one check. APM tools (OpenTelemetry, a logger) subscribe.
import * as diagnosticsChannel from 'node:diagnostics_channel';
import { threadId } from 'node:worker_threads';
import type { Coalescer } from './coalescer';
import type { Work } from './flight';

/** What a caller did in its flight: started it, joined it in this thread or from another
 * thread, or ran its work later (its flight's leader thread was gone, or the outcome could not
 * reach this thread). */
export type Role = 'leader' | 'follower' | 'remote-follower' | 'takeover';

/** The context of one traced execute(), as subscribers receive it. */
export interface ExecuteContext {
  /** The instance's name (undefined for an unnamed instance). */
  readonly name: string | undefined;
  /** The key, when the instance was made with `traceKeys: true`. */
  readonly key: string | undefined;
  /** The caller's thread (worker_threads.threadId; 0 for the main thread). */
  readonly thread: number;
  /** Known from the `end` event on (a caller's role is decided when it is admitted); undefined
   * for a caller turned away (it joined nothing). */
  role: Role | undefined;
  /** Set by diagnostics_channel: the value, or what was thrown (error event). */
  result?: unknown;
  error?: unknown;
}

export const executeChannel = diagnosticsChannel.tracingChannel<unknown, ExecuteContext>('threadflight:execute');
const { start, end, asyncStart, asyncEnd, error } = executeChannel;

/** Whether anything listens on threadflight:execute: TracingChannel's hasSubscribers without
 * its optional chaining (the five channels always exist), so that the check, which every call
 * makes, takes little of what V8 may inline into a caller. */
export function tracingOn(): boolean {
  return (
    start.hasSubscribers ||
    end.hasSubscribers ||
    asyncStart.hasSubscribers ||
    asyncEnd.hasSubscribers ||
    error.hasSubscribers
  );
}

/** Runs `execute` (the untraced call) traced, with `work` watched to learn the caller's role. */
export function traced<T>(
  coalescer: Coalescer,
  traceKeys: boolean,
  key: string,
  work: Work<T>,
  execute: (watched: Work<T>) => Promise<T>,
): Promise<T> {
  const context: ExecuteContext = {
    name: coalescer.name,
    key: traceKeys ? key : undefined,
    thread: threadId,
    role: undefined,
  };
  let admitting = true;
  const mark = (): void => {
    context.role ??= admitting ? 'leader' : 'takeover';
  };
  // The same arity as the caller's work: a zero-parameter work is called without a signal.
  const watched: Work<T> =
    work.length === 0
      ? () => {
          mark();
          return (work as () => T | PromiseLike<T>)();
        }
      : (signal) => {
          mark();
          return work(signal);
        };
  return executeChannel.tracePromise(() => {
    coalescer.refusedLast = false;
    const promise = execute(watched);
    admitting = false;
    // A caller turned away (or whose signal had aborted already) joined nothing: no role.
    if (!coalescer.refusedLast) context.role ??= coalescer.followsElsewhere(key) ? 'remote-follower' : 'follower';
    return promise;
  }, context);
}
