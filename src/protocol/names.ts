// Topic and channel names, as nsqd's internal/protocol/names.go accepts them.
const VALID_NAME = /^[.a-zA-Z0-9_-]+(#ephemeral)?$/;

export function isValidName(name: string): boolean {
  return name.length >= 1 && name.length <= 64 && VALID_NAME.test(name);
}

export function isEphemeral(name: string): boolean {
  return name.endsWith("#ephemeral");
}
