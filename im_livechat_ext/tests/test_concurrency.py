from contextlib import closing

import psycopg2.errors

from odoo import SUPERUSER_ID, Command, api, sql_db
from odoo.service.model import _as_validation_error
from odoo.tests import tagged
from odoo.tests.common import BaseCase, get_db_name
from odoo.tools import mute_logger

from ..models import im_livechat_operator_status as operator_claim
from .common import CommittedData


@tagged("post_install", "-at_install")
# Real commits on purpose: two independent transactions, cleaned up after.
class TestLastFreeSlot(CommittedData, BaseCase):
    """Two visitors at the same instant, in two real transactions both in
    flight, never share an operator's last free slot, nor queue behind each
    other on one operator."""

    def setUp(self):
        super().setUp()
        self._commit_data(self._two_operators_of_one_slot)

    def _two_operators_of_one_slot(self, env):
        """A French and a German operator of a channel limited to one chat each."""
        for code in ("fr_FR", "de_DE"):
            env["res.lang"]._activate_lang(code)
        users = env["res.users"].with_context(no_reset_password=True)
        groups = env.ref("base.group_user") | env.ref("im_livechat.im_livechat_group_user")
        self.french, self.german = users.create(
            [
                {
                    "name": f"Race {code}",
                    "login": f"ext_race_{code}",
                    "lang": code,
                    "groups_id": [Command.set(groups.ids)],
                }
                for code in ("fr_FR", "de_DE")
            ]
        )
        env["bus.presence"].create([{"user_id": u.id, "status": "online"} for u in (self.french, self.german)])
        self.livechat = env["im_livechat.channel"].create(
            {
                "name": "Race",
                "max_sessions_mode": "limited",
                "max_sessions": 1,
                "user_ids": [Command.set((self.french | self.german).ids)],
            }
        )
        return {"livechat": self.livechat.id, "users": (self.french | self.german).ids}

    def _give_session(self, env, lang="fr_FR"):
        livechat = self.livechat.with_env(env)
        vals = livechat._get_livechat_discuss_channel_vals("Visitor", lang=lang)
        if not vals:
            return env["res.users"]
        env["discuss.channel"].create(vals)
        return env["res.partner"].browse(vals["livechat_operator_id"]).user_ids

    def _sessions_per_operator(self):
        with closing(self._new_env().cr) as cr:
            cr.execute(
                """SELECT u.id, COUNT(*) FROM discuss_channel session
                     JOIN res_users u ON u.partner_id = session.livechat_operator_id
                    WHERE session.livechat_channel_id = %s GROUP BY u.id""",
                [self.livechat.id],
            )
            return dict(cr.fetchall())

    def test_two_visitors_in_flight_take_two_operators(self):
        """Both transactions choose before either commits: the second skips
        the operator the first is claiming, instead of waiting or failing."""
        first, second = self._new_env(), self._new_env()
        with closing(first.cr), closing(second.cr):
            self.assertEqual(self._give_session(first), self.french.with_env(first))
            # the first has not committed: the French operator is being claimed
            self.assertEqual(self._give_session(second), self.german.with_env(second))
            first.cr.commit()  # pylint: disable=invalid-commit
            second.cr.commit()  # pylint: disable=invalid-commit
        self.assertEqual(self._sessions_per_operator(), {self.french.id: 1, self.german.id: 1})

    def test_operator_taken_after_the_snapshot_is_skipped_without_a_retry(self):
        """The second transaction's snapshot predates the first's commit, so it
        sees the French operator free: claiming her fails to serialize inside a
        savepoint and it goes on with the next operator, with no request retry."""
        first, second = self._new_env(), self._new_env()
        with closing(first.cr), closing(second.cr):
            second.cr.execute("SELECT 1")  # the second transaction's snapshot starts now
            self.assertEqual(self._give_session(first), self.french.with_env(first))
            first.cr.commit()  # pylint: disable=invalid-commit
            with mute_logger("odoo.sql_db"):
                self.assertEqual(self._give_session(second), self.german.with_env(second))
            second.cr.commit()  # pylint: disable=invalid-commit
        self.assertEqual(self._sessions_per_operator(), {self.french.id: 1, self.german.id: 1})
        with closing(self._new_env().cr) as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            self.assertFalse(self.livechat.with_env(env)._get_operator(lang="fr_FR"), "both operators are full")
            self.assertFalse(self._give_session(env), "a third visitor gets nobody: no operator over the limit")

    def test_without_currtid2_an_operator_taken_after_the_snapshot_is_still_skipped(self):
        """On a PostgreSQL without currtid2 the claim falls back to failing
        to serialize inside a savepoint: slower, the same answer."""
        self.patch(operator_claim, "_CURRTID2", {get_db_name(): False})
        with closing(self._new_env().cr) as cr:
            claim = operator_claim._lock_and_stamp_sql(cr, [self.french.id], skip_locked=True)
            self.assertNotIn("currtid2", claim.code, "the claim no longer asks for currtid2")
        self.test_operator_taken_after_the_snapshot_is_skipped_without_a_retry()

    def test_operator_taken_after_the_snapshot_costs_no_second_attempt(self):
        """In a burst most visitors' snapshots predate the last chat given:
        the claim itself passes over the operator who got it, in the very
        statements an unhindered visitor costs (no failed lock to undo, no
        operator tried one by one)."""
        with closing(self._new_env().cr) as cr:
            # registry caches warm, as on a running server
            self._give_session(api.Environment(cr, SUPERUSER_ID, {}))
            cr.rollback()
        first, second = self._new_env(), self._new_env()
        with closing(first.cr), closing(second.cr):
            second.cr.execute("SELECT 1")  # the second transaction's snapshot starts now
            before = first.cr.sql_log_count
            self.assertEqual(self._give_session(first), self.french.with_env(first))
            unhindered = first.cr.sql_log_count - before
            first.cr.commit()  # pylint: disable=invalid-commit
            before = second.cr.sql_log_count
            self.assertEqual(self._give_session(second), self.german.with_env(second))
            self.assertEqual(second.cr.sql_log_count - before, unhindered)
            second.cr.commit()  # pylint: disable=invalid-commit
        self.assertEqual(self._sessions_per_operator(), {self.french.id: 1, self.german.id: 1})

    def test_operator_removed_after_the_snapshot_leaves_the_others_stamped(self):
        """Stamping several operators just given a chat (sessions created
        together): one whose status row went away after our snapshot (an
        operator deleted meanwhile) fails to serialize on their own; the
        others still get their stamp, which the 120 s buffer reads."""
        first, second = self._new_env(), self._new_env()
        with closing(first.cr), closing(second.cr):
            second.cr.execute("SELECT 1")  # the second transaction's snapshot starts now
            first.cr.execute("DELETE FROM im_livechat_operator_status WHERE user_id = %s", [self.french.id])
            first.cr.commit()  # pylint: disable=invalid-commit
            with mute_logger("odoo.sql_db"):
                operator_claim.mark_assigned(second.cr, [self.french.id, self.german.id])
            second.cr.commit()  # pylint: disable=invalid-commit
        stamps = self._status_rows()
        self.assertNotIn(self.french.id, stamps)
        self.assertTrue(stamps[self.german.id])

    def test_status_row_added_by_another_transaction_leaves_the_others_added(self):
        """Two operators without a status row: another transaction adds the
        first one's after our snapshot. Adding both fails to serialize on
        hers alone; the second still gets a row to be claimed by."""
        with closing(self._new_env().cr) as cr:
            cr.execute(
                "DELETE FROM im_livechat_operator_status WHERE user_id = ANY(%s)",
                [[self.french.id, self.german.id]],
            )
            cr.commit()  # pylint: disable=invalid-commit
        first, second = self._new_env(), self._new_env()
        with closing(first.cr), closing(second.cr):
            second.cr.execute("SELECT 1")  # the second transaction's snapshot starts now
            operator_claim.ensure_status_rows(first.cr, [self.french.id])
            first.cr.commit()  # pylint: disable=invalid-commit
            with mute_logger("odoo.sql_db"):
                operator_claim.ensure_status_rows(second.cr, [self.french.id, self.german.id])
            second.cr.commit()  # pylint: disable=invalid-commit
        self.assertEqual(set(self._status_rows()), {self.french.id, self.german.id})

    def test_a_serialization_failure_is_retried_by_odoo(self):
        """Should a request still fail to serialize, Odoo's retry of the whole
        request sees the first session and routes again."""
        first, second = self._new_env(), self._new_env()
        with closing(first.cr), closing(second.cr):
            second.cr.execute("SELECT 1")
            self.assertEqual(self._give_session(first), self.french.with_env(first))
            first.cr.commit()  # pylint: disable=invalid-commit
            # a write on the same row outside the routing's savepoint fails as in any Odoo request
            with self.assertRaises(psycopg2.errors.SerializationFailure), mute_logger("odoo.sql_db"):
                second.cr.execute(
                    "UPDATE im_livechat_operator_status SET last_assignment_dt = NULL WHERE user_id = %s",
                    [self.french.id],
                )
            second.cr.rollback()
        with closing(self._new_env().cr) as cr:
            retry = api.Environment(cr, SUPERUSER_ID, {})
            self.assertEqual(self._give_session(retry), self.german.with_env(retry))
            cr.commit()  # pylint: disable=invalid-commit

    def _set_channel(self, **values):
        with closing(self._new_env().cr) as cr:
            self.livechat.with_env(api.Environment(cr, SUPERUSER_ID, {})).write(values)
            cr.commit()  # pylint: disable=invalid-commit

    def test_nobody_turned_away_when_every_operator_is_being_claimed_unlimited(self):
        """More visitors in flight than operators, no limit: the best operator
        is shared (as stock Odoo does), nobody gets "no operator"."""
        self._set_channel(max_sessions_mode="unlimited", user_ids=[Command.set(self.french.ids)])
        first, second = self._new_env(), self._new_env()
        with closing(first.cr), closing(second.cr):
            self.assertEqual(self._give_session(first), self.french.with_env(first))
            self.assertEqual(self._give_session(second), self.french.with_env(second))
            first.cr.commit()  # pylint: disable=invalid-commit
            second.cr.commit()  # pylint: disable=invalid-commit
        self.assertEqual(self._sessions_per_operator(), {self.french.id: 2})

    def test_a_visitor_opening_the_window_claims_nobody(self):
        """The chat window asks for its operator before any session exists
        (persisted=False): that must not turn away a visitor who writes."""
        self._set_channel(user_ids=[Command.set(self.french.ids)])
        first, second = self._new_env(), self._new_env()
        with closing(first.cr), closing(second.cr):
            peek = self.livechat.with_env(first).with_context(livechat_route_without_claim=True)
            self.assertTrue(peek._get_livechat_discuss_channel_vals("Visitor", lang="fr_FR"))
            self.assertEqual(self._give_session(second), self.french.with_env(second))
            second.cr.commit()  # pylint: disable=invalid-commit
        self.assertEqual(self._sessions_per_operator(), {self.french.id: 1})

    def _second_visitor_waits_for_the_first(self, then):
        """Two visitors for the French operator's last slot(s), the second's
        snapshot taken first: it waits for the first transaction instead of
        sharing; once that one committed, `then(second_env)` goes on."""
        first, second = self._new_env(), self._new_env()
        with closing(first.cr), closing(second.cr):
            second.cr.execute("SELECT 1")  # the second transaction's snapshot starts now
            self.assertEqual(self._give_session(first), self.french.with_env(first))
            # while the first is in flight, the second waits for it (bounded here to see it)
            second.cr.execute("SAVEPOINT waiting; SET LOCAL lock_timeout = '300ms'")
            with self.assertRaises(psycopg2.errors.LockNotAvailable), mute_logger("odoo.sql_db"):
                self._give_session(second)
            second.cr.execute("ROLLBACK TO SAVEPOINT waiting; SET LOCAL lock_timeout = 0")
            second.invalidate_all()
            first.cr.commit()  # pylint: disable=invalid-commit
            then(second)

    def test_room_left_after_waiting_is_taken_without_a_retry(self):
        """Every ranked operator was being given a chat and a limit applies:
        the visitor waits for the other transaction instead of sharing, and
        as the operator still has room after that chat, takes it in the same
        request (no retry of the request by Odoo, whose back-off would hold a
        worker for up to seconds). A visitor arriving meanwhile waits for
        that claim in turn, then finds both slots taken."""
        self._set_channel(max_sessions=2, user_ids=[Command.set(self.french.ids)])

        def then(second):
            self.assertEqual(self._give_session(second), self.french.with_env(second), "her second slot")
            with closing(self._new_env().cr) as cr:
                third = api.Environment(cr, SUPERUSER_ID, {})
                cr.execute("SAVEPOINT waiting; SET LOCAL lock_timeout = '300ms'")
                with self.assertRaises(psycopg2.errors.LockNotAvailable), mute_logger("odoo.sql_db"):
                    self._give_session(third)
                cr.execute("ROLLBACK TO SAVEPOINT waiting; SET LOCAL lock_timeout = 0")
                third.invalidate_all()
                second.cr.commit()  # pylint: disable=invalid-commit
                self.assertFalse(self._give_session(third), "her two slots are taken")

        self._second_visitor_waits_for_the_first(then)
        self.assertEqual(self._sessions_per_operator(), {self.french.id: 2})

    def _claim_on_own_connection_then(self, end):
        """The second visitor takes the French operator's second slot on a
        connection of its own (she had room after the first visitor's
        chat); `end(second_env)` then ends the second transaction."""
        self._set_channel(max_sessions=2, user_ids=[Command.set(self.french.ids)])

        def then(second):
            self.assertEqual(self._give_session(second), self.french.with_env(second))
            end(second)

        self._second_visitor_waits_for_the_first(then)

    def _status_rows(self):
        """{operator id: last assignment} of the two operators' status rows, as committed."""
        with closing(self._new_env().cr) as cr:
            cr.execute(
                "SELECT user_id, last_assignment_dt FROM im_livechat_operator_status WHERE user_id = ANY(%s)",
                [[self.french.id, self.german.id]],
            )
            return dict(cr.fetchall())

    def _french_row_is_free(self):
        with closing(self._new_env().cr) as cr:
            cr.execute(
                "SELECT last_assignment_dt FROM im_livechat_operator_status WHERE user_id = %s "
                "FOR NO KEY UPDATE NOWAIT",
                [self.french.id],
            )
            return cr.fetchone()[0]

    def test_own_connection_claim_ends_with_a_rollback(self):
        """The request fails after the claim: the claim's connection rolls
        back too and the operator is free again."""

        def rollback(second):
            second.cr.rollback()
            self._french_row_is_free()

        self._claim_on_own_connection_then(rollback)
        self.assertEqual(self._sessions_per_operator(), {self.french.id: 1})
        with closing(self._new_env().cr) as cr:
            cr.execute(
                """SELECT COUNT(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                    WHERE c.relname = 'im_livechat_operator_status' AND l.pid != pg_backend_pid()"""
            )
            self.assertEqual(cr.fetchone()[0], 0, "no connection left holding a status row")

    def test_own_connection_claim_ends_when_the_cursor_is_closed(self):
        """A request that fails with an error Odoo does not retry closes its
        cursor without a commit: the claim ends with it, and the cursor goes
        back to the pool cleanly."""

        def close(second):
            second.cr.close()
            self.assertTrue(second.cr.closed)
            self._french_row_is_free()

        self._claim_on_own_connection_then(close)
        self.assertEqual(self._sessions_per_operator(), {self.french.id: 1})

    def test_second_routing_in_the_same_transaction_does_not_wait_on_its_own_claim(self):
        """A transaction that claimed an operator on a connection of its own
        never waits for that operator's row again (it would wait for itself)."""

        def route_again(second):
            second.cr.execute("SAVEPOINT bounded; SET LOCAL lock_timeout = '2s'")  # a regression fails, never hangs
            self.assertFalse(self._give_session(second), "her row is ours already: nobody, at once")
            second.cr.commit()  # pylint: disable=invalid-commit

        self._claim_on_own_connection_then(route_again)
        self.assertEqual(self._sessions_per_operator(), {self.french.id: 2})

    def _nobody_at_once(self, env):
        """Answered in this very transaction: no retry, no wait for Odoo's
        back-off (which would hold a worker up to seconds in a burst)."""
        self.assertFalse(self._give_session(env), "the last slot went to the first visitor")
        env.cr.commit()  # pylint: disable=invalid-commit

    def test_last_slot_taken_while_waiting_answers_without_a_retry(self):
        """The end of a burst: the visitor waited for the transaction taking
        the operator's last slot. Seen from a new snapshot she is full, so
        the visitor hears "nobody" at once instead of a retry of the request."""
        self._set_channel(user_ids=[Command.set(self.french.ids)])  # max_sessions 1
        self._second_visitor_waits_for_the_first(then=self._nobody_at_once)
        self.assertEqual(self._sessions_per_operator(), {self.french.id: 1})

    def test_operator_gone_while_waiting_is_not_given_the_chat(self):
        """The visitor waited for the transaction giving the French operator
        a chat; meanwhile she went offline. The ranking on the new snapshot
        reads who is present again: she still has room, but nobody gets
        her chat."""
        self._set_channel(max_sessions=2, user_ids=[Command.set(self.french.ids)])

        def then(second):
            with closing(self._new_env().cr) as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                env["bus.presence"].search([("user_id", "=", self.french.id)]).status = "offline"
                cr.commit()  # pylint: disable=invalid-commit
            self._nobody_at_once(second)

        self._second_visitor_waits_for_the_first(then)
        self.assertEqual(self._sessions_per_operator(), {self.french.id: 1})

    def test_operator_who_left_while_waiting_is_not_given_the_chat(self):
        """As above, but she left the channel (Leave) while the visitor waited."""
        self._set_channel(max_sessions=2, user_ids=[Command.set(self.french.ids)])

        def then(second):
            self._set_channel(user_ids=[Command.clear()])
            self._nobody_at_once(second)

        self._second_visitor_waits_for_the_first(then)
        self.assertEqual(self._sessions_per_operator(), {self.french.id: 1})

    def test_own_limit_is_protected_in_an_unlimited_channel(self):
        """F19: the channel sets no limit but the operator has one of her own:
        a second visitor in flight waits for her instead of sharing her last
        slot, then finds her full."""
        self._set_channel(max_sessions_mode="unlimited", user_ids=[Command.set(self.french.ids)])
        with closing(self._new_env().cr) as cr:
            self.french.with_env(api.Environment(cr, SUPERUSER_ID, {})).livechat_max_sessions = 1
            cr.commit()  # pylint: disable=invalid-commit
        self._second_visitor_waits_for_the_first(then=self._nobody_at_once)
        self.assertEqual(self._sessions_per_operator(), {self.french.id: 1})

    def test_unlimited_channel_spreads_a_burst(self):
        """Without a limit, simultaneous visitors still take different operators
        rather than queueing on the same one."""
        with closing(self._new_env().cr) as cr:
            self.livechat.with_env(api.Environment(cr, SUPERUSER_ID, {})).max_sessions_mode = "unlimited"
            cr.commit()  # pylint: disable=invalid-commit
        first, second = self._new_env(), self._new_env()
        with closing(first.cr), closing(second.cr):
            chosen = {self._give_session(first, lang=None).id, self._give_session(second, lang=None).id}
            first.cr.commit()  # pylint: disable=invalid-commit
            second.cr.commit()  # pylint: disable=invalid-commit
        self.assertEqual(chosen, {self.french.id, self.german.id})


@tagged("post_install", "-at_install")
class TestExpertiseNameRace(BaseCase):
    """Two managers create the same name at the same moment: the database
    keeps one, and the other gets the clear message."""

    def _new_env(self):
        return api.Environment(sql_db.db_connect(get_db_name()).cursor(), SUPERUSER_ID, {})

    def tearDown(self):
        with closing(self._new_env().cr) as cr:
            cr.execute("DELETE FROM im_livechat_expertise WHERE lower(name->>'en_US') = 'racing'")
            cr.commit()  # pylint: disable=invalid-commit
        super().tearDown()

    def test_same_name_created_at_the_same_moment(self):
        first, second = self._new_env(), self._new_env()
        with closing(first.cr), closing(second.cr):
            second.cr.execute("SELECT 1")  # the second transaction's snapshot starts before the first commits
            first["im_livechat.expertise"].create({"name": "Racing"})
            first.cr.commit()  # pylint: disable=invalid-commit
            # the second does not see the first name: its own check passes, the database refuses
            with self.assertRaises(psycopg2.IntegrityError) as refused, mute_logger("odoo.sql_db"):
                second["im_livechat.expertise"].create({"name": " racing"})
            second.cr.rollback()
            error = _as_validation_error(second, refused.exception)
            self.assertIn("An expertise with this name already exists", str(error))
        with closing(self._new_env().cr) as cr:
            cr.execute("SELECT count(*) FROM im_livechat_expertise WHERE lower(name->>'en_US') = 'racing'")
            self.assertEqual(cr.fetchone()[0], 1)
