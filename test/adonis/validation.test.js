// defineConfig(), the manager and the coalesce middleware's options: a bad value is a TypeError
// or RangeError naming the config key or the option (fixtures/validation.mjs, on AdonisJS 6).
const { VERSIONS, runFixture } = require('./helpers');

let results;
beforeAll(() => {
  results = runFixture(VERSIONS[0], 'validation.mjs');
});

const fails = (name, message) => ({ ok: false, name, message: expect.stringMatching(message) });

test('defineConfig() checks the shape and names the key', () => {
  expect(results['config.notObject']).toEqual(fails('TypeError', /defineConfig\(\) takes an object/));
  expect(results['config.unknownKey']).toEqual(fails('TypeError', /unknown key "instance"/));
  expect(results['config.defaultNotString']).toEqual(fails('TypeError', /default must be a non-empty string/));
  expect(results['config.defaultMissing']).toEqual(fails('TypeError', /default "x" names no entry of instances/));
  expect(results['config.instancesNotObject']).toEqual(fails('TypeError', /instances must be an object/));
  expect(results['config.entryNotObject']).toEqual(fails('TypeError', /instances\.main must be an options object/));
});

test('defineConfig() fills the defaults: a "main" instance and cache', () => {
  expect(results['config.filled']).toEqual({
    ok: true,
    value: { default: 'main', instances: { main: {} }, caches: { main: {} } },
  });
});

test("the manager's constructors' errors keep their class and name the config key", () => {
  expect(results['config.badMaxDuration']).toEqual(
    fails('RangeError', /^threadflight config: instances\.main: .*"maxDuration"/),
  );
  expect(results['config.badTtl']).toEqual(fails('TypeError', /^threadflight config: caches\.main: .*"ttl"/));
  expect(results['config.unknownInstance']).toEqual(fails('RangeError', /no instances\.nope .*\(has: main\)/));
  expect(results['config.unknownCache']).toEqual(fails('RangeError', /no caches\.nope .*\(has: main\)/));
});

test('the middleware refuses bad options, naming the option, before running anything', () => {
  const refused = {
    unknownOption: ['TypeError', /unknown option "maxbytes"/],
    badMethods: ['TypeError', /methods must be an array/],
    badVary: ['TypeError', /vary must be an array of header names/],
    badKey: ['TypeError', /key must be a function/],
    badMaxBytes: ['RangeError', /maxBytes must be an integer/],
    fractionalMaxBytes: ['RangeError', /maxBytes must be an integer/],
    badInstance: ['TypeError', /instance must be a non-empty string/],
    instanceAndName: ['TypeError', /instance cannot be combined with name/],
    badMaxDuration: ['RangeError', /^coalesce middleware: .*"maxDuration"/],
    keyReturnsNumber: ['TypeError', /key\(ctx\) must return a string or undefined/],
  };
  for (const [name, [cls, message]] of Object.entries(refused)) {
    expect([name, results[`middleware.${name}`]]).toEqual([name, { ...fails(cls, message), nextCalls: 0 }]);
  }
});

test('a request the middleware does not coalesce just goes on', () => {
  expect(results['middleware.keyReturnsUndefined']).toEqual({ ok: true, nextCalls: 1 });
  expect(results['middleware.postOnly']).toEqual({ ok: true, nextCalls: 1 });
});
