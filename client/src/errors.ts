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
  override readonly name: string = "NsqError";
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

/** The codes of the server's auth errors (nsqd's), and the library's own E_AUTH_REQUIRED. */
const AUTH_CODES = new Set(["E_AUTH_REQUIRED", "E_AUTH_FAILED", "E_UNAUTHORIZED", "E_AUTH_FIRST"]);

/**
 * Missing, unknown or insufficient credentials: the server's E_AUTH_FAILED (the secret is not
 * known, or the auth server could not be asked) and E_UNAUTHORIZED (no permission for this topic
 * or channel), an HTTP 401 or 403 (the WebSocket upgrade, /lookup), and the library's own
 * E_AUTH_REQUIRED: the server requires auth and no `authSecret` was given (go-nsq's "Auth Required").
 */
export class AuthError extends NsqError {
  override readonly name = "AuthError";
}

/** An error frame's text as the error to reject with: an AuthError for the auth codes. */
export function serverError(text: string): NsqError {
  const err = new NsqError(text);
  return AUTH_CODES.has(err.code) ? new AuthError(text) : err;
}

/**
 * An HTTP request (the WebSocket upgrade, /lookup) refused for its credentials: 403 is
 * E_UNAUTHORIZED; 401 is E_AUTH_FAILED when a secret was given, else E_AUTH_REQUIRED.
 * `body` is the service's answer, e.g. {"message":"UNAUTHORIZED"}, shown as it is.
 */
export function refusedError(what: string, status: 401 | 403, body: string, withSecret: boolean): AuthError {
  const answer = `${what} answered ${status}${body ? ` ${body.slice(0, 500)}` : ""}`;
  if (status === 403) return new AuthError(`E_UNAUTHORIZED ${answer}`);
  return withSecret
    ? new AuthError(`E_AUTH_FAILED ${answer}: the service does not accept the authSecret`)
    : new AuthError(`E_AUTH_REQUIRED ${answer}: the service requires auth; pass the authSecret option`);
}

/**
 * Errors that the same options will meet again, so no reconnect timer is set for them (the
 * lookup poll still tries again at its own interval): a name the server refuses, and a server
 * that wants credentials when none were given.
 */
export function isConfigurationError(e: unknown): boolean {
  return e instanceof NsqError && (e.code === "E_BAD_TOPIC" || e.code === "E_BAD_CHANNEL" || e.code === "E_AUTH_REQUIRED");
}

/** A method was called on a Producer or Consumer after close(). */
export class ClosedError extends Error {
  override readonly name = "ClosedError";
}
