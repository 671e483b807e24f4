// Makes `require("pulumi-dynamiq/...")` resolve inside this repository the way it does in a user's project.
// The serialised provider in `__provider` loads its code with `require("pulumi-dynamiq/provider")` from the
// program's directory; the examples and test programs live inside this repository, so they need the package
// reachable through node_modules. Runs first in `npm run build` (which every script that runs a program starts
// with), not as an install script: the published package then has none, and installs say nothing about it.
const fs = require("node:fs");
const path = require("node:path");

const link = path.join(__dirname, "..", "node_modules", "pulumi-dynamiq");
try {
  if (fs.readlinkSync(link) === "..") process.exit(0);
  fs.rmSync(link, { recursive: true, force: true });
} catch {
  // not a link yet
}
fs.mkdirSync(path.dirname(link), { recursive: true });
fs.symlinkSync("..", link, "dir");
