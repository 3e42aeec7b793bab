// The data set and the one query the server runs, shared by run.js (setup) and server.js.
//
// users: 100k rows. orders: ~1M rows. As in real shops the load is skewed: users 1..100 are
// "power users" (think marketplace sellers) holding 30% of all orders (~3000 each), the rest are
// spread over all users (~7 each). The benchmark's hot ids are power users, so the hot query
// honestly aggregates a few thousand rows through an index: a few ms of real PostgreSQL work,
// no pg_sleep. run.js measures and reports its cost.

const USERS = 100_000;
const ORDERS = 1_000_000;
const POWER_USERS = 100;
const POWER_SHARE = 0.3;

function setupSql({ users = USERS, orders = ORDERS } = {}) {
  return [
    'SELECT setseed(0.42)', // the same data on every run
    `CREATE TABLE users (
       id int PRIMARY KEY,
       name text NOT NULL,
       email text NOT NULL,
       country char(2) NOT NULL,
       created_at timestamptz NOT NULL)`,
    `INSERT INTO users
       SELECT i, 'user ' || i, 'user' || i || '@example.com',
              (ARRAY['DE','FR','US','GB','JP','BR','IN','ES'])[1 + i % 8],
              timestamptz '2020-01-01' + (i * interval '15 minutes')
       FROM generate_series(1, ${users}) AS i`,
    `CREATE TABLE orders (
       id bigint PRIMARY KEY,
       user_id int NOT NULL REFERENCES users(id),
       amount_cents int NOT NULL,
       status text NOT NULL,
       created_at timestamptz NOT NULL)`,
    // Inserted in shuffled order, so one user's orders are scattered over the heap as in a table
    // that grew over years (an index lookup then touches one page per order).
    `INSERT INTO orders
       SELECT i,
              CASE WHEN random() < ${POWER_SHARE} THEN 1 + floor(random() * ${POWER_USERS})::int
                   ELSE 1 + floor(random() * ${users})::int END,
              100 + floor(random() * 20000)::int,
              (ARRAY['paid','paid','paid','paid','shipped','shipped','refunded','cancelled'])[1 + floor(random() * 8)::int],
              timestamptz '2023-01-01' + random() * interval '730 days'
       FROM generate_series(1, ${orders}) AS i
       ORDER BY md5(i::text)`, // not ORDER BY random(): PostgreSQL would match it to the
    // select list's random() calls and make them all equal
    'CREATE INDEX orders_user_id ON orders (user_id)',
    'VACUUM ANALYZE users',
    'VACUUM ANALYZE orders',
  ];
}

// GET /users/:id — the profile with order statistics: totals, refunds, last order and a
// per-month spend series for the last year (the kind of payload a dashboard asks for).
const USER_QUERY = `
  WITH o AS (
    SELECT amount_cents, status, created_at FROM orders WHERE user_id = $1
  ), monthly AS (
    SELECT to_char(date_trunc('month', created_at), 'YYYY-MM') AS month,
           count(*)::int AS orders, sum(amount_cents)::bigint AS cents
    FROM o WHERE created_at >= timestamptz '2024-01-01' AND status <> 'cancelled'
    GROUP BY 1 ORDER BY 1
  )
  SELECT u.id, u.name, u.email, u.country, u.created_at,
         (SELECT count(*)::int FROM o) AS orders,
         (SELECT coalesce(sum(amount_cents), 0)::bigint FROM o WHERE status IN ('paid', 'shipped')) AS spent_cents,
         (SELECT count(*)::int FROM o WHERE status = 'refunded') AS refunds,
         (SELECT max(created_at) FROM o) AS last_order_at,
         (SELECT coalesce(json_agg(monthly), '[]') FROM monthly) AS monthly
  FROM users u WHERE u.id = $1`;

module.exports = { setupSql, USER_QUERY, USERS, ORDERS, POWER_USERS };
