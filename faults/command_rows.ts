// The final state of the suite's commands, read with SQL from the scenario's own PostgreSQL in
// the namespace's schema (faster than thousands of signed GETs, and the same row they read).
import postgres from "postgres";

export interface CommandRow {
  status: string;
  responseCode?: string;
  deliveredAt?: number;
  deadlineAt: number;
  completedAt?: number;
}

export const TERMINAL = new Set(["SUCCEEDED", "FAILED", "TIMED_OUT", "UNMATCHED_RESPONSE"]);

export async function readCommandRows(
  databaseUrl: string,
  schema: string,
  tenantId: string,
): Promise<Map<string, CommandRow>> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<
      {
        command_id: string;
        status: string;
        response_code: string | null;
        delivered_at: Date | null;
        deadline_at: Date;
        completed_at: Date | null;
      }[]
    >`select command_id::text, status, response_code, delivered_at, deadline_at, completed_at
      from ${sql(schema)}.commands where tenant_id = ${tenantId}`;
    return new Map(rows.map((r) => [r.command_id, {
      status: r.status,
      responseCode: r.response_code ?? undefined,
      deliveredAt: r.delivered_at?.getTime(),
      deadlineAt: r.deadline_at.getTime(),
      completedAt: r.completed_at?.getTime(),
    }]));
  } finally {
    await sql.end({ timeout: 2 });
  }
}
