#!/usr/bin/env node
// The `pulumi-dynamiq` command: a thin front-end over cli/adopt.ts. Usage errors exit 2 before any API call;
// API and configuration errors exit 1 with the client's own message (platform, method, path, status, request id).
import { dynamiqClient } from "../provider/clients/dynamiq";
import { ConfigurationError } from "../provider/errors";
import { dynamiqSettings } from "../provider/settings";
import { USAGE, UsageError, adopt, parseAdoptArgs } from "./adopt";

const ENVIRONMENT_ONLY =
  "pulumi-dynamiq adopt runs before any stack exists and reads no stack config, only the environment: " +
  "DYNAMIQ_API_TOKEN (or DYNAMIQ_API_KEY), DYNAMIQ_API_BASE_URL (or DYNAMIQ_API_HOST), DYNAMIQ_ALLOW_INSECURE_HTTP";

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  try {
    if (command !== "adopt") throw new UsageError(`unknown command "${command}"; the only command is adopt`);
    if (rest.includes("--help") || rest.includes("-h")) {
      console.log(USAGE);
      return 0;
    }
    const opts = parseAdoptArgs(rest);
    // dynamiqClient refuses a missing token or an Access Key before any request.
    const settings = dynamiqSettings(env);
    await adopt(opts, {
      client: () => dynamiqClient({}, settings),
      credential: settings.credential,
      print: (line) => console.log(line),
    });
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`pulumi-dynamiq adopt: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    // The settings' messages name stack config keys too; the command has no stack, so say what it does read.
    const hint = e instanceof ConfigurationError ? `\n${ENVIRONMENT_ONLY}` : "";
    console.error(`pulumi-dynamiq adopt: ${e instanceof Error ? e.message : String(e)}${hint}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
