// What V8's optimizing compiler leaves out of the hot paths: each scenario of
// bench/instructions.js (sequential misses, hits) runs under V8's inlining trace, one compile at
// a time, and for every function TurboFan compiled this prints the calls it did not inline.
// A miss's cost moves by hundreds of instructions with these decisions (a flight constructed
// through V8's generic construct call costs far more than one allocated inline), and they
// change with the bytecode of everything on the path and with the V8 version, so this is the
// check to run after changing the path, on every supported Node.js:
//   node bench/inlining.js [--node <binary>] [--lib <built checkout>] [--all]
//   --lib: another checkout's package instead of this one's.
//   --all: also list compiles that inlined every candidate.
// Exits with 1 if any compile left the Flight constructor out: then a miss constructs its
// flight through a call instead of an inline allocation.
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { ROOT, PREDICTABLE_V8 } = require('./common');

const nodeAt = process.argv.indexOf('--node');
const NODE = nodeAt > 0 ? process.argv[nodeAt + 1] : process.execPath;
const libAt = process.argv.indexOf('--lib');
const LIB = libAt > 0 ? path.resolve(process.argv[libAt + 1]) : ROOT;
const ALL = process.argv.includes('--all');
/** Must always be inlined where it is constructed (see the top of this file). */
const ALWAYS_INLINED = 'Flight';

const SCENARIOS = [
  ['unnamed miss', 'miss', false, 40_000],
  ['named miss', 'miss', true, 40_000],
  ['unnamed hit', 'hit', false, 2500],
  ['named hit', 'hit', true, 2500],
];

/** The trace of one scenario: V8's predictable mode, as bench/instructions.js counts it. */
function trace(kind, named, units) {
  const run = spawnSync(
    NODE,
    [
      ...PREDICTABLE_V8,
      '--trace-opt',
      '--trace-turbo-inlining',
      path.join(__dirname, 'instructions.js'),
      '--scenario',
      LIB,
      kind,
      String(named),
      String(units),
      'plain',
    ],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  if (run.status !== 0) throw new Error(`${NODE} failed: ${run.stderr.slice(-2000)}`);
  return `${run.stdout}\n${run.stderr}`;
}

/** For each TurboFan compile: the function, what it inlined, and the candidates it did not. */
function compiles(text) {
  const found = [];
  let current;
  for (const line of text.split('\n')) {
    const compiling = /compiling method .*?<JSFunction ?([^ >(]*).*\(target TURBOFAN/.exec(line);
    if (compiling && !line.includes('completed')) {
      current = { name: compiling[1] || '(anonymous)', inlined: new Set(), candidates: new Map() };
      found.push(current);
      continue;
    }
    if (current === undefined) continue;
    const inlining = /^Inlining .*?<SharedFunctionInfo ?([^>]*)>/.exec(line);
    if (inlining) {
      current.inlined.add(inlining[1]);
      continue;
    }
    const candidate = /target: .*<SharedFunctionInfo ?([^>]*)>}?, bytecode size: (\d+)/.exec(line);
    if (candidate) current.candidates.set(candidate[1], Number(candidate[2]));
  }
  return found.map(({ name, inlined, candidates }) => ({
    name,
    left: [...candidates].filter(([callee]) => !inlined.has(callee)),
  }));
}

function main() {
  const version = spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim();
  console.log(`V8 inlining of ${LIB} on Node ${version} (${NODE})`);
  let failed = false;
  for (const [name, kind, named, units] of SCENARIOS) {
    console.log(`\n${name}:`);
    for (const compile of compiles(trace(kind, named, units))) {
      if (compile.left.length === 0 && !ALL) continue;
      const left = compile.left.map(([callee, size]) => `${callee || '(anonymous)'} (${size} B)`).join(', ');
      console.log(`  ${compile.name}: ${left === '' ? 'inlined every candidate' : `not inlined: ${left}`}`);
      if (compile.left.some(([callee]) => callee === ALWAYS_INLINED)) failed = true;
    }
  }
  if (failed) {
    console.error(`\nA compile left the ${ALWAYS_INLINED} constructor out (see above).`);
    process.exitCode = 1;
  }
}

main();
