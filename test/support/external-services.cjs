// Jest global setup: the suites run the service on the real MariaDB (PostgreSQL in the *-postgres
// projects), Redis and RabbitMQ of the machine unless the environment names others. Without these the
// service would start embedded (SQLite, in-process lock and queue); the suites that want that ask for
// it with mode: 'embedded'.
// Set here, in Jest's own process, so service processes the suites start inherit them too.
module.exports = async function externalServices() {
  process.env.DATABASE_URL ||= 'mysql://root@127.0.0.1:3306/test';
  process.env.REDIS_URL ||= 'redis://127.0.0.1:6379';
  process.env.AMQP_URL ||= 'amqp://guest:guest@127.0.0.1:5672';
  // PostgreSQL: the store contract suite, and the service in the e2e-postgres and faults-postgres projects
  // (their setupFiles, on-postgres.cjs, make it DATABASE_URL for each of their test files).
  process.env.POSTGRES_URL ||= 'postgres://root@127.0.0.1:5432/test';
  // The callers of test/support/callers.ts: every service a suite starts, in process or not, knows them.
  process.env.API_TOKENS ||= Object.values(require('./test-callers.json')).join(',');
};
