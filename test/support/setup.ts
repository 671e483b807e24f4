// Runs before every test file: tests never write to the user's home. The provider's intent journal (default
// ~/.pulumi-dynamiq/journal) goes to a fresh temporary directory per test file, inherited by every Pulumi CLI and
// provider host the tests start; a test that needs its own journal sets DYNAMIQ_PROVIDER_JOURNAL and restores this one.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

process.env.DYNAMIQ_PROVIDER_JOURNAL ??= fs.mkdtempSync(path.join(os.tmpdir(), "dynamiq-journal-"));
