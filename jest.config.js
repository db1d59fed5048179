/** Jest runs order-fsm as ESM (Nest 12 ships ESM only), so it is started with --experimental-vm-modules. */
const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^@order-fsm/core$': '<rootDir>/libs/order-fsm/src/index.ts',
    '^@order-fsm/core/testing$': '<rootDir>/libs/order-fsm/src/testing/index.ts',
    '^@order-fsm/core/mysql$': '<rootDir>/libs/order-fsm/src/adapters/mysql/index.ts',
    '^@order-fsm/core/postgres$': '<rootDir>/libs/order-fsm/src/adapters/postgres/index.ts',
    '^@order-fsm/core/sqlite$': '<rootDir>/libs/order-fsm/src/adapters/sqlite/index.ts',
    '^@order-fsm/core/redis$': '<rootDir>/libs/order-fsm/src/adapters/redis/index.ts',
    '^@order-fsm/core/amqp$': '<rootDir>/libs/order-fsm/src/adapters/amqp/index.ts',
    '^@order-fsm/core/in-process$': '<rootDir>/libs/order-fsm/src/adapters/in-process/index.ts',
    '^@order-fsm/core/prometheus$': '<rootDir>/libs/order-fsm/src/adapters/prometheus/index.ts',
    '^@order-fsm/core/otel$': '<rootDir>/libs/order-fsm/src/adapters/otel/index.ts',
    '^@order-fsm/core/ops$': '<rootDir>/libs/order-fsm/src/ops/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.json' }] },
};

/**
 * The end-to-end specs in which the database makes no difference, left out of e2e-postgres: the docs,
 * the OpenAPI document and the diagram (no orders stored), the package (its app runs on MariaDB,
 * PostgreSQL and SQLite already), the embedded mode, its logs
 * and its operator API (SQLite), RabbitMQ alone, MysqlOrderStore's own round trips (MySQL's), the store
 * contract and the schema upgrades (they run every store, PostgreSQL's included, already).
 */
const SAME_ON_ANY_DATABASE = ['docs', 'openapi', 'diagram', 'package', 'embedded', 'ops-embedded', 'logging', 'logging-warn', 'messaging', 'store', 'store-contract', 'schema-upgrade'].map(
  (name) => `<rootDir>/test/${name}\\.e2e-spec\\.ts$`,
);
/** The specs of one database's own migrations: each runs in its database's project only. */
const MARIADB_ONLY = ['<rootDir>/test/migrations-mariadb\\.e2e-spec\\.ts$'];
const POSTGRES_ONLY = ['<rootDir>/test/migrations-postgres\\.e2e-spec\\.ts$'];
const onPostgres = { setupFiles: ['<rootDir>/test/support/on-postgres.cjs'] };

export default {
  globalSetup: '<rootDir>/test/support/external-services.cjs',
  // The end-to-end suites restart RabbitMQ and wait on real workers: a generous bound, never a sleep.
  testTimeout: 120_000,
  projects: [
    { ...common, displayName: 'unit', rootDir: '.', testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/apps/**/*.spec.ts', '<rootDir>/bench/**/*.spec.mjs'] },
    { ...common, displayName: 'e2e', rootDir: '.', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'], testPathIgnorePatterns: POSTGRES_ONLY },
    // Real processes, killed, paused and restarted against the real services: see docs/RELIABILITY.md.
    { ...common, displayName: 'faults', rootDir: '.', testMatch: ['<rootDir>/test/faults/**/*.fault-spec.ts'] },
    // The same specs with the service on PostgreSQL (POSTGRES_URL) instead of MariaDB (DATABASE_URL).
    { ...common, ...onPostgres, displayName: 'e2e-postgres', rootDir: '.', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'], testPathIgnorePatterns: [...SAME_ON_ANY_DATABASE, ...MARIADB_ONLY] },
    { ...common, ...onPostgres, displayName: 'faults-postgres', rootDir: '.', testMatch: ['<rootDir>/test/faults/**/*.fault-spec.ts'] },
  ],
};
