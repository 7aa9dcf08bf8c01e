/**
 * The tables, indexes and functions of the store, as migrations: migration `n` takes a database
 * from version `n - 1` to `n`. Applied in order, each once, by `migrate()`. Never edit a released
 * migration; add the next one.
 *
 * `q` is the quoted schema name; every object lives in that schema. `channel` is the quoted SQL
 * string literal of the LISTEN/NOTIFY channel.
 */
export function migrations(q: string, channel: string): readonly string[] {
  return [
    // 1: sessions, items, leases, events, change batches, artifacts, and the roll-up function.
    `
CREATE TABLE ${q}.sessions (
  id text PRIMARY KEY,
  sequence integer NOT NULL UNIQUE CHECK (sequence > 0),
  hash text NOT NULL,
  prd_snapshot bytea NOT NULL,
  parent_session text REFERENCES ${q}.sessions (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  run_config json,
  -- The top level of tasks.json in its own key order; "backlog" holds a placeholder.
  document json NOT NULL,
  -- currentItemId as JSON text when a change batch set it since the snapshot, else NULL.
  current_item text,
  -- The snapshot text as last given (create or compact), byte for byte, and the last batch it holds.
  snapshot_text text NOT NULL,
  snapshot_sequence integer NOT NULL DEFAULT 0,
  -- The last change batch appended.
  batch_sequence integer NOT NULL DEFAULT 0,
  -- False once items changed other than through batches (claims): the rows are then the truth.
  snapshot_current boolean NOT NULL DEFAULT true,
  -- The process that has the session open (pid, hostname, startedAt) and its token. Liveness is
  -- the holder's advisory lock: it ends with the holder's connection.
  holder json,
  holder_token uuid
);
CREATE INDEX sessions_hash ON ${q}.sessions (hash);

CREATE TABLE ${q}.items (
  session_id text NOT NULL REFERENCES ${q}.sessions (id) ON DELETE CASCADE,
  id text NOT NULL,
  parent_id text,
  -- Ancestor ids, phase first.
  path text[] NOT NULL,
  level smallint NOT NULL CHECK (level BETWEEN 0 AND 3),
  -- Document (depth-first) order, and one past the last position of the item's subtree.
  position integer NOT NULL,
  subtree_end integer NOT NULL,
  status text NOT NULL,
  -- The item's own keys in their order, the child array left empty.
  raw json NOT NULL,
  dependencies text[] NOT NULL DEFAULT '{}',
  attempt integer NOT NULL DEFAULT 0,
  lease_owner text,
  lease_token uuid,
  lease_expires_at timestamptz,
  retry_at timestamptz,
  -- Set when workers change the status (claims, outcomes, expiries); cleared when the session's
  -- holder loads it. A compaction keeps such statuses: its snapshot may not know of them.
  claimed_change boolean NOT NULL DEFAULT false,
  PRIMARY KEY (session_id, id)
);
CREATE INDEX items_order ON ${q}.items (session_id, position);
CREATE INDEX items_children ON ${q}.items (session_id, parent_id);
CREATE INDEX items_claimable ON ${q}.items (session_id, position)
  WHERE level = 3 AND lease_owner IS NULL
    AND status IN ('Planned', 'Retrying', 'Researching', 'Implementing');
CREATE INDEX items_unfinished ON ${q}.items (session_id, position)
  WHERE level = 3 AND status NOT IN ('Complete', 'Obsolete');
CREATE INDEX items_leases ON ${q}.items (lease_expires_at) WHERE lease_owner IS NOT NULL;

CREATE TABLE ${q}.events (
  id bigserial PRIMARY KEY,
  session_id text NOT NULL REFERENCES ${q}.sessions (id) ON DELETE CASCADE,
  item_id text NOT NULL,
  kind text NOT NULL,
  from_status text,
  to_status text NOT NULL,
  worker_id text,
  attempt integer,
  at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX events_item ON ${q}.events (session_id, item_id, id);

CREATE TABLE ${q}.batches (
  session_id text NOT NULL REFERENCES ${q}.sessions (id) ON DELETE CASCADE,
  sequence integer NOT NULL,
  body json NOT NULL,
  PRIMARY KEY (session_id, sequence)
);

CREATE TABLE ${q}.artifacts (
  session_id text NOT NULL REFERENCES ${q}.sessions (id) ON DELETE CASCADE,
  name text NOT NULL,
  body text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (session_id, name)
);

-- Re-derives the containers above an item from their direct children, nearest first, with the
-- rule of @savepoint/task-schema: all Obsolete -> Obsolete; all Complete or Obsolete -> Complete;
-- every unfinished child Failed -> Failed; any child not Planned -> Implementing; else Planned.
-- The containers are locked first (top down, the same order for everyone), so each re-derivation
-- reads the children as committed by whoever held the lock before.
CREATE FUNCTION ${q}.roll_up(p_session text, p_item text) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  v_path text[];
  v_derived text;
  k integer;
BEGIN
  SELECT path INTO v_path FROM ${q}.items WHERE session_id = p_session AND id = p_item;
  IF v_path IS NULL OR cardinality(v_path) = 0 THEN
    RETURN;
  END IF;
  PERFORM 1 FROM ${q}.items
    WHERE session_id = p_session AND id = ANY (v_path)
    ORDER BY position
    FOR UPDATE;
  FOR k IN REVERSE cardinality(v_path)..1 LOOP
    SELECT CASE
        WHEN count(*) FILTER (WHERE c.status <> 'Obsolete') = 0 THEN 'Obsolete'
        WHEN count(*) FILTER (WHERE c.status NOT IN ('Complete', 'Obsolete')) = 0 THEN 'Complete'
        WHEN count(*) FILTER (WHERE c.status NOT IN ('Complete', 'Obsolete', 'Failed')) = 0
          THEN 'Failed'
        WHEN count(*) FILTER (WHERE c.status <> 'Planned') > 0 THEN 'Implementing'
        ELSE 'Planned'
      END
      INTO v_derived
      FROM ${q}.items c
      WHERE c.session_id = p_session AND c.parent_id = v_path[k];
    UPDATE ${q}.items SET status = v_derived
      WHERE session_id = p_session AND id = v_path[k] AND status IS DISTINCT FROM v_derived;
  END LOOP;
END
$fn$;

-- Refuses a change batch whose number is not the next one (SQLSTATE 22023), locking the session.
CREATE FUNCTION ${q}.check_batch(p_session text, p_sequence integer, p_holder uuid)
RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  v_last integer;
  v_holder uuid;
BEGIN
  SELECT greatest(batch_sequence, snapshot_sequence), holder_token INTO v_last, v_holder
    FROM ${q}.sessions WHERE id = p_session FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('no session %s', p_session);
  END IF;
  IF v_holder IS DISTINCT FROM p_holder THEN
    RAISE EXCEPTION USING ERRCODE = 'SPLCK', MESSAGE = format(
      'session %s is no longer held by this process', p_session);
  END IF;
  IF p_sequence <> v_last + 1 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format(
      'out of sequence: batch %s appended to session %s, whose last batch is %s (expected %s)',
      p_sequence, p_session, v_last, v_last + 1);
  END IF;
END
$fn$;

-- Refuses a snapshot older than the last batch (SQLSTATE 22023), locking the session.
CREATE FUNCTION ${q}.check_snapshot(p_session text, p_sequence integer, p_holder uuid)
RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  v_last integer;
  v_holder uuid;
BEGIN
  SELECT greatest(batch_sequence, snapshot_sequence), holder_token INTO v_last, v_holder
    FROM ${q}.sessions WHERE id = p_session FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('no session %s', p_session);
  END IF;
  IF v_holder IS DISTINCT FROM p_holder THEN
    RAISE EXCEPTION USING ERRCODE = 'SPLCK', MESSAGE = format(
      'session %s is no longer held by this process', p_session);
  END IF;
  IF p_sequence < v_last THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format(
      'out of sequence: a snapshot up to batch %s given to session %s, whose last batch is %s',
      p_sequence, p_session, v_last);
  END IF;
END
$fn$;

-- Records a claimed subtask's outcome, fenced by its lease: only the holder of the unexpired
-- lease with this token can. Returns false (and changes nothing) when the lease is gone.
CREATE FUNCTION ${q}.record_outcome(
  p_session text, p_item text, p_token uuid, p_status text, p_retry_ms double precision
) RETURNS boolean
LANGUAGE plpgsql AS $fn$
DECLARE
  v_from text;
  v_owner text;
  v_attempt integer;
BEGIN
  SELECT status, lease_owner, attempt INTO v_from, v_owner, v_attempt
    FROM ${q}.items
    WHERE session_id = p_session AND id = p_item AND lease_token = p_token
      AND lease_expires_at > now()
    FOR UPDATE;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  UPDATE ${q}.items
    SET status = p_status, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
        claimed_change = true,
        retry_at = CASE WHEN p_retry_ms IS NULL THEN NULL
                        ELSE now() + p_retry_ms * interval '1 millisecond' END
    WHERE session_id = p_session AND id = p_item;
  PERFORM ${q}.roll_up(p_session, p_item);
  INSERT INTO ${q}.events (session_id, item_id, kind, from_status, to_status, worker_id, attempt)
    VALUES (p_session, p_item, 'record', v_from, p_status, v_owner, v_attempt);
  UPDATE ${q}.sessions SET snapshot_current = false WHERE id = p_session AND snapshot_current;
  IF p_status <> 'Failed' THEN
    PERFORM pg_notify(${channel}, p_session);
  END IF;
  RETURN true;
END
$fn$;

-- Gives leases back: their subtasks return to Planned, one event each. p_kind 'expire': every
-- expired lease of the session; 'release': every lease held by one of p_workers; 'abandon': the
-- lease with token p_token (only while it is unexpired). Leases being recorded right now are
-- skipped, not waited for.
CREATE FUNCTION ${q}.give_back(
  p_session text, p_kind text, p_workers text[], p_token uuid
) RETURNS SETOF text
LANGUAGE plpgsql AS $fn$
DECLARE
  r record;
  v_any boolean := false;
BEGIN
  FOR r IN
    SELECT i.id, i.status, i.lease_owner, i.attempt
      FROM ${q}.items i
      WHERE i.session_id = p_session AND i.lease_owner IS NOT NULL
        AND CASE p_kind
              WHEN 'expire' THEN i.lease_expires_at <= now()
              WHEN 'release' THEN i.lease_owner = ANY (p_workers)
              ELSE i.lease_token = p_token AND i.lease_expires_at > now()
            END
      ORDER BY i.position
      FOR UPDATE SKIP LOCKED
  LOOP
    UPDATE ${q}.items
      SET status = 'Planned', lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
          claimed_change = true,
          retry_at = NULL
      WHERE session_id = p_session AND id = r.id;
    PERFORM ${q}.roll_up(p_session, r.id);
    INSERT INTO ${q}.events (session_id, item_id, kind, from_status, to_status, worker_id, attempt)
      VALUES (p_session, r.id, p_kind, r.status, 'Planned', r.lease_owner, r.attempt);
    v_any := true;
    RETURN NEXT r.id;
  END LOOP;
  IF v_any THEN
    UPDATE ${q}.sessions SET snapshot_current = false WHERE id = p_session AND snapshot_current;
    PERFORM pg_notify(${channel}, p_session);
  END IF;
END
$fn$;
`,
    // 2: a roll-up that changes a container's status is an event too ('rollup'), credited to the
    // worker and attempt whose change caused it, after that change's own event.
    `
DROP FUNCTION ${q}.roll_up(text, text);

CREATE FUNCTION ${q}.roll_up(
  p_session text, p_item text, p_worker text, p_attempt integer
) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  v_path text[];
  v_from text;
  v_derived text;
  k integer;
BEGIN
  SELECT path INTO v_path FROM ${q}.items WHERE session_id = p_session AND id = p_item;
  IF v_path IS NULL OR cardinality(v_path) = 0 THEN
    RETURN;
  END IF;
  PERFORM 1 FROM ${q}.items
    WHERE session_id = p_session AND id = ANY (v_path)
    ORDER BY position
    FOR UPDATE;
  FOR k IN REVERSE cardinality(v_path)..1 LOOP
    SELECT CASE
        WHEN count(*) FILTER (WHERE c.status <> 'Obsolete') = 0 THEN 'Obsolete'
        WHEN count(*) FILTER (WHERE c.status NOT IN ('Complete', 'Obsolete')) = 0 THEN 'Complete'
        WHEN count(*) FILTER (WHERE c.status NOT IN ('Complete', 'Obsolete', 'Failed')) = 0
          THEN 'Failed'
        WHEN count(*) FILTER (WHERE c.status <> 'Planned') > 0 THEN 'Implementing'
        ELSE 'Planned'
      END
      INTO v_derived
      FROM ${q}.items c
      WHERE c.session_id = p_session AND c.parent_id = v_path[k];
    SELECT status INTO v_from FROM ${q}.items WHERE session_id = p_session AND id = v_path[k];
    IF v_from IS DISTINCT FROM v_derived THEN
      UPDATE ${q}.items SET status = v_derived WHERE session_id = p_session AND id = v_path[k];
      INSERT INTO ${q}.events (session_id, item_id, kind, from_status, to_status, worker_id, attempt)
        VALUES (p_session, v_path[k], 'rollup', v_from, v_derived, p_worker, p_attempt);
    END IF;
  END LOOP;
END
$fn$;

CREATE OR REPLACE FUNCTION ${q}.record_outcome(
  p_session text, p_item text, p_token uuid, p_status text, p_retry_ms double precision
) RETURNS boolean
LANGUAGE plpgsql AS $fn$
DECLARE
  v_from text;
  v_owner text;
  v_attempt integer;
BEGIN
  SELECT status, lease_owner, attempt INTO v_from, v_owner, v_attempt
    FROM ${q}.items
    WHERE session_id = p_session AND id = p_item AND lease_token = p_token
      AND lease_expires_at > now()
    FOR UPDATE;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  UPDATE ${q}.items
    SET status = p_status, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
        claimed_change = true,
        retry_at = CASE WHEN p_retry_ms IS NULL THEN NULL
                        ELSE now() + p_retry_ms * interval '1 millisecond' END
    WHERE session_id = p_session AND id = p_item;
  INSERT INTO ${q}.events (session_id, item_id, kind, from_status, to_status, worker_id, attempt)
    VALUES (p_session, p_item, 'record', v_from, p_status, v_owner, v_attempt);
  PERFORM ${q}.roll_up(p_session, p_item, v_owner, v_attempt);
  UPDATE ${q}.sessions SET snapshot_current = false WHERE id = p_session AND snapshot_current;
  IF p_status <> 'Failed' THEN
    PERFORM pg_notify(${channel}, p_session);
  END IF;
  RETURN true;
END
$fn$;

CREATE OR REPLACE FUNCTION ${q}.give_back(
  p_session text, p_kind text, p_workers text[], p_token uuid
) RETURNS SETOF text
LANGUAGE plpgsql AS $fn$
DECLARE
  r record;
  v_any boolean := false;
BEGIN
  FOR r IN
    SELECT i.id, i.status, i.lease_owner, i.attempt
      FROM ${q}.items i
      WHERE i.session_id = p_session AND i.lease_owner IS NOT NULL
        AND CASE p_kind
              WHEN 'expire' THEN i.lease_expires_at <= now()
              WHEN 'release' THEN i.lease_owner = ANY (p_workers)
              ELSE i.lease_token = p_token AND i.lease_expires_at > now()
            END
      ORDER BY i.position
      FOR UPDATE SKIP LOCKED
  LOOP
    UPDATE ${q}.items
      SET status = 'Planned', lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
          claimed_change = true,
          retry_at = NULL
      WHERE session_id = p_session AND id = r.id;
    INSERT INTO ${q}.events (session_id, item_id, kind, from_status, to_status, worker_id, attempt)
      VALUES (p_session, r.id, p_kind, r.status, 'Planned', r.lease_owner, r.attempt);
    PERFORM ${q}.roll_up(p_session, r.id, r.lease_owner, r.attempt);
    v_any := true;
    RETURN NEXT r.id;
  END LOOP;
  IF v_any THEN
    UPDATE ${q}.sessions SET snapshot_current = false WHERE id = p_session AND snapshot_current;
    PERFORM pg_notify(${channel}, p_session);
  END IF;
END
$fn$;
`,
  ];
}
