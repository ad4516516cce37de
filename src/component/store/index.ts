/**
 * The Delivery Service store: interface, the SQLite implementation and the in-memory one.
 * @module
 */

export type * from "./types.js";
export { MemoryStore } from "./memory-store.js";
export { SqliteStore, openSqliteStore, type SqliteStoreOptions } from "./sqlite-store.js";
export { MIGRATIONS, SCHEMA_VERSION, migrate, type Migration } from "./migrations.js";
