// Baseline: a bare Postgres single-row commit loop (one INSERT, one commit, next), the cost
// floor of anything that durably records one command at a time.
import postgres from "postgres";

export interface PostgresBaseline {
  commitsPerSecond: number;
  concurrentCommitsPerSecond: number;
  concurrency: number;
}

export async function measurePostgresBaseline(
  databaseUrl: string,
  seconds: number,
  concurrency: number,
): Promise<PostgresBaseline> {
  const schema = `bench_pg_${Date.now().toString(36)}`;
  const sql = postgres(databaseUrl, { max: concurrency, onnotice: () => {} });
  try {
    await sql.unsafe(`create schema ${schema}`);
    await sql.unsafe(
      `create table ${schema}.rows (id bigserial primary key, body jsonb not null, at timestamptz not null default now())`,
    );
    const body = { command_id: crypto.randomUUID(), status: "ACCEPTED", device_id: "dock-1" };
    const loop = async (until: number) => {
      let n = 0;
      while (performance.now() < until) {
        await sql.unsafe(`insert into ${schema}.rows (body) values ($1)`, [body as never]);
        n++;
      }
      return n;
    };
    let start = performance.now();
    const sequential = await loop(start + seconds * 1000);
    const sequentialRate = sequential / ((performance.now() - start) / 1000);
    start = performance.now();
    const counts = await Promise.all(
      Array.from({ length: concurrency }, () => loop(start + seconds * 1000)),
    );
    const concurrentRate = counts.reduce((a, b) => a + b, 0) / ((performance.now() - start) / 1000);
    return {
      commitsPerSecond: sequentialRate,
      concurrentCommitsPerSecond: concurrentRate,
      concurrency,
    };
  } finally {
    await sql.unsafe(`drop schema if exists ${schema} cascade`).catch(() => {});
    await sql.end({ timeout: 1 });
  }
}
