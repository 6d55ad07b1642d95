// Refuses a DOWNLINK_DATA_KEY that does not open the data already stored: such a process would
// fail on every client secret and payload, and seal new ones no other process could open.
import { ConfigError } from "../runtime/config.ts";
import type { DataCipher } from "../crypto/data_key.ts";
import type { Sql } from "./db.ts";

/** The text sealed in `data_key_check`; its value matters less than its never changing. */
const CHECK_TEXT = "downlink data key check v1";
const CHECK_AAD = "data_key_check";

/**
 * Opens the check value with `cipher`; writes it when the database has none yet. A database
 * from before the check (clients, no check value) must first open one client secret, so the
 * value is not recorded under a wrong key. Throws ConfigError naming the fix otherwise.
 */
export async function checkDataKey(sql: Sql, cipher: DataCipher, schema: string): Promise<void> {
  const refuse = () =>
    new ConfigError(
      `DOWNLINK_DATA_KEY does not open the data in ${schema} (it was sealed with another key): ` +
        "set the key this database was created with",
    );
  const opens = (sealed: Uint8Array, aad: string) => {
    try {
      cipher.open(sealed, aad);
      return true;
    } catch {
      return false;
    }
  };

  let [row] = await sql<{ sealed: Uint8Array }[]>`select sealed from data_key_check where id = 1`;
  if (!row) {
    const [client] = await sql<{ client_id: string; secret_enc: Uint8Array }[]>`
      select client_id, secret_enc from api_clients order by created_at limit 1`;
    if (client && !opens(client.secret_enc, client.client_id)) throw refuse();
    await sql`insert into data_key_check (id, sealed)
      values (1, ${cipher.seal(CHECK_TEXT, CHECK_AAD)}) on conflict (id) do nothing`;
    // Read back: a process starting at the same time with another key may have written first.
    [row] = await sql<{ sealed: Uint8Array }[]>`select sealed from data_key_check where id = 1`;
  }
  if (!opens(row.sealed, CHECK_AAD)) throw refuse();
}
