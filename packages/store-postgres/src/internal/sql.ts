/** Quotes an SQL identifier (a schema name): double quotes, inner quotes doubled. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** SQLSTATEs after which a statement can simply run again: its transaction was rolled back whole. */
const TRANSIENT = new Set(['40001', '40P01']);

/** Whether a database error is a serialization failure or a deadlock victim. */
export function isTransient(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    TRANSIENT.has((error as { code?: unknown }).code as string)
  );
}

/** Quotes an SQL string literal: single quotes, inner quotes doubled. */
export function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** The LISTEN/NOTIFY channel of a schema's store; the payload of each notification is a session id. */
export function channelName(schema: string): string {
  return `savepoint:${schema}`;
}
