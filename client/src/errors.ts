// The errors the client library rejects with: what the server said, or that the connection
// went away before it said anything.

/** The errors nsqd reports for FIN, REQ and TOUCH of an unknown message: the only non-fatal ones. */
const NON_FATAL = new Set(["E_FIN_FAILED", "E_REQ_FAILED", "E_TOUCH_FAILED"]);

/**
 * An error frame from the server, e.g. `E_BAD_TOPIC PUB topic name "a b" is not valid`:
 * `code` is the first word (`E_BAD_TOPIC`), `description` the rest. All codes but
 * E_FIN_FAILED, E_REQ_FAILED and E_TOUCH_FAILED close the connection (`fatal`).
 */
export class NsqError extends Error {
  override readonly name = "NsqError";
  readonly code: string;
  readonly description: string;
  readonly fatal: boolean;

  constructor(text: string) {
    super(text);
    const space = text.indexOf(" ");
    this.code = space < 0 ? text : text.slice(0, space);
    this.description = space < 0 ? "" : text.slice(space + 1);
    this.fatal = !NON_FATAL.has(this.code);
  }
}

/**
 * The connection could not be opened, or closed before the server answered. A command it
 * rejects may or may not have reached the server: a publish rejected so may have been stored
 * (publishing is at-least-once; publish again to be sure).
 */
export class ConnectionError extends Error {
  override readonly name = "ConnectionError";
  constructor(
    message: string,
    /** The server's error that closed the connection, when there was one. */
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

/** A method was called on a Producer or Consumer after close(). */
export class ClosedError extends Error {
  override readonly name = "ClosedError";
}
