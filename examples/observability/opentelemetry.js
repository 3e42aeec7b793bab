// threadflight's TracingChannel as OpenTelemetry spans: one span per execute(), a child of
// whatever span is active where execute() is called (an HTTP request's, say), carrying the
// instance's name, the caller's role and thread, and the work's error. Run it:
//   node examples/observability/opentelemetry.js
// It prints the spans it made. In an application, the SDK you already set up exports them.
const diagnosticsChannel = require('node:diagnostics_channel');
const { context, trace, SpanStatusCode } = require('@opentelemetry/api');

/** Subscribes to threadflight:execute; returns the function that unsubscribes. */
function traceFlights(tracer = trace.getTracer('threadflight')) {
  const spans = new WeakMap();
  const finish = (flight) => {
    const span = spans.get(flight);
    if (span === undefined) return;
    spans.delete(flight);
    span.setAttribute('threadflight.role', flight.role ?? 'refused');
    span.end();
  };
  const handlers = {
    start(flight) {
      const attributes = { 'threadflight.name': flight.name ?? '', 'thread.id': flight.thread };
      if (flight.key !== undefined) attributes['threadflight.key'] = flight.key; // traceKeys: true only
      spans.set(flight, tracer.startSpan(`threadflight ${flight.name ?? 'execute'}`, { attributes }, context.active()));
    },
    end(flight) {
      if ('error' in flight) finish(flight); // thrown synchronously: no asyncEnd follows
    },
    asyncStart() {},
    asyncEnd: finish,
    error(flight) {
      const span = spans.get(flight);
      const error = flight.error;
      span?.recordException(error instanceof Error ? error : String(error));
      span?.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    },
  };
  const channel = diagnosticsChannel.tracingChannel('threadflight:execute');
  channel.subscribe(handlers);
  return () => channel.unsubscribe(handlers);
}

module.exports = { traceFlights };

async function demo() {
  const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
  const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
  const { Singleflight } = require('threadflight');

  const exporter = new InMemorySpanExporter();
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  traceFlights();

  const users = new Singleflight({ name: 'users' });
  const tracer = trace.getTracer('demo');
  let requests = 0;
  const request = (id, load) =>
    tracer.startActiveSpan(`request ${++requests}: GET /users/${id}`, (span) =>
      users
        .execute(`user:${id}`, load)
        .catch(() => 'failed')
        .finally(() => span.end()),
    );
  const load = () => new Promise((resolve) => setTimeout(() => resolve({ id: 1 }), 20));
  await Promise.all([request(1, load), request(1, load), request(1, load)]);
  await request(2, async () => {
    throw new Error('database is down');
  });

  const spans = exporter.getFinishedSpans();
  const nameOf = new Map(spans.map((span) => [span.spanContext().spanId, span.name]));
  for (const span of spans.filter((s) => s.name.startsWith('threadflight'))) {
    const parent = nameOf.get(span.parentSpanContext?.spanId) ?? 'none';
    const status = span.status.code === SpanStatusCode.ERROR ? `ERROR (${span.status.message})` : 'OK';
    console.log(`${span.name} role=${span.attributes['threadflight.role']} parent=${parent} status=${status}`);
  }
}

if (require.main === module) {
  demo().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
