// Preloaded into a profiled host (`node --cpu-prof --require`): exit normally on SIGTERM, so Node writes the CPU
// profile (a process killed by the signal writes none).
process.on("SIGTERM", () => process.exit(0));
