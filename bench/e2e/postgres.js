// A throw-away PostgreSQL for the end-to-end benchmark: initdb into a temporary directory,
// postgres on a private loopback port (unix socket in the same directory), fsync off, and a
// stop() that shuts it down and deletes the directory. Nothing outside the temp dir is touched.
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const pg = require('pg');

const INSTALL_HINT =
  'PostgreSQL server binaries (initdb, postgres) were not found.\n' +
  'On Debian/Ubuntu install them with:  apt-get install -y postgresql\n' +
  '(or set PG_BINDIR to the directory holding initdb and postgres).';

/** Where initdb and postgres live: $PG_BINDIR, Debian's versioned dir, pg_config, then $PATH. */
function findBinDir() {
  const candidates = [];
  if (process.env.PG_BINDIR) candidates.push(process.env.PG_BINDIR);
  // Debian keeps the server binaries out of $PATH, one dir per major version; prefer 15.
  const debian = '/usr/lib/postgresql';
  if (fs.existsSync(debian)) {
    const majors = fs
      .readdirSync(debian)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => b - a);
    if (majors.includes('15')) majors.unshift('15');
    for (const v of majors) candidates.push(path.join(debian, v, 'bin'));
  }
  try {
    candidates.push(
      execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
    );
  } catch {
    /* no pg_config: fine */
  }
  for (const dir of (process.env.PATH || '').split(path.delimiter)) if (dir) candidates.push(dir);
  for (const dir of candidates) {
    const ok = ['initdb', 'postgres'].every((b) => {
      try {
        fs.accessSync(path.join(dir, b), fs.constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
    if (ok) return dir;
  }
  return null;
}

/** PostgreSQL refuses to run as root: as root, run it as the 'postgres' system user. */
function runAsIds() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
  const user = process.env.PG_RUN_AS || 'postgres';
  try {
    const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    return { user, uid, gid };
  } catch {
    throw new Error(
      `running as root, but there is no '${user}' user to run PostgreSQL as ` +
        '(PostgreSQL refuses to run as root). Create one (apt-get install postgresql does) or set PG_RUN_AS.',
    );
  }
}

/** A port the OS says is free right now (postgres binds it a moment later; start() retries). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class TempPostgres {
  constructor({ log = () => {} } = {}) {
    this.log = log;
    this.binDir = findBinDir();
    if (!this.binDir) {
      const err = new Error(INSTALL_HINT);
      err.code = 'PG_NOT_FOUND';
      throw err;
    }
    this.ids = runAsIds();
    this.dir = null;
    this.proc = null;
    this.helpers = new Set();
    this.port = null;
    this.user = 'bench';
    this.database = 'bench';
  }

  /** spawn options that drop to the postgres user when we are root (no runuser/su shell hop,
   * so the pid we hold is the postmaster itself and we can signal it directly). */
  spawnOpts(extra) {
    const o = { cwd: this.dir, env: { ...process.env, LC_ALL: 'C', TZ: 'UTC' }, ...extra };
    if (this.ids) Object.assign(o, { uid: this.ids.uid, gid: this.ids.gid });
    if (this.ids) o.env.HOME = this.dir;
    return o;
  }

  run(bin, args) {
    return new Promise((resolve, reject) => {
      const p = spawn(path.join(this.binDir, bin), args, this.spawnOpts({ stdio: ['ignore', 'pipe', 'pipe'] }));
      this.helpers.add(p); // so stop() can end an initdb still running (Ctrl-C during set-up)
      p.once('exit', () => this.helpers.delete(p));
      let out = '';
      p.stdout.on('data', (d) => {
        out += d;
      });
      p.stderr.on('data', (d) => {
        out += d;
      });
      p.on('error', reject);
      p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${bin} exited with ${code}:\n${out}`))));
    });
  }

  version() {
    return execFileSync(path.join(this.binDir, 'postgres'), ['--version'], { encoding: 'utf8' }).trim();
  }

  async start() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'threadflight-e2e-'));
    if (this.ids) fs.chownSync(this.dir, this.ids.uid, this.ids.gid);
    const data = path.join(this.dir, 'data');
    this.log(`initdb into ${data}${this.ids ? ` as user ${this.ids.user}` : ''}`);
    // trust auth is fine: loopback only, private port, deleted on exit. --no-sync: disposable.
    await this.run('initdb', ['-D', data, '-U', this.user, '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);

    for (let attempt = 1; ; attempt++) {
      this.port = await freePort();
      try {
        await this.launch(data);
        break;
      } catch (err) {
        if (attempt >= 3) throw err;
        this.log(`postgres did not start on port ${this.port} (${err.message.split('\n')[0]}); retrying`);
      }
    }
    const c = this.client('postgres');
    await c.connect();
    await c.query(`CREATE DATABASE ${this.database}`);
    await c.end();
  }

  async launch(data) {
    const logFile = path.join(this.dir, 'postgres.log');
    const logFd = fs.openSync(logFile, 'a');
    if (this.ids) fs.fchownSync(logFd, this.ids.uid, this.ids.gid);
    this.proc = spawn(
      path.join(this.binDir, 'postgres'),
      [
        '-D',
        data,
        '-p',
        String(this.port),
        '-h',
        '127.0.0.1',
        '-k',
        this.dir, // unix socket here, not in /var/run/postgresql
        '-c',
        'fsync=off', // disposable data: durability would only measure the disk
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'shared_buffers=256MB', // the whole data set stays in memory: we measure CPU, not I/O
        '-c',
        'max_connections=100',
        '-c',
        'listen_addresses=127.0.0.1',
      ],
      this.spawnOpts({ stdio: ['ignore', logFd, logFd] }),
    );
    fs.closeSync(logFd);
    const proc = this.proc;
    let exited = null;
    proc.once('exit', (code, signal) => {
      exited = { code, signal };
    });
    // Ready when a client can connect (pg_isready would need one more binary and the same loop).
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (exited) {
        this.proc = null;
        throw new Error(`postgres exited (${exited.code ?? exited.signal}) during start-up:\n${this.logTail(logFile)}`);
      }
      const c = this.client('postgres');
      try {
        await c.connect();
        await c.end();
        return;
      } catch {
        c.end().catch(() => {});
        if (Date.now() > deadline) {
          // Still running but unreachable: stop it before the caller retries on another port.
          this.proc = null;
          proc.kill('SIGKILL');
          throw new Error(`postgres not ready after 30 s:\n${this.logTail(logFile)}`);
        }
        await sleep(100);
      }
    }
  }

  logTail(file) {
    try {
      return fs.readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
    } catch {
      return '(no log)';
    }
  }

  connection(database = this.database) {
    return { host: '127.0.0.1', port: this.port, user: this.user, database };
  }

  client(database) {
    return new pg.Client(this.connection(database));
  }

  /** Fast shutdown (SIGINT), escalating if it hangs; then delete the temp dir. Idempotent. */
  async stop() {
    await Promise.all(
      [...this.helpers].map((p) => {
        const gone = new Promise((r) => p.once('exit', r));
        p.kill('SIGTERM');
        return gone;
      }),
    );
    const proc = this.proc;
    this.proc = null;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGINT');
      const timer = setTimeout(() => proc.kill('SIGQUIT'), 10_000); // immediate shutdown
      const timer2 = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await gone;
      clearTimeout(timer);
      clearTimeout(timer2);
    }
    this.removeDir();
  }

  /** Last-resort synchronous cleanup for process 'exit': cannot wait, so immediate shutdown. */
  stopSync() {
    for (const p of this.helpers)
      try {
        p.kill('SIGKILL');
      } catch {
        /* gone */
      }
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      try {
        this.proc.kill('SIGQUIT');
      } catch {
        /* already gone */
      }
    }
    this.proc = null;
    this.removeDir();
  }

  removeDir() {
    if (!this.dir) return;
    try {
      fs.rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      /* best effort */
    }
    this.dir = null;
  }
}

module.exports = { TempPostgres, INSTALL_HINT };
