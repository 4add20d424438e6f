// Decoding an MPUB body (see encodeMpubBody), with nsqd's readMPUB checks and error strings.
import { fatal } from "./errors";

export function decodeMpubBody(body: Uint8Array, maxMsgSize: number, maxBodySize: number): Uint8Array[] {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  if (body.length < 4) throw fatal("E_BAD_BODY", "MPUB failed to read message count");
  const count = view.getInt32(0);
  // 4 bytes of count, then at least 4 bytes of size and 1 byte of body per message.
  const maxMessages = Math.floor((maxBodySize - 4) / 5);
  if (count <= 0 || count > maxMessages) throw fatal("E_BAD_BODY", `MPUB invalid message count ${count}`);
  const messages: Uint8Array[] = new Array(count);
  let at = 4;
  for (let i = 0; i < count; i++) {
    if (body.length - at < 4) throw fatal("E_BAD_MESSAGE", `MPUB failed to read message(${i}) body size`);
    const size = view.getInt32(at);
    at += 4;
    if (size <= 0) throw fatal("E_BAD_MESSAGE", `MPUB invalid message(${i}) body size ${size}`);
    if (size > maxMsgSize) throw fatal("E_BAD_MESSAGE", `MPUB message too big ${size} > ${maxMsgSize}`);
    if (body.length - at < size) throw fatal("E_BAD_MESSAGE", "MPUB failed to read message body");
    messages[i] = body.subarray(at, at + size);
    at += size;
  }
  return messages;
}
