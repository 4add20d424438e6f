// @nsq-edge/client: publish and consume over WebSocket from a browser, a Cloudflare Worker or
// Durable Object, and Node (20+: the `ws` package is used where there is no global WebSocket).
//
//   import { Producer, Consumer } from "@nsq-edge/client";
//
//   const producer = new Producer("https://nsq.example.com");
//   await producer.publish("orders", JSON.stringify({ id: 1 }));
//
//   const consumer = new Consumer("orders", "billing", { url: "https://nsq.example.com", maxInFlight: 10 });
//   consumer.on("message", async (msg) => console.log(msg.json()));   // resolve → FIN, throw → REQ
//   // or: for await (const msg of consumer) { ... }                    // FIN when the loop goes on
//
//   // With auth on: { authSecret } in either's options (a Bearer header where the runtime can send one, else AUTH).
export { Producer, type ProducerOptions, type PublishOptions, type Body } from "./producer.js";
export { Consumer, type ConsumerOptions, type ConsumerEvents, type ConsumerStats, type Handler } from "./consumer.js";
export { Message } from "./message.js";
export { NsqError, AuthError, ConnectionError, ClosedError } from "./errors.js";
export type { IdentifyOptions } from "./connection.js";
export { lookup, lookupUrl, producerSocketUrl, serviceSocketUrl, type LookupResult, type LookupProducer } from "./lookup.js";
export type { Connect, FetchLike, SocketLike, TransportOptions, WebSocketConstructor } from "./socket.js";
export { exponentialBackoff } from "./backoff.js";
