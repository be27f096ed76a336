"""The operators' routing status rows, and claiming the operator the
routing chose: a lock on their small status row that concurrent routings
skip, so that simultaneous visitors never share an operator's last free
slot nor queue behind each other on one operator; and the stamp of their
last assignment that the 120 s buffer and the burst order read."""

import logging
from functools import partial

from psycopg2 import OperationalError
from psycopg2.extensions import TransactionRollbackError
from psycopg2.pool import PoolError

from odoo import fields, models, sql_db
from odoo.tools import SQL

from ..tools.claim_sql import insert_status_rows_sql, lock_and_stamp_sql

_logger = logging.getLogger(__name__)

# the operators this transaction claimed (itself or on connections of their
# own), kept in the cursor's rollback callbacks data: cleared when the
# transaction ends, never before (a transaction holding a claim never waits
# for another one: it might be waiting for its own connection)
CLAIMS_KEY = "im_livechat_ext.claims"
# those of them stamped already, by this very cursor (a rollback to a
# savepoint undoes that: forget_stamps_since) or by a claim's own connection
STAMPED_KEY = "im_livechat_ext.stamped"
STAMPED_ELSEWHERE_KEY = "im_livechat_ext.stamped_elsewhere"


def claim_first(cr, ranked, max_sessions, rerank=None, wait=True):
    """Lock the status row of the best operator of `ranked` (rows of
    rank_operators, best first) that no other transaction is claiming, and
    return their row (None: nobody can take the chat).

    The lock lasts until the transaction ends: meanwhile, concurrent visitors
    skip this operator instead of waiting for them. An operator given a chat
    by a transaction that committed after ours began is skipped too (their
    row changed since our snapshot, _lock_and_stamp_sql): our snapshot does
    not see that chat, so it would misjudge their load.

    When every ranked operator is being claimed, nobody is turned away: with
    no limit to protect (`max_sessions` None, the channel's, and the best
    one has no limit of their own) the best one is shared, as stock Odoo
    does. With a limit, we wait for the best one's transaction to end, then
    rank again from a new snapshot (`rerank`, the routing_sql.RankingRequest
    that ranked them) and claim there
    (_claim_in_new_snapshot): at the end of a burst the answer "nobody"
    comes at once, and Odoo's retry of the request, which sleeps first, is
    left for when that does not settle it. Without `wait` (serving the
    waiting line, which the next freed slot serves again), or once this
    transaction holds a claim on a connection of its own, nobody is chosen
    then."""
    if not ranked:
        return None
    if missing := sorted(row["user_id"] for row in ranked if not row["has_status"]):
        # operators never given a chat yet have no row to lock: add them
        ensure_status_rows(cr, missing)
    if free := _claim_first_free(cr, ranked):
        return _claimed(cr, free)
    if max_sessions is None and not ranked[0]["own_limit"]:
        return ranked[0]
    # a transaction waits for a claim only while it holds none itself (here
    # or on a connection of its own): no two can wait for each other
    if not wait or cr.postrollback.data.get(CLAIMS_KEY):
        return None
    # wait for the transaction claiming the best one: if it ended without
    # giving them a chat, they are ours
    awaited = ranked[0]
    if try_in_savepoint(cr, _lock_and_stamp_sql(cr, [awaited["user_id"]], skip_locked=False)):
        return _claimed(cr, awaited)
    if rerank:
        claimed = _claim_in_new_snapshot(cr, rerank)
        if claimed is not RETRY:
            return claimed
    # a serialization failure here is the signal for Odoo to retry the
    # request (it logs the retry itself): not an error worth a line of its own
    cr.execute(_lock_and_stamp_sql(cr, [awaited["user_id"]], skip_locked=False), log_exceptions=False)
    return _claimed(cr, awaited) if cr.fetchone() else None


def _claim_first_free(cr, ranked):
    """Lock and stamp the status row of the first of `ranked` that no other
    transaction holds and return their row (None: all are held): usually at
    once, one by one when some fail to serialize."""
    rows = try_in_savepoint(cr, _lock_and_stamp_sql(cr, [row["user_id"] for row in ranked], skip_locked=True))
    if rows:
        return next(row for row in ranked if row["user_id"] == rows[0][0])
    if rows is None:
        for row in ranked:
            if try_in_savepoint(cr, _lock_and_stamp_sql(cr, [row["user_id"]], skip_locked=True)):
                return row
    return None


def _claimed(cr, row):
    """Note `row`'s operator, whose status row this transaction just locked
    and stamped, as claimed: the session opened next has nothing more to
    write there (mark_assigned)."""
    _note_claim(cr, row["user_id"], STAMPED_KEY)
    return row


def own_stamps(cr):
    """The operators this cursor stamped so far (for forget_stamps_since)."""
    return frozenset(cr.postrollback.data.get(STAMPED_KEY, ()))


def forget_stamps_since(cr, stamped):
    """After a rollback to a savepoint taken when this cursor had stamped
    `stamped` (own_stamps): the stamps made since are undone, so an
    operator given a chat afterwards is stamped again (mark_assigned)."""
    cr.postrollback.data[STAMPED_KEY] = set(stamped)


def _note_claim(cr, user_id, stamped_key):
    for key in (CLAIMS_KEY, stamped_key):
        cr.postrollback.data.setdefault(key, set()).add(user_id)


# _claim_in_new_snapshot: nothing settled, let Odoo retry the whole request
RETRY = object()
# rankings from a new snapshot before letting Odoo retry the request
NEW_SNAPSHOT_ROUNDS = 5


def _claim_in_new_snapshot(cr, rerank):
    """After waiting for a concurrent claim: rank again from a snapshot
    taken now, on a connection of its own (ours predates the chats just
    given, and locking a row changed since fails to serialize), and claim
    the best one there. That connection locks and stamps their status row
    and keeps it until our transaction ends, committing after ours: every
    transaction that cannot see our chat skips them or fails to serialize
    on the stamp, as with a claim of our own. When all of them are being
    claimed again, it waits for the best one there and ranks again, a few
    times at most.

    Returns the row claimed, None when nobody has room (the usual end of a
    burst: the last slots are gone), RETRY when not settled so or no
    connection is to be had."""
    if isinstance(cr, sql_db.TestCursor):
        # a test cursor drops post-commit hooks: the claim's connection would never end
        return RETRY
    try:
        fresh = sql_db.db_connect(cr.dbname).cursor()
    except (PoolError, OperationalError):
        return RETRY
    try:
        for _round in range(NEW_SNAPSHOT_ROUNDS):
            ranked = rank(fresh, rerank)
            if not ranked:
                return None
            claimed = _claim_first_free(fresh, ranked)
            # all being claimed: wait for the best one; if their transaction
            # gave them nothing, they are ours, else look again from a new snapshot
            if not claimed and try_in_savepoint(
                fresh, _lock_and_stamp_sql(fresh, [ranked[0]["user_id"]], skip_locked=False)
            ):
                claimed = ranked[0]
            if claimed:
                _note_claim(cr, claimed["user_id"], STAMPED_ELSEWHERE_KEY)
                cr.postcommit.add(partial(_end_claim, fresh, commit=True))
                cr.postrollback.add(partial(_end_claim, fresh, commit=False))
                fresh = None
                return claimed
            fresh.rollback()
        return RETRY
    finally:
        if fresh is not None:
            fresh.close()


def rank(cr, request):
    """The ranking of a routing_sql.RankingRequest as of now, on `cr`: who
    of its candidates is present (and still an operator of its channel) is
    read there again, for a new snapshot sees what ours did not."""
    now = fields.Datetime.now()
    cr.execute(request.present_sql(now))
    present = [user_id for (user_id,) in cr.fetchall()]
    if not present:
        return []
    cr.execute(request.rank_sql(now, present))
    return cr.dictfetchall()


def _end_claim(fresh, commit):
    """End a claim's own transaction once ours has ended: committed after
    ours, its stamp is what transactions that cannot see our chat fail on.
    Never raises: the other callbacks of our transaction still run."""
    try:
        if commit:
            fresh.commit()
    except Exception:
        _logger.exception("Live chat routing: the claim of an operator could not be committed")
    finally:
        try:
            fresh.close()
        except Exception:
            _logger.exception("Live chat routing: a claim's connection could not be closed")


# per database: whether PostgreSQL has currtid2 (kept for its ODBC driver;
# there in PostgreSQL 12 to 17, tested with 15)
_CURRTID2 = {}


def _has_currtid2(cr):
    """Without currtid2, a row changed since our snapshot is still passed
    over, by failing to serialize inside a savepoint: slower, just as
    correct."""
    if cr.dbname not in _CURRTID2:
        # there, and ours to run (a database administrator may revoke it)
        cr.execute(
            """SELECT to_regprocedure('pg_catalog.currtid2(text, tid)') IS NOT NULL
                  AND has_function_privilege('pg_catalog.currtid2(text, tid)', 'EXECUTE')"""
        )
        _CURRTID2[cr.dbname] = cr.fetchone()[0]
    return _CURRTID2[cr.dbname]


def ensure_status_rows(cr, user_ids):
    """Give these operators their status row now, when they join a channel:
    inserting it at the moment of a burst would make visitors wait on each
    other's inserts. Rows that exist are left alone (no wait on a routing
    transaction that holds them). When a concurrent transaction inserts
    some of them too (the insert fails to serialize or deadlocks), they
    are inserted one by one: only those fail, the others get their row."""
    if user_ids:
        _together_else_one_by_one(cr, insert_status_rows_sql, user_ids)


def _together_else_one_by_one(cr, query_for, user_ids):
    """`query_for(user_ids)` in one statement; when it fails to serialize or
    deadlocks (because of some of them), `query_for([user_id])` for each,
    in the order of their ids: only those concerned fail."""
    if try_in_savepoint(cr, query_for(user_ids)) is None:
        for user_id in sorted(user_ids):
            try_in_savepoint(cr, query_for([user_id]))


def try_in_savepoint(cr, query):
    """The rows of `query`, or None when it failed to serialize or deadlocked
    (rolled back to a savepoint: the transaction goes on)."""
    with cr.savepoint(flush=False) as savepoint:
        try:
            cr.execute(query, log_exceptions=False)
        except TransactionRollbackError:
            savepoint.rollback()
            return None
        return cr.fetchall() if cr.description else []


def mark_assigned(cr, user_ids):
    """Record that these operators just got a chat (the 120 s buffer and the
    burst order read it), to the microsecond, unless this cursor's claim
    already did (or a claim on a connection of its own, which holds the
    row). Never waits: the row of an operator another transaction is giving
    a chat right now is left to it."""
    data = cr.postrollback.data
    user_ids = set(user_ids) - data.get(STAMPED_KEY, set()) - data.get(STAMPED_ELSEWHERE_KEY, set())
    if user_ids:
        ensure_status_rows(cr, user_ids)
        # one whose row was deleted since our snapshot fails alone: the others keep their stamp
        _together_else_one_by_one(
            cr, lambda ids: _lock_and_stamp_sql(cr, ids, skip_locked=True, first_only=False), user_ids
        )
        # their rows may be held now: this transaction waits for no claim
        # any more (it could be waiting for itself through a claim's connection)
        data.setdefault(CLAIMS_KEY, set()).update(user_ids)


def _lock_and_stamp_sql(cr, user_ids, skip_locked, first_only=True):
    """claim_sql.lock_and_stamp_sql, with currtid2 where this database has it."""
    return lock_and_stamp_sql(user_ids, skip_locked, first_only, use_currtid2=skip_locked and _has_currtid2(cr))


class ImLivechatOperatorStatus(models.Model):
    """One small row per operator that the routing locks while it gives them
    a chat, so that concurrent visitors skip them instead of waiting, and
    that records when they last got one. Only the routing (superuser) reads
    or writes it: no access rule gives it to anybody."""

    _name = "im_livechat.operator.status"
    _description = "Live Chat Operator Routing Status"
    _log_access = False

    user_id = fields.Many2one("res.users", "Operator", required=True, ondelete="cascade")
    last_assignment_dt = fields.Datetime("Last Assignment", readonly=True)

    _sql_constraints = [("user_unique", "UNIQUE(user_id)", "An operator has one routing status.")]

    def init(self):
        # operators of channels that exist at install time
        self.env.cr.execute(
            SQL(
                """INSERT INTO %s (user_id) SELECT DISTINCT user_id FROM im_livechat_channel_im_user
                   ON CONFLICT (user_id) DO NOTHING""",
                SQL.identifier(self._table),
            )
        )
