// Who the embedded servers run as when Downlink runs as root, and the folders they must reach.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertReachable, serviceUser, ServiceUserError } from "../../src/embedded/service_user.ts";

const PASSWD =
  "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
const NOBODY = { name: "nobody", uid: 65534, gid: 65534 };

const root = mkdtempSync(join(tmpdir(), "downlink-reach-"));
after(() => rmSync(root, { recursive: true, force: true }));

test("as root the servers run as nobody; as anyone else, as that user", () => {
  assert.deepEqual(serviceUser(0, () => PASSWD), NOBODY);
  assert.equal(serviceUser(1000, () => PASSWD), undefined);
  assert.throws(() => serviceUser(0, () => "root:x:0:0::/root:/bin/sh\n"), ServiceUserError);
});

test("a folder others cannot pass through is named, with the fix", () => {
  const locked = join(root, "locked");
  mkdirSync(join(locked, "checkout"), { recursive: true });
  chmodSync(root, 0o755);
  chmodSync(locked, 0o700);
  assert.throws(
    () => assertReachable(join(locked, "checkout", ".downlink"), NOBODY, "the data folder"),
    (err) =>
      err instanceof ServiceUserError &&
      err.message.includes(
        `cannot reach the data folder ${join(locked, "checkout", ".downlink")}`,
      ) &&
      err.message.includes(`${locked} is mode 700; chmod o+x ${locked}`),
  );
  chmodSync(locked, 0o711);
  assertReachable(join(locked, "checkout", ".downlink"), NOBODY, "the data folder");
});
