from datetime import timedelta
from functools import partial

from odoo import Command, fields
from odoo.tests import BaseCase, HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.bus.tests.common import WebsocketCase

from ..tools import visitor_address, waiting_line
from .common import call_as, ongoing_chat, visitor_session


@tagged("post_install", "-at_install")
class TestLineEdgesOverHttp(HttpCase):
    """The edges of the waiting line, attacked over real HTTP: a flood of
    anonymous visitors, saved defaults, a deleted channel, colleagues made
    to look full, transfers to nobody's operator, bad channel ids."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"].with_context(active_test=False).search([("code", "=", "fr_FR")]).active = True
        cls.operator = new_test_user(
            cls.env,
            login="edge_operator",
            password="edge_operator",
            name="Edge Operator",
            groups="base.group_user,im_livechat.im_livechat_group_user",
        )
        cls.colleague = new_test_user(
            cls.env,
            login="edge_colleague",
            password="edge_colleague",
            name="Edge Colleague",
            groups="base.group_user,im_livechat.im_livechat_group_user",
        )
        cls.employee = new_test_user(cls.env, login="edge_employee", password="edge_employee", groups="base.group_user")
        cls.manager = new_test_user(
            cls.env,
            login="edge_manager",
            password="edge_manager",
            groups="base.group_user,im_livechat.im_livechat_group_manager",
        )
        for user in (cls.operator, cls.colleague):
            cls.env["bus.presence"].create({"user_id": user.id, "status": "online"})
        cls.livechat = cls.env["im_livechat.channel"].create(
            {
                "name": "Edges",
                "user_ids": [Command.set(cls.operator.ids)],
                "max_sessions_mode": "limited",
                "max_sessions": 1,
                "waiting_line": True,
                "max_waiting": 100,
                "max_waiting_per_address": 3,
            }
        )
        cls.busy = ongoing_chat(cls.env, cls.livechat, cls.operator)

    def _visitor_asks(self, new_browser=True, headers=None, **params):
        """A visitor's get_session (a new browser: no cookie): the session, or False."""
        if new_browser:
            self.opener.cookies.clear()
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session",
            {"anonymous_name": "Flood", "channel_id": self.livechat.id, **params},
            headers=headers,
        )
        return data and self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])

    def _visitor_writes(self, session, body):
        """The visitor (the session's guest) posts, as stock's route does."""
        guest = session.channel_member_ids.guest_id
        public = self.env.ref("base.public_user")
        session.with_user(public).with_context(guest=guest).sudo().message_post(body=body, message_type="comment")

    def _call(self, user, model, method, args, kwargs=None):
        return call_as(self, user, model, method, args, kwargs)

    def _waiting(self):
        self.env.invalidate_all()
        return self.env["discuss.channel"].search(
            [("livechat_channel_id", "=", self.livechat.id), ("livechat_waiting_since", "!=", False)]
        )

    # ------------------------------------------------------------------
    # 1. Flooding
    # ------------------------------------------------------------------
    def test_one_address_holds_at_most_its_share_of_the_line(self):
        """Cookie-less requests from one address: the fourth is answered as
        stock answers when nobody is available, and takes no place."""
        sessions = [self._visitor_asks() for _i in range(5)]
        self.assertTrue(all(sessions[:3]), "three visitors from one address wait")
        self.assertEqual(sessions[3:], [False, False], "the next ones from that address get stock's answer")
        self.assertEqual(len(self._waiting()), 3)
        self.assertEqual(sorted(self._waiting().mapped("livechat_queue_position")), [1, 2, 3])

    def test_one_visitor_holds_one_place(self):
        """The same browser (its guest cookie) asking again gets no second place."""
        first = self._visitor_asks()
        self.assertTrue(first.livechat_waiting_since)
        self.assertFalse(self._visitor_asks(new_browser=False), "a second place for the same guest")
        self.assertEqual(self._waiting(), first)

    def test_the_line_has_a_length(self):
        self.livechat.write({"max_waiting": 2, "max_waiting_per_address": 0})
        sessions = [self._visitor_asks() for _i in range(3)]
        self.assertTrue(all(sessions[:2]))
        self.assertFalse(sessions[2], "beyond the line's length: stock's answer")
        init = self.make_jsonrpc_request("/im_livechat/init", {"channel_id": self.livechat.id})
        self.assertFalse(init["available_for_me"], "a full line offers no chat, as with nobody available")
        self.livechat.max_waiting = 0
        self.assertTrue(self._visitor_asks(), "0 = no bound")

    def test_visitors_gone_leave_the_line_and_their_silent_session_goes(self):
        """Nobody seen for GONE_AFTER: out of the line, missed (session kept,
        told); an hour later a session where they wrote nothing is deleted
        as stock's empty ones. A visitor whose browser is connected, or who
        wrote, keeps their place."""
        gone, connected, wrote = (self._visitor_asks() for _i in range(3))
        self.env["bus.presence"].create({"guest_id": connected.channel_member_ids.guest_id.id, "status": "online"})
        past = fields.Datetime.now() - waiting_line.GONE_AFTER - timedelta(seconds=10)
        self.env.cr.execute(
            "UPDATE discuss_channel SET livechat_waiting_since = %s WHERE id IN %s",
            [past, (gone.id, connected.id, wrote.id)],
        )
        self._visitor_writes(wrote, "still here")
        self.assertEqual(wrote.message_ids[0].author_guest_id, wrote.channel_member_ids.guest_id)
        self.env.invalidate_all()
        self.livechat._dispatch_waiting_visitors()
        self.assertEqual(self._waiting(), connected | wrote)
        self.assertTrue(gone.livechat_active, "the gone visitor's session is kept")
        self.assertIn("Nobody can answer", gone.message_ids[0].body, "and tells them, should they come back")
        self.assertEqual(connected.livechat_queue_position, 1, "those behind moved up")
        # an hour later the silent session is deleted, not the others
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE discuss_channel SET write_date = %s WHERE id IN %s",
            [fields.Datetime.now() - timedelta(hours=2), (gone.id, wrote.id, connected.id)],
        )
        self.livechat._cron_dispatch_waiting_visitors()
        self.assertFalse(gone.exists(), "a line-only session is deleted after an hour")
        self.assertTrue(wrote.exists(), "a session where the visitor wrote is kept")
        self.assertTrue(connected.exists(), "a visitor still waiting is kept")

    def test_a_move_of_the_line_notifies_a_bounded_number_of_visitors(self):
        """One visitor leaving the head of a long line rewrites and sends only
        the messages of those whose text changed: the first LIVE_PLACES."""
        self.livechat.max_waiting_per_address = 0
        line = [self._visitor_asks() for _i in range(waiting_line.LIVE_PLACES + 15)]
        self.assertIn("behind at least", line[-1].message_ids[0].body, "the far end reads a text that does not move")
        self.env.flush_all()
        self.env.cr.execute("SELECT COALESCE(MAX(id), 0) FROM bus_bus")
        last_bus_id = self.env.cr.fetchone()[0]
        line[0].with_context(guest=line[0].channel_member_ids.guest_id)._close_livechat_session()
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT COUNT(*) FROM bus_bus WHERE id > %s AND message LIKE %s AND message LIKE %s",
            [last_bus_id, "%mail.record/insert%", "%in line%"],
        )
        rewrites = self.env.cr.fetchone()[0]
        self.assertLessEqual(rewrites, waiting_line.LIVE_PLACES, "one notification per place that changed, no more")
        self.assertGreaterEqual(rewrites, waiting_line.LIVE_PLACES - 1)
        self.assertIn("number 1 in line", line[1].livechat_waiting_message_id.body)

    # ------------------------------------------------------------------
    # 2. Saved defaults
    # ------------------------------------------------------------------
    def test_saved_defaults_cannot_jump_the_line(self):
        """ir.default.set is refused for every field only the routing writes;
        one saved before (inserted here as superuser) never applies."""
        refused = [
            (self.employee, "discuss.channel", "livechat_waiting_since", "2000-01-01 00:00:00"),
            (self.employee, "discuss.channel", "livechat_skipped_operator_ids", [self.colleague.partner_id.id]),
            (self.employee, "discuss.channel", "livechat_operator_id", self.colleague.partner_id.id),
            (self.employee, "discuss.channel.member", "livechat_assigned", True),
            (self.operator, "chatbot.script.step", "operator_expertise_ids", []),
            (self.operator, "im_livechat.channel", "max_sessions", 50),
            (self.operator, "im_livechat.channel", "max_waiting", 0),
            (self.operator, "res.users", "livechat_max_sessions", 3),
        ]
        for user, model, field, value in refused:
            with self.subTest(model=model, field=field):
                error, _message = self._call(user, "ir.default", "set", [model, field, value, True])
                self.assertEqual(error, "odoo.exceptions.AccessError")
        self.assertFalse(self.env["ir.default"].search([("field_id.name", "in", [f for _u, _m, f, _v in refused])]))
        error, _message = self._call(
            self.manager, "ir.default", "set", ["im_livechat.channel", "max_waiting", 40, True]
        )
        self.assertEqual(error, "ok", "a manager chooses the channels' defaults")
        # saved before this was refused: never applied, not even as superuser
        self.env["ir.default"].sudo().create(
            {
                "field_id": self.env["ir.model.fields"]._get("discuss.channel", "livechat_waiting_since").id,
                "user_id": self.employee.id,
                "json_value": '"2000-01-01 00:00:00"',
            }
        )
        self.env.registry.clear_cache()
        error, _message = self._call(
            self.employee,
            "discuss.channel",
            "create",
            [
                {
                    "name": "Jumper",
                    "channel_type": "livechat",
                    "livechat_channel_id": self.livechat.id,
                    "livechat_operator_id": self.employee.partner_id.id,
                }
            ],
        )
        self.assertEqual(error, "ok")
        jumper = self.env["discuss.channel"].search([("name", "=", "Jumper")])
        self.assertTrue(jumper)
        self.assertFalse(jumper.livechat_waiting_since, "the saved default is not applied")
        # the chat the employee opens as a website visitor (created as superuser): never applied
        session = self._visitor_asks(new_browser=False)
        self.assertNotEqual(session.livechat_waiting_since.year, 2000)

    # ------------------------------------------------------------------
    # 3. Channels that go
    # ------------------------------------------------------------------
    def test_deleting_a_channel_releases_its_waiting_visitors(self):
        session = self._visitor_asks(headers={"Accept-Language": "fr-FR,fr;q=0.9"})
        self._visitor_writes(session, "ma commande")
        self.assertEqual(session.livechat_queue_position, 1)
        error, _message = self._call(self.manager, "im_livechat.channel", "unlink", [[self.livechat.id]])
        self.assertEqual(error, "ok")
        self.env.invalidate_all()
        self.assertTrue(session.exists() and session.livechat_active, "the session is kept, open")
        self.assertFalse(session.livechat_waiting_since, "out of the line")
        self.assertEqual(session.livechat_queue_position, 0)
        bodies = " ".join(session.message_ids.mapped("body"))
        self.assertIn("Personne ne peut", bodies, "told in their language")
        self.assertIn("ma commande", bodies, "what they wrote is kept")
        self.assertNotIn("in line", bodies)
        self.assertNotIn("dans la file", bodies)

    def test_no_dead_end_when_the_maximum_wait_passes(self):
        """F22: a visitor waiting longer than the channel's maximum wait is
        missed: out of the line, told in their language, session kept; the
        one behind, within the maximum, keeps waiting."""
        self.livechat.max_wait_time = 300
        late = self._visitor_asks(headers={"Accept-Language": "fr-FR,fr;q=0.9"})
        recent = self._visitor_asks()
        for session in (late, recent):
            self.env["bus.presence"].create({"guest_id": session.channel_member_ids.guest_id.id, "status": "online"})
        self._visitor_writes(late, "j'attends")
        self.env.cr.execute(
            "UPDATE discuss_channel SET livechat_waiting_since = livechat_waiting_since - interval '301 seconds'"
            " WHERE id = %s",
            [late.id],
        )
        self.env.invalidate_all()
        self.livechat._dispatch_waiting_visitors()
        self.assertEqual(self._waiting(), recent)
        self.assertTrue(late.livechat_active, "the session is kept")
        self.assertIn("Personne ne peut", " ".join(late.message_ids.mapped("body")), "told in their language")
        self.assertIn("j'attends", " ".join(late.message_ids.mapped("body")))
        self.assertEqual(recent.livechat_queue_position, 1)

    def test_no_dead_end_when_nobody_is_present_any_more(self):
        """F22: the channel's last present operator goes away: those in line
        are missed (told, session kept) instead of waiting for ever."""
        waiting = self._visitor_asks()
        self.env["bus.presence"].create({"guest_id": waiting.channel_member_ids.guest_id.id, "status": "online"})
        self.assertTrue(waiting.livechat_waiting_since)
        self.env["bus.presence"].search([("user_id", "=", self.operator.id)]).status = "away"
        self.env.invalidate_all()
        self.livechat._dispatch_waiting_visitors()
        self.assertFalse(self._waiting())
        self.assertTrue(waiting.livechat_active)
        self.assertIn("Nobody can answer", waiting.message_ids[0].body)

    # ------------------------------------------------------------------
    # 4. Capacity counts the chats the routing gave
    # ------------------------------------------------------------------
    def test_nobody_makes_a_colleague_look_full(self):
        """An employee (or an operator) opens sessions as their operator and
        adds a colleague to each: the colleague can still take a chat."""
        self.livechat.write({"user_ids": [Command.link(self.colleague.id)], "max_sessions": 2})
        self.assertIn(self.colleague, self.livechat.available_operator_ids)
        for attacker in (self.employee, self.operator):
            for index in range(3):
                error, session_id = self._call(
                    attacker,
                    "discuss.channel",
                    "create",
                    [
                        {
                            "name": f"Fake {attacker.login} {index}",
                            "channel_type": "livechat",
                            "livechat_active": True,
                            "livechat_channel_id": self.livechat.id,
                            "livechat_operator_id": attacker.partner_id.id,
                        }
                    ],
                )
                self.assertEqual(error, "ok")
                error, _message = self._call(
                    attacker,
                    "discuss.channel",
                    "add_members",
                    [[session_id]],
                    {"partner_ids": self.colleague.partner_id.ids},
                )
                self.assertEqual(error, "ok")
                error, _message = self._call(
                    attacker,
                    "discuss.channel.member",
                    "write",
                    [
                        self.env["discuss.channel.member"]
                        .search([("channel_id", "=", session_id), ("partner_id", "=", self.colleague.partner_id.id)])
                        .ids,
                        {"livechat_assigned": True},
                    ],
                )
                self.assertEqual(error, "odoo.exceptions.AccessError", "nobody marks a chat as given")
        self.env.invalidate_all()
        self.assertIn(self.colleague, self.livechat.available_operator_ids, "the colleague is not made full")
        self.assertEqual(self.livechat._get_operator(), self.colleague)

    # ------------------------------------------------------------------
    # 5. /transfer only to operators
    # ------------------------------------------------------------------
    def test_transfer_goes_only_to_operators(self):
        billing = self.env["im_livechat.expertise"].create({"name": "Edge billing"})
        nobodys = new_test_user(
            self.env,
            login="edge_nobodys",
            name="Nobody's Operator",
            groups="base.group_user,im_livechat.im_livechat_group_user",
        )
        self.env["bus.presence"].create({"user_id": nobodys.id, "status": "online"})
        nobodys.livechat_expertise_ids = billing
        self.livechat.max_sessions_mode = "unlimited"
        session, _guest = visitor_session(self.env, self.livechat, self.operator, guest_name="Transfer me")

        def transfer():
            error, _result = self._call(
                self.operator,
                "discuss.channel",
                "execute_command_transfer",
                [[session.id]],
                {"body": "/transfer Edge billing"},
            )
            self.assertEqual(error, "ok")
            self.env.invalidate_all()

        transfer()
        self.assertEqual(session.livechat_operator_id, self.operator.partner_id, "nobody's operator gets nothing")
        # an operator of another channel may take it
        self.env["im_livechat.channel"].create({"name": "Other edge", "user_ids": [Command.set(nobodys.ids)]})
        transfer()
        self.assertEqual(session.livechat_operator_id, nobodys.partner_id)

    def test_only_operators_transfer_chats_with_a_visitor(self):
        """A plain employee opens a chat naming themselves its operator and
        transfers it, to make an expert look busy: refused; so is an
        operator's transfer of a chat nobody visits."""
        billing = self.env["im_livechat.expertise"].create(
            {"name": "Edge transfer", "user_ids": [Command.set(self.colleague.ids)]}
        )
        self.livechat.write({"user_ids": [Command.link(self.colleague.id)], "max_sessions_mode": "unlimited"})
        for attacker in (self.employee, self.operator):
            error, session_id = self._call(
                attacker,
                "discuss.channel",
                "create",
                [
                    {
                        "name": f"Empty {attacker.login}",
                        "channel_type": "livechat",
                        "livechat_active": True,
                        "livechat_channel_id": self.livechat.id,
                        "livechat_operator_id": attacker.partner_id.id,
                        "channel_member_ids": [Command.create({"partner_id": attacker.partner_id.id})],
                    }
                ],
            )
            self.assertEqual(error, "ok")
            error, _message = self._call(
                attacker,
                "discuss.channel",
                "execute_command_transfer",
                [[session_id]],
                {"body": "/transfer Edge transfer"},
            )
            self.assertEqual(error, "odoo.exceptions.AccessError")
            self.assertEqual(self.env["discuss.channel"].browse(session_id).livechat_operator_id, attacker.partner_id)
        self.assertTrue(billing.user_ids)

    def test_an_administrator_s_default_for_everybody_blocks_nobody(self):
        """A default saved for everybody is an administrator's choice, not the
        operator's: an operator still creates a channel."""
        self.env["ir.default"].set("im_livechat.channel", "max_waiting", 5)
        error, _message = self._call(self.operator, "im_livechat.channel", "create", [{"name": "Plain edge"}])
        self.assertEqual(error, "ok")
        self.assertEqual(self.env["im_livechat.channel"].search([("name", "=", "Plain edge")]).max_waiting, 5)

    # ------------------------------------------------------------------
    # 6. Bad channel ids
    # ------------------------------------------------------------------
    def test_bad_channel_ids_answer_as_stock(self):
        for channel_id in (0, None):
            with self.subTest(channel_id=channel_id), self.assertNoLogs("odoo", "WARNING"):
                self.assertFalse(self._visitor_asks(channel_id=channel_id))

    @mute_logger("odoo.http")
    def test_new_bounds_are_managers_settings(self):
        for field, value in (("max_waiting", 0), ("max_waiting_per_address", 500), ("max_wait_time", 60)):
            with self.subTest(field=field):
                error, _message = self._call(
                    self.operator, "im_livechat.channel", "write", [[self.livechat.id], {field: value}]
                )
                self.assertEqual(error, "odoo.exceptions.AccessError")
                error, _message = self._call(
                    self.operator,
                    "im_livechat.channel",
                    "create",
                    [{"name": "Mine"}],
                    {"context": {f"default_{field}": value}},
                )
                self.assertEqual(error, "odoo.exceptions.AccessError")
        error, message = self._call(
            self.manager, "im_livechat.channel", "write", [[self.livechat.id], {"max_waiting": -1}]
        )
        self.assertIn(error, ("odoo.exceptions.ValidationError",), message)
        error, _message = self._call(
            self.manager, "im_livechat.channel", "write", [[self.livechat.id], {"max_waiting": 7}]
        )
        self.assertEqual(error, "ok")
        self.assertEqual(self.livechat.max_waiting, 7)


@tagged("post_install", "-at_install")
class TestLineSeesEmbeddedVisitors(WebsocketCase):
    """A visitor's window subscribes to its guest channel with the guest's
    token, without the guest cookie (the external embed, or a connection
    opened before the first chat): they are seen, and keep their place."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        operator = new_test_user(
            cls.env, login="edge_ws_op", groups="base.group_user,im_livechat.im_livechat_group_user"
        )
        cls.env["bus.presence"].create({"user_id": operator.id, "status": "online"})
        cls.livechat = cls.env["im_livechat.channel"].create(
            {
                "name": "Edges over the bus",
                "user_ids": [Command.set(operator.ids)],
                "max_sessions_mode": "limited",
                "max_sessions": 1,
                "waiting_line": True,
            }
        )
        ongoing_chat(cls.env, cls.livechat, operator)

    def _waits(self):
        self.opener.cookies.clear()
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session", {"anonymous_name": "Embed", "channel_id": self.livechat.id}
        )
        return self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])

    def test_a_subscribed_visitor_is_seen_and_keeps_their_place(self):
        embedded, unseen = self._waits(), self._waits()
        guest = embedded.channel_member_ids.guest_id
        self.assertFalse(self.env["bus.presence"].search([("guest_id", "=", guest.id)]))
        websocket = self.websocket_connect()  # a session of its own: no guest cookie
        self.subscribe(
            websocket, [f"mail.guest_{guest.sudo()._format_auth_cookie()}"], self.env["bus.bus"]._bus_last_id()
        )
        presence = self.env["bus.presence"].search([("guest_id", "=", guest.id)])
        self.assertEqual(presence.status, "online")
        past = fields.Datetime.now() - waiting_line.GONE_AFTER - timedelta(seconds=10)
        self.env.cr.execute(
            "UPDATE discuss_channel SET livechat_waiting_since = %s WHERE id IN %s", [past, (embedded.id, unseen.id)]
        )
        self.env.invalidate_all()
        self.livechat._dispatch_waiting_visitors()
        self.env.invalidate_all()
        self.assertEqual(embedded.livechat_queue_position, 1, "seen: keeps their place")
        self.assertFalse(unseen.livechat_waiting_since, "never seen: out of the line")


class TestAddressDigest(BaseCase):
    def test_an_ipv6_subscriber_counts_once(self):
        digest = partial(visitor_address.address_digest, "secret")
        self.assertEqual(digest("2001:db8:1:2::1"), digest("2001:db8:1:2:ffff::9"), "one /64, one address")
        self.assertNotEqual(digest("2001:db8:1:2::1"), digest("2001:db8:1:3::1"))
        self.assertEqual(digest("::ffff:192.0.2.7"), digest("192.0.2.7"))
        self.assertNotEqual(digest("192.0.2.7"), digest("192.0.2.8"))
        self.assertEqual(digest("not an address"), digest("not an address"))
        self.assertFalse(digest(None))
        self.assertNotIn("192.0.2.7", digest("192.0.2.7"), "the address cannot be read back")
