// The workers suite's output, less one known line. Every WebSocket that a test opens to the
// Worker through vitest-pool-workers' loopback makes workerd log "WebSocket peer disconnected"
// when it ends, however cleanly both sides closed it (the service run as a process logs none:
// test/e2e/disconnect.test.ts checks its output). Hundreds of them hid what else workerd said.
// The pool writes workerd's logs to process.stdout itself and takes no filter for them (its own
// list of ignored messages is fixed), so the filter sits on the main process's stdout.
const BENIGN = /^exception = workerd\/api\/web-socket\.c\+\+:\d+: disconnected: WebSocket peer disconnected\n$/;

export function quietBenignRuntimeLines() {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) =>
      typeof chunk === "string" && BENIGN.test(chunk) ? true : write(chunk, ...rest)) as typeof stream.write;
  }
}
