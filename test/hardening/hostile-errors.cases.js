// Shared by hostile-errors-*.test.js: the hostile thrown values, and what every run must show.
const { runScenario, cleanResult } = require('./helpers');

/** Kinds of hostile thrown values (see fixtures/hostile-errors.js), and whether the message
 * can be read from them (then a rejection in the other thread must carry it). */
const KINDS = {
  'stack-getter': true, // defect 2 itself
  'name-getter': true,
  'message-getter': false,
  'constructor-getter': true,
  'code-getter': true,
  'own-enumerable-getter': true,
  'cause-getter': true, // passes today (cause is not read); pins that forwarding `cause` stays safe
  'toJSON-getter': true, // passes today
  'errors-getter': true, // passes today (errors is not read); pins that forwarding `errors` stays safe
  'proxy-getPrototypeOf': true,
  'proxy-ownKeys': true,
  'proxy-get': false,
  'revoked-proxy': false,
};
/** Kinds also thrown synchronously by the work (the synchronous path packs the error too). */
const SYNC_KINDS = ['stack-getter', 'revoked-proxy', 'proxy-ownKeys'];

const FREE = { isInFlight: false, inFlightCount: 0 };

/** The other thread's caller: it ran its own work, or got an Error carrying what could be read
 * — never the flight's timeout (it must hear of the failure), never a hang. */
function expectRemoteOutcome(outcome, kind, ownBy) {
  if (outcome.status === 'fulfilled') {
    expect(outcome.value).toEqual({ by: ownBy });
    return;
  }
  expect(outcome).toMatchObject({ status: 'rejected', isError: true });
  expect(outcome.code).not.toBe('ERR_FLIGHT_TIMEOUT');
  if (KINDS[kind]) expect(outcome.message).toBe('boom');
}

function mainLeads(kind, how) {
  const result = cleanResult(runScenario('hostile-errors.js', `main-leads-${kind}-${how}`));
  expect(result.leaderCallers).toEqual(how === 'async' ? ['rejected', 'rejected'] : ['rejected']);
  expect(result.leaderCallersGotTheVeryError).toBe(true);
  expectRemoteOutcome(result.remote, kind, 'worker');
  expect({ view: result.view, workerView: result.workerView, workerAlive: result.workerAlive }).toEqual({
    view: FREE,
    workerView: FREE,
    workerAlive: true,
  });
}

function workerLeads(kind, how) {
  const result = cleanResult(runScenario('hostile-errors.js', `worker-leads-${kind}-${how}`));
  expect(result.joined).toBe(how === 'async' ? 4 : 3);
  expect(result.leaderCallers).toEqual({
    statuses: how === 'async' ? ['rejected', 'rejected'] : ['rejected'],
    veryError: true,
  });
  expect(result.remote).toHaveLength(2);
  for (const outcome of result.remote) expectRemoteOutcome(outcome, kind, 'main');
  expect({ view: result.view, workerView: result.workerView, workerAlive: result.workerAlive }).toEqual({
    view: FREE,
    workerView: FREE,
    workerAlive: true,
  });
}

module.exports = { KINDS, SYNC_KINDS, mainLeads, workerLeads };
