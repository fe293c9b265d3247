import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { inject } from 'vitest';

/**
 * The PostgreSQL the tests use: `TEST_DATABASE_URL`, else the private server the global setup
 * starts (test/setup/postgres-server.ts). Unreachable = the tests fail, saying why.
 */
export const testDatabaseUrl = (): string => inject('databaseUrl');

/** The URL with the password hidden, for messages. */
const shown = (url: string): string => {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
};

/** A URL whose connections use `schema` as their search_path (so each test has its own tables). */
export function withSchema(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

export interface TestSchema {
  /** Connection URL whose search_path is the fresh schema. */
  url: string;
  schema: string;
  /** Runs SQL in the schema (for assertions). */
  query<T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

/**
 * A fresh, empty schema in the test database, dropped by `drop()`. Throws a clear error when the
 * server is unreachable: these tests must never pass by skipping.
 */
export async function createTestSchema(): Promise<TestSchema> {
  const base = testDatabaseUrl();
  const admin = new Client({ connectionString: base, connectionTimeoutMillis: 5_000 });
  try {
    await admin.connect();
  } catch (err) {
    await admin.end().catch(() => undefined);
    throw new Error(
      `The PostgreSQL tests cannot reach ${shown(base)} (TEST_DATABASE_URL, or unset it to let the ` +
        `suite start its own server; Debian: apt-get install -y postgresql): ${(err as Error).message}`,
    );
  }
  const schema = `sb_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = withSchema(base, schema);
  const reader = new Client({ connectionString: url });
  await reader.connect();
  return {
    url,
    schema,
    async query<T extends Record<string, unknown>>(sql: string, params: unknown[] = []) {
      return (await reader.query<T>(sql, params)).rows;
    },
    async drop() {
      await reader.end().catch(() => undefined);
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
      await admin.end().catch(() => undefined);
    },
  };
}
