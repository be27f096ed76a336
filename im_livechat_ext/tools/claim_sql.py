"""The statements of the claim (models/im_livechat_operator_status.py runs
them): locking and stamping an operator's status row, adding status rows.
Nothing here touches a cursor."""

from odoo.tools import SQL

from .availability_sql import int_array

# the small per-operator row that a routing transaction locks while it gives
# that operator a chat (model im_livechat.operator.status)
STATUS_TABLE = "im_livechat_operator_status"


def lock_and_stamp_sql(user_ids, skip_locked, first_only=True, use_currtid2=False):
    """Lock the status row of the first of `user_ids` (in that order) that
    can be locked (with `skip_locked`: that no other transaction holds nor
    changed since our snapshot; without, wait for the first one's) and stamp
    it with the time, to the microsecond, in one statement returning the
    user_id stamped. Without `first_only`, every one of them that can be
    locked, in the order of their ids (two transactions stamping several
    never deadlock).

    A row changed by a transaction that committed after our snapshot (an
    operator just given a chat: in a burst, most visitors' snapshots predate
    the last chat given) would fail to serialize when locked: its newest
    version (currtid2, read with a snapshot taken now) is not the one we
    see, so it is passed over in the same statement. One committing between
    that check and the lock, or a row deleted since our snapshot, still
    fails to serialize (try_in_savepoint). Without `use_currtid2` (a
    PostgreSQL without it) such a row fails to serialize too: slower, the
    same answer."""
    if not first_only:
        user_ids = sorted(user_ids)
    unchanged = SQL()
    if skip_locked and use_currtid2:
        unchanged = SQL("AND pg_catalog.currtid2(%s, ctid) = ctid", STATUS_TABLE)
    return SQL(
        """WITH claimed AS (
               SELECT user_id FROM %(table)s WHERE user_id = ANY(%(ids)s) %(unchanged)s
                ORDER BY array_position(%(ids)s, user_id) %(limit)s
                  FOR NO KEY UPDATE %(skip_locked)s
           )
           UPDATE %(table)s status SET last_assignment_dt = (clock_timestamp() AT TIME ZONE 'UTC')
             FROM claimed WHERE status.user_id = claimed.user_id
           RETURNING status.user_id""",
        table=SQL.identifier(STATUS_TABLE),
        ids=int_array(user_ids),
        limit=SQL("LIMIT 1" if first_only else ""),
        skip_locked=SQL("SKIP LOCKED" if skip_locked else ""),
        unchanged=unchanged,
    )


def insert_status_rows_sql(user_ids):
    """Add the status rows these operators lack (those that exist are left alone)."""
    return SQL(
        """INSERT INTO %(table)s (user_id)
           SELECT new.user_id FROM unnest(%(ids)s::int[]) AS new(user_id)
            WHERE NOT EXISTS (SELECT 1 FROM %(table)s WHERE user_id = new.user_id)
           ON CONFLICT (user_id) DO NOTHING""",
        table=SQL.identifier(STATUS_TABLE),
        ids=sorted(user_ids),
    )
