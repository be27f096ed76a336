import json
from contextlib import closing
from datetime import timedelta

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from ..tools import waiting_line
from .common import CommittedData, LivechatRoutingCase, ongoing_chat, rpc_error


@tagged("post_install", "-at_install")
class TestWaitingLine(LivechatRoutingCase):
    """F16/F17: when every present operator is full, visitors wait in line and
    are served oldest first as slots free up."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.livechat.write({"max_sessions_mode": "limited", "max_sessions": 1, "waiting_line": True})

    def _visitor(self, name="Visitor", lang=None):
        vals = self.livechat.with_context(livechat_visitor_lang=lang)._get_livechat_discuss_channel_vals(name)
        return self.env["discuss.channel"].create(vals) if vals else self.env["discuss.channel"]

    def _line_text(self, session):
        return session.livechat_waiting_message_id.body

    def _wait_since(self, session, seconds_ago):
        session.livechat_waiting_since = fields.Datetime.now() - timedelta(seconds=seconds_ago)

    def test_full_team_visitor_waits_and_sees_place(self):
        operator = self._operator("Busy")
        chat = self._chat(operator)
        first = self._visitor("Anna")
        second = self._visitor("Bruno")
        self.assertTrue(first.livechat_waiting_since)
        self.assertEqual(first.livechat_operator_id, self.env.ref("base.partner_root"), "OdooBot holds the session")
        self.assertEqual((first.livechat_queue_position, second.livechat_queue_position), (1, 2))
        self.assertIn("number 1 in line", self._line_text(first))
        self.assertIn("number 2 in line", self._line_text(second))
        self.assertEqual(self.livechat.waiting_count, 2)
        self.assertTrue(self.livechat.get_livechat_info()["available"], "the chat stays offered")
        self.assertFalse(self.livechat.available_operator_ids, "but nobody can take a chat now")
        # the operator's chat closes: Anna (oldest) gets the operator, Bruno moves up
        chat._close_livechat_session()
        self.assertFalse(first.livechat_waiting_since)
        self.assertEqual(first.livechat_operator_id, operator.partner_id)
        self.assertIn(operator.partner_id, first.channel_member_ids.partner_id)
        self.assertIn("has joined", first.message_ids[:1].body + "".join(first.message_ids.mapped("body")))
        self.assertIn("waited", first.livechat_routing_reason)
        self.assertEqual(second.livechat_queue_position, 1)
        self.assertIn("number 1 in line", self._line_text(second))

    def test_nobody_present_means_no_session(self):
        operator = self._operator("Away", status="away")
        self.assertTrue(operator)
        self.assertFalse(self._visitor(), "nobody present: stock behaviour, no session")
        self.assertFalse(self.livechat.get_livechat_info()["available"])

    def test_line_off_turns_visitor_away_as_stock(self):
        self.livechat.waiting_line = False
        self._chat(self._operator("Busy"))
        self.assertFalse(self._visitor())

    def test_visitor_who_leaves_is_out_of_line(self):
        self._chat(self._operator("Busy"))
        first, second = self._visitor("Anna"), self._visitor("Bruno")
        first._close_livechat_session()
        self.assertFalse(first.livechat_waiting_since)
        self.assertEqual(first.livechat_queue_position, 0)
        self.assertEqual(second.livechat_queue_position, 1)

    def test_every_way_a_slot_frees_serves_the_line(self):
        operator = self._operator("Busy")
        chat = self._chat(operator)
        waiting = self._visitor()
        self.livechat.max_sessions = 2  # the limit is raised
        self.assertEqual(waiting.livechat_operator_id, operator.partner_id)
        first_served = waiting
        # an operator joins the channel
        self.livechat.max_sessions = 1
        waiting = self._visitor()
        colleague = self._operator("Newcomer", join=False)
        self.livechat.user_ids = [Command.link(colleague.id)]
        self.assertEqual(waiting.livechat_operator_id, colleague.partner_id)
        # an operator leaves their sessions
        waiting = self._visitor()
        self.assertTrue(waiting.livechat_waiting_since)
        (chat | first_served).channel_member_ids.filtered(lambda m: m.partner_id == operator.partner_id).unlink()
        self.assertEqual(waiting.livechat_operator_id, operator.partner_id)
        # a session idle past the ongoing window: the scheduled action serves
        waiting = self._visitor()
        past = fields.Datetime.now() - timedelta(hours=1)
        self.env.cr.execute(
            "UPDATE discuss_channel SET create_date = %s, last_interest_dt = %s WHERE livechat_operator_id = %s",
            [past, past, colleague.partner_id.id],
        )
        self.env["discuss.channel"].invalidate_model()
        self.env.ref("im_livechat_ext.ir_cron_dispatch_waiting_visitors").method_direct_trigger()
        self.assertEqual(waiting.livechat_operator_id, colleague.partner_id)

    def test_operator_coming_online_serves_the_line(self):
        self._chat(self._operator("Busy"))
        waiting = self._visitor()
        late = self._operator("Late", status="away")
        self.assertTrue(waiting.livechat_waiting_since)
        cron = self.env.ref("im_livechat_ext.ir_cron_dispatch_waiting_visitors")
        self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]).unlink()
        self.env["bus.presence"].search([("user_id", "=", late.id)]).status = "online"
        self.assertTrue(waiting.livechat_waiting_since, "a presence update never serves inline")
        self.assertTrue(
            self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]), "the line is served in its own transaction"
        )
        cron.method_direct_trigger()
        self.assertEqual(waiting.livechat_operator_id, late.partner_id)

    def test_long_wait_still_counts_against_the_limit(self):
        """Visitors who waited longer than the ongoing window: each served
        one counts at once, so one freed slot serves one visitor only."""
        operator = self._operator("Busy")
        chat = self._chat(operator)
        waiting = self._visitor("Anna") | self._visitor("Bruno") | self._visitor("Carla")
        past = fields.Datetime.now() - timedelta(minutes=40)
        self.env.cr.execute(
            "UPDATE discuss_channel SET create_date = %s, last_interest_dt = %s, livechat_waiting_since = %s"
            " WHERE id = ANY(%s)",
            [past, past, past, waiting.ids],
        )
        self.env.invalidate_all()
        chat._close_livechat_session()
        served = waiting.filtered(lambda session: not session.livechat_waiting_since)
        self.assertEqual(len(served), 1, "one slot, one visitor")
        self.assertEqual(waiting[1:].mapped("livechat_queue_position"), [1, 2])

    def test_line_turned_off_still_serves_those_in_it(self):
        operator = self._operator("Busy")
        chat = self._chat(operator)
        waiting = self._visitor("Anna")
        self.livechat.waiting_line = False
        self.assertFalse(self._visitor("Bruno"), "no line any more: newcomers are turned away, as stock")
        chat._close_livechat_session()
        self.assertEqual(waiting.livechat_operator_id, operator.partner_id, "Anna is not stranded")

    def test_newcomer_does_not_overtake_the_line(self):
        operator = self._operator("Busy")
        self._chat(operator)
        first = self._visitor("Anna")
        # a slot frees without anybody acting (the chat went idle): Bruno arrives
        self.env.cr.execute(
            "UPDATE discuss_channel SET livechat_active = FALSE WHERE livechat_operator_id = %s",
            [operator.partner_id.id],
        )
        self.env.invalidate_all()
        second = self._visitor("Bruno")
        self.assertTrue(second.livechat_waiting_since, "Bruno waits behind Anna")
        self.livechat._dispatch_waiting_visitors()
        self.assertEqual(first.livechat_operator_id, operator.partner_id)
        self.assertEqual(second.livechat_queue_position, 1)

    def test_free_expert_is_not_waited_for(self):
        """F17 holds a visitor only while no expert can take the chat."""
        self.livechat.write({"expert_wait_time": 600, "max_sessions": 2})
        expert = self._operator("Expert", lang="en_US", expertises=self.billing)
        spanish = self._operator("Teo", lang="es_ES")
        self._chat(expert)
        self._chat(spanish)
        self.assertFalse(self.livechat._waits_for_expert(self.billing), "the expert can take one more chat")
        self._chat(expert)
        self.assertTrue(self.livechat._waits_for_expert(self.billing), "the expert is full: wait for them")

    def test_served_with_own_language(self):
        french = self._operator("Claire", lang="fr_FR")
        german = self._operator("Hans", lang="de_DE")
        chats = self._chat(french) | self._chat(german)
        visitor = self._visitor("Amélie", lang="fr_FR")
        self.assertEqual(visitor.livechat_lang_id.code, "fr_FR")
        # both slots free at once (the chats went idle), then the line is served
        chats.write({"livechat_active": False})
        self.livechat._dispatch_waiting_visitors()
        self.assertEqual(visitor.livechat_operator_id, french.partner_id, "the French speaker, by the rules")

    def test_expert_wait_does_not_block_those_behind(self):
        self.livechat.expert_wait_time = 600
        expert = self._operator("Expert", expertises=self.billing)
        other = self._operator("Other")
        self._chat(expert)
        other_chat = self._chat(other)
        asks_billing = self._visitor("Anna")
        asks_billing.livechat_expertise_ids = self.billing
        plain = self._visitor("Bruno")
        self._wait_since(asks_billing, 30)
        self._wait_since(plain, 20)
        other_chat._close_livechat_session()
        self.assertTrue(asks_billing.livechat_waiting_since, "Anna waits for the expert")
        self.assertEqual(plain.livechat_operator_id, other.partner_id, "Bruno behind her is served")
        self.assertEqual(asks_billing.livechat_queue_position, 1)
        # past the expert wait, the usual tiers apply
        self._chat(other).unlink()
        self.env.invalidate_all()
        self._wait_since(asks_billing, 601)
        plain._close_livechat_session()
        self.assertEqual(asks_billing.livechat_operator_id, other.partner_id)
        self.assertIn("waited 6", asks_billing.livechat_routing_reason)

    def test_places_and_estimates_cost_fixed_queries(self):
        operator = self._operator("Busy")
        self._chat(operator)
        # a history: three finished sessions of 10 minutes each
        for _i in range(3):
            done = self._chat(operator, active=False, age=timedelta(hours=2))
            done.message_post(body="Thanks", message_type="comment")
            self.env.cr.execute(
                "UPDATE mail_message SET date = %s WHERE res_id = %s AND model = 'discuss.channel'",
                [fields.Datetime.now() - timedelta(hours=2) + timedelta(minutes=10), done.id],
            )
        counts = []
        for size in (5, 25):
            while self.livechat.waiting_count < size:
                self._visitor()
                self.livechat.invalidate_recordset(["waiting_count"])
            sessions = self.env["discuss.channel"].search([("livechat_waiting_since", "!=", False)])
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            sessions.mapped("livechat_expected_wait")
            compute = self.env.cr.sql_log_count - before
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            self.env["discuss.channel"].sudo()._notify_waiting_line(self.livechat)
            notify = self.env.cr.sql_log_count - before
            counts.append((compute, notify))
        self.assertEqual(counts[0], counts[1], "the same queries for 5 and 25 waiting")
        # 2,000 waiting (copies of the last one, each with its own line message):
        # telling every one of them their place and wait costs the same queries
        self.env.flush_all()
        model_cols = "name, channel_type, livechat_channel_id, livechat_operator_id, livechat_active, create_date"
        self.env.cr.execute(
            f"""WITH copies AS (
                    INSERT INTO discuss_channel ({model_cols}, livechat_waiting_since, last_interest_dt)
                    SELECT {model_cols}, livechat_waiting_since + make_interval(secs => n), last_interest_dt
                      FROM discuss_channel, generate_series(1, 1975) AS n
                     WHERE id = %s
                    RETURNING id
                )
                INSERT INTO mail_message (model, res_id, body, message_type, author_id, date)
                SELECT 'discuss.channel', id, 'old', 'notification', %s, now() FROM copies""",
            [sessions[-1].id, self.env.ref("base.partner_root").id],
        )
        # a statement of its own: rows inserted above are not visible inside it
        self.env.cr.execute(
            """UPDATE discuss_channel SET livechat_waiting_message_id = message.id
                 FROM mail_message message
                WHERE message.model = 'discuss.channel' AND message.res_id = discuss_channel.id
                  AND message.body = 'old'"""
        )
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        self.env["discuss.channel"].sudo()._notify_waiting_line(self.livechat)
        self.assertEqual(self.env.cr.sql_log_count - before, counts[0][1], "the same queries for 2,000 waiting")
        self.assertEqual(self.livechat.waiting_count, 2000)
        self.env.cr.execute("SELECT count(*) FROM mail_message WHERE body = 'old'")
        self.assertEqual(
            self.env.cr.fetchone()[0], 1975, "behind the first 20 nothing is rewritten: their text does not move"
        )
        last = sessions.sorted("livechat_queue_position")[-1]
        # 10 minutes each, 1 operator present holding 1 chat: 25th in line waits 250 minutes
        self.assertEqual(last.livechat_queue_position, 25)
        self.assertEqual(last.livechat_expected_wait, 25 * 600)
        self.assertIn("behind at least 20 visitors", self._line_text(last))
        twentieth = sessions.filtered(lambda session: session.livechat_queue_position == 20)
        self.assertIn("number 20 in line, about 200 minutes", self._line_text(twentieth))

    def test_expected_wait_rules(self):
        self.assertEqual(waiting_line.expected_wait_seconds(3, 600, 2, 1), 900)
        self.assertEqual(waiting_line.expected_wait_seconds(3, 600, 2, 3), 300)
        self.assertEqual(waiting_line.expected_wait_seconds(1, 0, 2, 1), 0, "no history: unknown")
        self.assertEqual(waiting_line.expected_wait_seconds(0, 600, 2, 1), 0, "not waiting")
        self.assertEqual(waiting_line.expected_wait_seconds(1, 600, 0, 1), 0, "nobody present")


@tagged("post_install", "-at_install")
class TestWaitingLineConcurrency(CommittedData, LivechatRoutingCase):
    """Two workers dispatching at once, both transactions in flight: nobody
    served twice, never two operators for one visitor, no limit exceeded."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.livechat.write({"max_sessions_mode": "limited", "max_sessions": 1, "waiting_line": True})

    def setUp(self):
        super().setUp()
        self.ids = self._commit_data(self._line_of_three)

    def _line_of_three(self, env):
        """Two operators whose chats just ended (two slots free at once) and
        three visitors in line, committed as two real workers would see it."""
        livechat = env["im_livechat.channel"].create(
            {"name": "Line", "max_sessions_mode": "limited", "max_sessions": 1, "waiting_line": True}
        )
        users = []
        for name in ("Uno", "Dos"):
            user = new_test_user(env, login=f"ext_line_{name.lower()}", name=name, groups="base.group_user")
            env["bus.presence"].create({"user_id": user.id, "status": "online"})
            users.append(user)
        livechat.user_ids = [Command.set([u.id for u in users])]
        chats = env["discuss.channel"]
        for user in users:
            chats |= ongoing_chat(env, livechat, user)
        waiting = env["discuss.channel"]
        for name in ("Anna", "Bruno", "Carla"):
            waiting |= env["discuss.channel"].create(livechat._get_livechat_discuss_channel_vals(name))
        env.cr.execute("UPDATE discuss_channel SET livechat_active = FALSE WHERE id = ANY(%s)", [chats.ids])
        return {"livechat": livechat.id, "users": [u.id for u in users], "waiting": waiting.ids}

    def test_two_workers_dispatch_at_once(self):
        first, second = self.registry.cursor(), self.registry.cursor()
        with closing(first), closing(second):
            served_first = (
                api.Environment(first, SUPERUSER_ID, {})["im_livechat.channel"]
                .browse(self.ids["livechat"])
                ._dispatch_waiting_visitors()
            )
            # the first has not committed: the second skips what it is serving
            served_second = (
                api.Environment(second, SUPERUSER_ID, {})["im_livechat.channel"]
                .browse(self.ids["livechat"])
                ._dispatch_waiting_visitors()
            )
            first.commit()  # pylint: disable=invalid-commit
            second.commit()  # pylint: disable=invalid-commit
        self.assertEqual((served_first, served_second), (2, 0), "two slots, two visitors served, once")
        self._assert_served_once()

    def test_worker_with_an_older_snapshot_serves_nobody_twice(self):
        first, second = self.registry.cursor(), self.registry.cursor()
        with closing(first), closing(second):
            second.execute("SELECT 1")  # the second's snapshot predates the first's commit
            served_first = (
                api.Environment(first, SUPERUSER_ID, {})["im_livechat.channel"]
                .browse(self.ids["livechat"])
                ._dispatch_waiting_visitors()
            )
            first.commit()  # pylint: disable=invalid-commit
            served_second = (
                api.Environment(second, SUPERUSER_ID, {})["im_livechat.channel"]
                .browse(self.ids["livechat"])
                ._dispatch_waiting_visitors()
            )
            second.commit()  # pylint: disable=invalid-commit
        self.assertEqual((served_first, served_second), (2, 0))
        self._assert_served_once()

    def _assert_served_once(self):
        with closing(self._new_env().cr) as cr:
            self._assert_served_once_on(cr)

    def _assert_served_once_on(self, cr):
        cr.execute(
            """SELECT session.id, session.livechat_waiting_since IS NULL,
                      (SELECT COUNT(*) FROM discuss_channel_member m
                        JOIN res_users u ON u.partner_id = m.partner_id
                       WHERE m.channel_id = session.id AND u.id = ANY(%s))
                 FROM discuss_channel session WHERE session.id = ANY(%s) ORDER BY session.id""",
            [self.ids["users"], self.ids["waiting"]],
        )
        rows = cr.fetchall()
        self.assertEqual([served for _id, served, _ops in rows], [True, True, False], "oldest first")
        self.assertEqual([ops for _id, _served, ops in rows], [1, 1, 0], "never two operators for one visitor")
        cr.execute(
            """SELECT m.partner_id, COUNT(*) FROM discuss_channel_member m
                 JOIN discuss_channel c ON c.id = m.channel_id AND c.livechat_active
                 JOIN res_users u ON u.partner_id = m.partner_id AND u.id = ANY(%s)
                GROUP BY m.partner_id""",
            [self.ids["users"]],
        )
        self.assertEqual(sorted(count for _p, count in cr.fetchall()), [1, 1], "no limit exceeded")


@tagged("post_install", "-at_install")
class TestWaitingLineOverHttp(HttpCase):
    """The visitor's path: the chat is offered, the session opens in line,
    and the visitor's payload holds their place but nothing of the routing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.operator = new_test_user(
            cls.env,
            login="ext_line_http_op",
            name="Line Operator",
            groups="base.group_user,im_livechat.im_livechat_group_user",
        )
        cls.env["bus.presence"].create({"user_id": cls.operator.id, "status": "online"})
        cls.livechat = cls.env["im_livechat.channel"].create(
            {
                "name": "Line over HTTP",
                "user_ids": [Command.set(cls.operator.ids)],
                "max_sessions_mode": "limited",
                "max_sessions": 1,
                "waiting_line": True,
            }
        )
        cls.busy = ongoing_chat(cls.env, cls.livechat, cls.operator)

    def _rpc_error(self, model, method, args, kwargs=None):
        """The name of the error a JSON-RPC call_kw answers with (None: ok)."""
        return rpc_error(self, model, method, args, kwargs)

    def test_nobody_jumps_the_line_over_rpc(self):
        """readonly is not enforced on RPC: the operator of a session (a
        member) tries to put it first in line, or onto another's message,
        by values or by context defaults on create."""
        self.operator.write({"password": "line-operator-pw"})
        self.authenticate("ext_line_http_op", "line-operator-pw")
        for values in ({"livechat_waiting_since": "2000-01-01 00:00:00"}, {"livechat_waiting_message_id": 1}):
            with self.subTest(values=values):
                error = self._rpc_error("discuss.channel", "write", [[self.busy.id], values])
                self.assertEqual(error, "odoo.exceptions.AccessError")
        fake_visitor = {
            "name": "Fake visitor",
            "channel_type": "livechat",
            "livechat_channel_id": self.livechat.id,
            "livechat_operator_id": self.operator.partner_id.id,
        }
        for defaults in (
            {"default_livechat_waiting_since": "2000-01-01 00:00:00"},
            {"default_livechat_waiting_message_id": 1},
        ):
            with self.subTest(defaults=defaults):
                error = self._rpc_error("discuss.channel", "create", [fake_visitor], {"context": defaults})
                self.assertEqual(error, "odoo.exceptions.AccessError")
        self.assertFalse(self.env["discuss.channel"].search([("name", "=", "Fake visitor")]))
        self.busy.invalidate_recordset()
        self.assertFalse(self.busy.livechat_waiting_since)
        self.assertEqual(self.busy.livechat_queue_position, 0)

    def test_operators_read_the_line_not_the_sessions(self):
        """Any Live Chat user reads who waits (Live Chat > Waiting Line), but
        not a waiting session itself nor its messages."""
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session", {"anonymous_name": "Secretive", "channel_id": self.livechat.id}
        )
        session = self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])
        session.message_post(body="my card is 4111 1111", message_type="comment")
        new_test_user(
            self.env,
            login="ext_line_reader",
            password="ext-line-reader-pw",
            groups="base.group_user,im_livechat.im_livechat_group_user",
        )
        self.authenticate("ext_line_reader", "ext-line-reader-pw")
        lines = self.make_jsonrpc_request(
            "/web/dataset/call_kw/im_livechat.waiting.line/search_read",
            {
                "model": "im_livechat.waiting.line",
                "method": "search_read",
                "args": [[]],
                "kwargs": {"fields": ["visitor_name", "place", "channel_id", "expected_wait"]},
            },
        )
        self.assertEqual([(line["visitor_name"], line["place"]) for line in lines], [(session.name, 1)])
        # any other session's id gives nothing through the view
        self.busy.livechat_expertise_ids = self.env["im_livechat.expertise"].create({"name": "Secret subject"})
        other = self.make_jsonrpc_request(
            "/web/dataset/call_kw/im_livechat.waiting.line/read",
            {
                "model": "im_livechat.waiting.line",
                "method": "read",
                "args": [[self.busy.id], ["expertise_ids", "expected_wait"]],
                "kwargs": {},
            },
        )
        self.assertFalse(other and other[0]["expertise_ids"], other)
        self.assertEqual(
            self._rpc_error("discuss.channel", "read", [[session.id], ["name"]]), "odoo.exceptions.AccessError"
        )
        with mute_logger("odoo.http"):
            response = self.url_open(
                "/discuss/channel/messages",
                data=json.dumps({"jsonrpc": "2.0", "method": "call", "params": {"channel_id": session.id}}),
                headers={"Content-Type": "application/json"},
            )
        self.assertNotIn("4111", response.text)

    def test_visitor_waits_in_line_over_http(self):
        init = self.make_jsonrpc_request("/im_livechat/init", {"channel_id": self.livechat.id})
        self.assertTrue(init["available_for_me"], "the chat button stays offered")
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session",
            {"anonymous_name": "Visitor", "channel_id": self.livechat.id, "persisted": True},
        )
        session = self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])
        self.assertTrue(session.livechat_waiting_since)
        self.assertEqual(session.livechat_queue_position, 1)
        payload = str(data)
        self.assertNotIn("routing_reason", payload)
        self.assertNotIn("queue_position", payload, "no field of the line is sent, only the visitor's message")
        history = self.make_jsonrpc_request("/discuss/channel/messages", {"channel_id": session.id})
        bodies = " ".join(str(m.get("body")) for m in history["data"]["mail.message"])
        self.assertIn("You are number 1 in line", bodies)
        # the operator's chat ends: the visitor's line message becomes "... has joined"
        self.busy._close_livechat_session()
        self.assertEqual(session.livechat_operator_id, self.operator.partner_id)
        history = self.make_jsonrpc_request("/discuss/channel/messages", {"channel_id": session.id})
        bodies = " ".join(str(m.get("body")) for m in history["data"]["mail.message"])
        self.assertIn("Line Operator has joined", bodies)
        self.assertNotIn("in line", bodies)
