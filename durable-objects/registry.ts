// RegistryObject: the lookup role (nsqlookupd's registration DB). Knows which topics and
// channels exist; touched when they are created or deleted, never per message.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../src/config";
import type { RegistryRpc } from "../src/objects";

export class RegistryObject extends DurableObject<Env> implements RegistryRpc {
  private sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY)`);
    this.sql.exec(
      `CREATE TABLE IF NOT EXISTS channels (topic TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (topic, name))`,
    );
  }

  addTopic(topic: string) {
    this.sql.exec(`INSERT OR IGNORE INTO topics (name) VALUES (?)`, topic);
  }

  removeTopic(topic: string) {
    this.sql.exec(`DELETE FROM channels WHERE topic = ?`, topic);
    this.sql.exec(`DELETE FROM topics WHERE name = ?`, topic);
  }

  addChannel(topic: string, channel: string) {
    this.addTopic(topic);
    this.sql.exec(`INSERT OR IGNORE INTO channels (topic, name) VALUES (?, ?)`, topic, channel);
  }

  removeChannel(topic: string, channel: string) {
    this.sql.exec(`DELETE FROM channels WHERE topic = ? AND name = ?`, topic, channel);
  }

  topics(): string[] {
    return this.sql.exec<{ name: string }>(`SELECT name FROM topics ORDER BY name`).toArray().map((r) => r.name);
  }

  hasTopic(topic: string): boolean {
    return this.sql.exec(`SELECT 1 FROM topics WHERE name = ?`, topic).toArray().length > 0;
  }

  channels(topic: string): string[] {
    return this.sql
      .exec<{ name: string }>(`SELECT name FROM channels WHERE topic = ? ORDER BY name`, topic)
      .toArray()
      .map((r) => r.name);
  }
}
