// Errors a V2 client sees, formatted as nsqd formats them: "<CODE> <description>".
// A fatal error closes the connection after it is sent; the others do not.
export class ProtocolError extends Error {
  constructor(
    readonly code: string,
    readonly description: string,
    readonly fatal: boolean,
  ) {
    super(`${code} ${description}`);
  }
}

export const fatal = (code: string, description: string) => new ProtocolError(code, description, true);
export const clientError = (code: string, description: string) => new ProtocolError(code, description, false);
