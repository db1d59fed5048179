// setupFiles of the *-postgres projects (jest.config.js): the same suites, with the service on
// PostgreSQL: in process, in the service processes a suite starts (they inherit this environment),
// and in the suite's own connections (test/support/database.ts). Jest gives each test file a
// process.env of its own, so the files of the other projects still see MariaDB's DATABASE_URL.
process.env.DATABASE_URL = process.env.POSTGRES_URL || 'postgres://root@127.0.0.1:5432/test';
