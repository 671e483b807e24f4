// Once per `vitest run`: the pinned Pulumi CLI every engine test drives, built first when it is missing.
import { ensureCli } from "../../engine/cli";

export default function setup(): void {
  ensureCli((line) => console.log(line));
}
