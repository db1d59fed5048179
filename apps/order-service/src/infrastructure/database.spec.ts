import { databaseKindOf, loadServiceConfig } from '../config/service-config.js';
import { dataSourceOptions } from './database.js';

const SERVICES = { REDIS_URL: 'redis://h', AMQP_URL: 'amqp://h', API_TOKENS: 'a:client:token-0123456789ab' };
const ACCEPTED = 'mysql://, mariadb://, postgres:// or postgresql://';

describe('DATABASE_URL chooses the database by its scheme', () => {
  it.each([
    ['mysql://root@h:3306/db', 'mysql'],
    ['mariadb://root@h:3306/db', 'mysql'],
    ['postgres://root@h:5432/db', 'postgres'],
    ['postgresql://root@h:5432/db', 'postgres'],
    ['POSTGRES://root@h:5432/db', 'postgres'],
  ] as const)('%s: %s', (url, kind) => {
    expect(databaseKindOf(url)).toBe(kind);
    expect(loadServiceConfig({ ...SERVICES, DATABASE_URL: url }).databaseUrl).toBe(url);
    expect(dataSourceOptions(url, true).type).toBe(kind);
  });

  it('refuses any other scheme at start, naming the accepted ones', () => {
    for (const url of ['sqlite://file.db', 'redis://h:6379', 'mssql://h/db']) {
      const scheme = url.split(':')[0];
      expect(() => loadServiceConfig({ ...SERVICES, DATABASE_URL: url })).toThrow(`DATABASE_URL must start with ${ACCEPTED}, not ${scheme}://`);
      expect(() => dataSourceOptions(url, true)).toThrow(`DATABASE_URL must start with ${ACCEPTED}, not ${scheme}://`);
    }
    expect(() => loadServiceConfig({ ...SERVICES, DATABASE_URL: 'root@h/db' })).toThrow('DATABASE_URL is not a URL: "root@h/db"');
  });

  it('gives each database its own options: multiple statements on MySQL only, the same pool and connect timeout', () => {
    const mysql = dataSourceOptions('mysql://root@h:3306/db', false, 7) as unknown as Record<string, unknown>;
    const postgres = dataSourceOptions('postgres://root@h:5432/db', false, 7) as unknown as Record<string, unknown>;
    expect(mysql).toMatchObject({ type: 'mysql', poolSize: 7, connectTimeout: 5_000, multipleStatements: true, migrationsRun: false });
    expect(postgres).toMatchObject({ type: 'postgres', poolSize: 7, connectTimeoutMS: 5_000, migrationsRun: false });
    expect(postgres).not.toHaveProperty('multipleStatements');
    expect(postgres).not.toHaveProperty('timezone');
    // order-fsm's tables first, then the same taxi migrations, each in its database's SQL.
    const names = (options: Record<string, unknown>) => (options.migrations as Array<new () => { name: string }>).map((m) => new m().name);
    expect(names(mysql)).toEqual([
      'OrderFsmSchema1763856000000',
      'OrderFsmReliability1763856000002',
      'OrderFsmCallers1764720000000',
      'OrderFsmOperations1796300000000',
      'OrderFsmWorkAttempts1796400000000',
      'OrderFsmMachineVersions1796500000000',
      'OrderFsmLateEventCount1796600000000',
      'OrderFsmTraceContext1796700000000',
      'TaxiSchema1763856000001',
      'TaxiPassengerActiveRide1796256000000',
    ]);
    expect(names(postgres)).toEqual([
      'OrderFsmPostgresSchema1796284000000',
      'OrderFsmPostgresOperations1796300000000',
      'OrderFsmPostgresWorkAttempts1796400000000',
      'OrderFsmPostgresMachineVersions1796500000000',
      'OrderFsmPostgresLateEventCount1796600000000',
      'OrderFsmPostgresTraceContext1796700000000',
      'OrderFsmPostgresOutboxUnpublished1796800000000',
      'TaxiSchemaPostgres1796284000001',
      'TaxiPassengerActiveRidePostgres1796284000002',
    ]);
    // TypeORM runs them by timestamp: order-fsm's tables, which the taxi tables refer to, must come first on PostgreSQL
    // (what order-fsm added later for its operators, the taxi tables do not refer to).
    const byTime = [...names(postgres)].sort((a, b) => Number(a.slice(-13)) - Number(b.slice(-13)));
    expect(byTime[0]).toBe('OrderFsmPostgresSchema1796284000000');
  });
});
