// The addon loader refuses a build of another protocol version (one compiled from older
// sources and left behind) and says so; the package's install and platform cases are in
// test/package.
const { LOCAL_BUILD, prebuildPath } = require('../../lib/locate-addon.cjs');

test('a stale build is refused with its protocol version, and require names the fix', () => {
  let error;
  jest.isolateModules(() => {
    const stale = () => ({ protocol: { version: 1 } });
    jest.doMock(LOCAL_BUILD, stale);
    jest.doMock(prebuildPath(), stale, { virtual: true });
    try {
      require('../..');
    } catch (thrown) {
      error = thrown;
    }
  });
  expect(error).toBeInstanceOf(Error);
  expect(error.code).toBe('ERR_ADDON_UNAVAILABLE');
  const current = jest.requireActual(LOCAL_BUILD).protocol.version;
  expect(error.message).toContain(
    `local build build/Release/threadflight.node: speaks protocol 1, this JavaScript expects ${current} (a stale build)`,
  );
  expect(error.message).toContain('`npm rebuild threadflight`');
});
