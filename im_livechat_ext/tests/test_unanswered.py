import json
from contextlib import closing
from datetime import timedelta

import psycopg2.errors

from odoo import SUPERUSER_ID, Command, api
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from .common import (
    CommittedData,
    LivechatRoutingCase,
    chatbot_session,
    ongoing_chat,
    post_as_guest,
    rpc_error,
    visitor_session,
)


@tagged("post_install", "-at_install")
class TestUnansweredChats(LivechatRoutingCase):
    """F18: a visitor left without an answer goes to the next operator."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.livechat.unanswered_timeout = 60

    def _member_partners(self, session):
        session.invalidate_recordset(["channel_member_ids"])
        return session.channel_member_ids.partner_id

    def _joined_long_ago(self, session):
        """The operator has been in the chat for long: only the visitor's clock counts."""
        self.env.cr.execute(
            "UPDATE discuss_channel_member SET create_date = create_date - interval '1 hour' WHERE channel_id = %s",
            [session.id],
        )

    def _reassign(self):
        moved = self.env["discuss.channel"]._reassign_unanswered_sessions()
        self.env.invalidate_all()
        return moved

    def _odoobot_says_to(self, operator):
        chat = self.env["discuss.channel"].search(
            [("channel_type", "=", "chat"), ("channel_member_ids.partner_id", "=", operator.partner_id.id)]
        )
        return " ".join(chat.message_ids.mapped("body"))

    def test_the_next_operator_takes_an_unanswered_chat(self):
        silent = self._operator("Silent", lang="fr_FR")
        french = self._operator("Camille", lang="fr_FR")
        self._operator("German", lang="de_DE")
        session, guest = visitor_session(self.env, self.livechat, silent)
        session.livechat_lang_id = self.lang["fr_FR"]
        self._joined_long_ago(session)
        post_as_guest(session, guest, "Bonjour ?", seconds_ago=61)
        self.assertEqual(self._reassign(), 1)
        self.assertEqual(session.livechat_operator_id, french.partner_id, "the next by the rules: she speaks French")
        partners = self._member_partners(session)
        self.assertIn(french.partner_id, partners)
        self.assertNotIn(silent.partner_id, partners, "the silent operator left")
        self.assertEqual(session.livechat_skipped_operator_ids, silent.partner_id)
        self.assertRegex(session.livechat_routing_reason, r"^Reassigned after 6\d s without an answer from Silent")
        bodies = " ".join(session.message_ids.mapped("body"))
        self.assertIn("Camille a rejoint", bodies, "the visitor sees the new operator join, in French")
        self.assertIn("Camille l'a reprise", self._odoobot_says_to(silent), "the silent one is told, in French")
        # managers find it: Sessions History and the report filter "Reassigned"
        self.env.flush_all()
        self.assertIn(session, self.env["discuss.channel"].search([("livechat_skipped_operator_ids", "!=", False)]))
        report = self.env["im_livechat.report.channel"].search([("livechat_reassigned", "=", True)])
        self.assertIn(session.id, report.ids)
        self.assertNotIn(
            session.id, self.env["im_livechat.report.channel"].search([("livechat_transferred", "=", True)]).ids
        )

    def test_an_answer_in_time_keeps_the_operator(self):
        operator = self._operator("Quick")
        self._operator("Other")
        session, guest = visitor_session(self.env, self.livechat, operator)
        self._joined_long_ago(session)
        post_as_guest(session, guest, "Hello?", seconds_ago=120)
        session.with_user(operator).message_post(body="Hi, how can I help?", message_type="comment")
        self.assertEqual(self._reassign(), 0)
        post_as_guest(session, guest, "My order", seconds_ago=30)
        self.assertEqual(self._reassign(), 0, "30 s: the time is not up yet")
        self.assertEqual(session.livechat_operator_id, operator.partner_id)
        self.assertFalse(session.livechat_skipped_operator_ids)

    def test_the_clock_starts_at_the_first_unanswered_message(self):
        operator = self._operator("Slow")
        self._operator("Other")
        session, guest = visitor_session(self.env, self.livechat, operator)
        self._joined_long_ago(session)
        post_as_guest(session, guest, "Hello?", seconds_ago=70)
        post_as_guest(session, guest, "Anybody?", seconds_ago=5)
        self.assertEqual(self._reassign(), 1, "70 s since the first unanswered message, not 5")

    def test_a_new_operator_gets_the_whole_timeout(self):
        silent = self._operator("Silent")
        other = self._operator("Other")
        session, guest = visitor_session(self.env, self.livechat, silent)
        self._joined_long_ago(session)
        post_as_guest(session, guest, "Hello?", seconds_ago=300)
        self.assertEqual(self._reassign(), 1)
        self.assertEqual(self._reassign(), 0, "the new operator just joined: their time starts now")
        self.assertEqual(session.livechat_operator_id, other.partner_id)

    def test_nobody_else_the_chat_stays(self):
        silent = self._operator("Silent")
        self._operator("Away", status="away")
        session, guest = visitor_session(self.env, self.livechat, silent)
        self._joined_long_ago(session)
        post_as_guest(session, guest, "Hello?", seconds_ago=90)
        self.assertEqual(self._reassign(), 0)
        self.assertEqual(session.livechat_operator_id, silent.partner_id)
        self.assertIn(silent.partner_id, self._member_partners(session))
        self.assertFalse(session.livechat_skipped_operator_ids)

    def test_an_archived_operator_is_named_by_their_chat_name(self):
        """An operator archived with a chat still open: the visitor is not
        left waiting, the reason names the operator as visitors knew them,
        never by their legal name, and nobody writes to an account that can
        no longer log in."""
        silent = self._operator("Silent Legal Name")
        silent.livechat_username = "Sam"
        other = self._operator("Other")
        session, guest = visitor_session(self.env, self.livechat, silent)
        self._joined_long_ago(session)
        post_as_guest(session, guest, "Hello?", seconds_ago=90)
        silent.active = False
        self.assertEqual(self._reassign(), 1)
        self.assertEqual(session.livechat_operator_id, other.partner_id)
        self.assertNotIn(silent.partner_id, self._member_partners(session), "the archived operator left")
        self.assertEqual(session.livechat_skipped_operator_ids, silent.partner_id)
        self.assertRegex(session.livechat_routing_reason, r"^Reassigned after \d+ s without an answer from Sam: ")
        self.assertNotIn("Legal Name", session.livechat_routing_reason)
        self.assertFalse(self._odoobot_says_to(silent), "OdooBot writes nothing to an archived account")

    def test_an_operator_with_an_archived_former_account_is_told(self):
        """The operator's partner also has an archived user (a former
        account): the active operator is the one named and told."""
        silent = self._operator("Silent")
        silent.livechat_username = "Sam"
        former = new_test_user(self.env, login="ext_unanswered_former", name="Aaron Former", groups="base.group_user")
        former.write({"partner_id": silent.partner_id.id, "livechat_username": "Former", "active": False})
        self._operator("Other")
        session, guest = visitor_session(self.env, self.livechat, silent)
        self._joined_long_ago(session)
        post_as_guest(session, guest, "Hello?", seconds_ago=90)
        self.assertEqual(self._reassign(), 1)
        self.assertRegex(session.livechat_routing_reason, r"^Reassigned after \d+ s without an answer from Sam: ")
        self.assertIn("took it over", self._odoobot_says_to(silent), "the active operator is told")

    def test_a_skipped_operator_is_never_chosen_again(self):
        first = self._operator("First")
        second = self._operator("Second")
        third = self._operator("Third")
        session, guest = visitor_session(self.env, self.livechat, first)
        self._joined_long_ago(session)
        post_as_guest(session, guest, "Hello?", seconds_ago=200)
        self._chat(third)  # Second has fewer chats: chosen first
        self.assertEqual(self._reassign(), 1)
        self.assertEqual(session.livechat_operator_id, second.partner_id)
        self._joined_long_ago(session)
        self.assertEqual(self._reassign(), 1)
        self.assertEqual(session.livechat_operator_id, third.partner_id, "not First again, though she is free")
        self.assertEqual(session.livechat_skipped_operator_ids, (first | second).partner_id)
        self._joined_long_ago(session)
        self.assertEqual(self._reassign(), 0, "only skipped operators are left: the chat stays with Third")
        self.assertEqual(session.livechat_operator_id, third.partner_id)

    def test_back_in_line_keeping_its_time_then_served_by_another(self):
        self.livechat.write({"waiting_line": True, "max_sessions_mode": "limited", "max_sessions": 1})
        silent = self._operator("Silent")
        busy = self._operator("Busy")
        busy_chat = self._chat(busy)
        session, guest = visitor_session(self.env, self.livechat, silent)
        self._joined_long_ago(session)
        post_as_guest(session, guest, "Hello?", seconds_ago=90)
        later = self.env["discuss.channel"].create(self.livechat._get_livechat_discuss_channel_vals("Later"))
        self.assertTrue(later.livechat_waiting_since, "Silent is still full: a newcomer waits")
        self.assertEqual(self._reassign(), 1)
        self.assertEqual(session.livechat_waiting_since, session.create_date, "its original time")
        self.assertEqual(session.livechat_operator_id, self.env.ref("base.partner_root"))
        self.assertNotIn(silent.partner_id, self._member_partners(session))
        self.assertEqual(session.livechat_queue_position, 1)
        self.assertEqual(later.livechat_operator_id, silent.partner_id, "Silent's free slot went to the next")
        self.assertEqual(later.livechat_queue_position, 0)
        self.assertIn("back in the waiting line", self._odoobot_says_to(silent))
        busy_chat._close_livechat_session()
        self.env.invalidate_all()
        self.assertEqual(session.livechat_operator_id, busy.partner_id)
        self.assertFalse(session.livechat_waiting_since)
        self.assertRegex(
            session.livechat_routing_reason, r"^Reassigned after \d+ s without an answer from Silent: Busy.*waited"
        )

    def test_a_chatbot_forward_is_reassigned_from_its_human(self):
        """A chatbot's forward keeps the bot as the session's operator: the
        silent one is the human who joined."""
        bot_partner = self.env["res.partner"].create({"name": "Routing Bot"})
        silent = self._operator("Silent")
        other = self._operator("Other")
        session = chatbot_session(self.env, self.livechat, bot_partner, anonymous_name="Visitor")
        guest = self.env["mail.guest"].create({"name": "Visitor"})
        session.add_members(guest_ids=guest.ids, post_joined_message=False)
        session.message_post(author_id=bot_partner.id, body="Let me find someone", message_type="comment")
        session.add_members(partner_ids=silent.partner_id.ids, post_joined_message=False)
        self._joined_long_ago(session)
        post_as_guest(session, guest, "Hello?", seconds_ago=90)
        self.assertEqual(self._reassign(), 1)
        self.assertEqual(session.livechat_operator_id, other.partner_id)
        self.assertEqual(session.livechat_skipped_operator_ids, silent.partner_id)
        self.assertNotIn(silent.partner_id, self._member_partners(session))
        self.assertIn("Visitor waited", self._odoobot_says_to(silent), "the visitor's name, not the bot's")

    def test_the_scheduled_action_works_in_small_batches(self):
        silent = self._operator("Silent")
        for name in ("One", "Two", "Three"):
            self._operator(name)
        for index in range(7):
            session, guest = visitor_session(self.env, self.livechat, silent, guest_name=f"Visitor {index}")
            self._joined_long_ago(session)
            post_as_guest(session, guest, "Hello?", seconds_ago=90)
        Session = self.env["discuss.channel"]
        self.assertEqual(Session._cron_reassign_unanswered_sessions(), 5, "one batch per transaction")
        self.assertEqual(Session._cron_reassign_unanswered_sessions(), 2)
        self.assertEqual(Session._cron_reassign_unanswered_sessions(), 0)

    def test_chats_that_cannot_move_never_keep_the_scheduled_action_running(self):
        """Seven chats of a lone operator stay (nobody else, no line); a chat
        of another channel that can move, due last, still moves, and the
        scheduled action reports nothing left rather than running again."""
        lone = self._operator("Lone")
        for index in range(7):
            session, guest = visitor_session(self.env, self.livechat, lone, guest_name=f"Stuck {index}")
            self._joined_long_ago(session)
            post_as_guest(session, guest, "Hello?", seconds_ago=300)
        other_channel = self.env["im_livechat.channel"].create({"name": "Other", "unanswered_timeout": 60})
        silent, free = self._operator("Silent", join=False), self._operator("Free", join=False)
        other_channel.user_ids = [Command.set((silent | free).ids)]
        movable, guest = visitor_session(self.env, other_channel, silent, guest_name="Movable")
        self._joined_long_ago(movable)
        post_as_guest(movable, guest, "Hello?", seconds_ago=61)
        cron = self.env.ref("im_livechat_ext.ir_cron_reassign_unanswered_sessions")
        progress = self.env["ir.cron.progress"].create({"cron_id": cron.id})
        Session = self.env["discuss.channel"].with_context(ir_cron_progress_id=progress.id)
        self.assertEqual(Session._cron_reassign_unanswered_sessions(), 1)
        self.assertEqual(movable.livechat_operator_id, free.partner_id)
        self.assertEqual((progress.done, progress.remaining), (1, 0), "nothing left to run again at once")

    def test_an_employee_writing_in_a_visitors_name_is_no_visitor(self):
        operator = self._operator("Operator")
        self._operator("Other")
        portal = new_test_user(self.env, login="ext_f18_portal_name", groups="base.group_portal")
        session = ongoing_chat(self.env, self.livechat, operator)
        self._joined_long_ago(session)
        message = session.with_user(operator).message_post(
            author_id=portal.partner_id.id, body="Hello?", message_type="comment"
        )
        self.env.cr.execute(
            "UPDATE mail_message SET create_date = create_date - interval '5 minutes' WHERE id = %s", [message.id]
        )
        self.assertEqual(self._reassign(), 0)
        self.assertEqual(session.livechat_operator_id, operator.partner_id)

    def test_the_check_is_scheduled_to_the_second(self):
        operator = self._operator("Operator")
        session, guest = visitor_session(self.env, self.livechat, operator)
        self._joined_long_ago(session)
        cron = self.env.ref("im_livechat_ext.ir_cron_reassign_unanswered_sessions")
        Trigger = self.env["ir.cron.trigger"]
        before = Trigger.search([("cron_id", "=", cron.id)])
        message = post_as_guest(session, guest, "Hello?")
        new = Trigger.search([("cron_id", "=", cron.id)]) - before
        self.assertEqual(len(new), 1)
        self.assertAlmostEqual(new.call_at, message.create_date + timedelta(seconds=60), delta=timedelta(seconds=1))
        post_as_guest(session, guest, "Still there?")
        self.assertEqual(Trigger.search([("cron_id", "=", cron.id)]) - before, new, "the next ones change nothing")

    def test_a_chatbot_or_a_waiting_visitor_is_not_reassigned(self):
        self.livechat.write({"waiting_line": True, "max_sessions_mode": "limited", "max_sessions": 1})
        operator = self._operator("Operator")
        self._chat(operator)
        waiting = self.env["discuss.channel"].create(self.livechat._get_livechat_discuss_channel_vals("Waiting"))
        guest = self.env["mail.guest"].create({"name": "Waiting"})
        waiting.add_members(guest_ids=guest.ids, post_joined_message=False)
        post_as_guest(waiting, guest, "Hello?", seconds_ago=300)
        self.assertEqual(self._reassign(), 0, "OdooBot holds a waiting visitor: the line serves them")

    def test_a_negative_timeout_is_refused(self):
        with self.assertRaisesRegex(Exception, "cannot be negative"):
            self.livechat.unanswered_timeout = -5


@tagged("post_install", "-at_install")
class TestUnansweredRace(CommittedData, LivechatRoutingCase):
    """The operator's late answer and the reassignment, in two real
    transactions: the answer wins when it commits first, and the chat never
    ends with two operators."""

    def setUp(self):
        super().setUp()
        self.ids = self._commit_data(self._late_operator, chats_too=True)

    def _late_operator(self, env):
        """A visitor who waited 90 s for the operator's answer, committed."""
        livechat = env["im_livechat.channel"].create({"name": "Race F18", "unanswered_timeout": 60})
        users = []
        for name in ("Late", "Next"):
            user = new_test_user(env, login=f"ext_f18_{name.lower()}", name=name, groups="base.group_user")
            env["bus.presence"].create({"user_id": user.id, "status": "online"})
            users.append(user)
        livechat.user_ids = [Command.set([u.id for u in users])]
        session, guest = visitor_session(env, livechat, users[0])
        env.cr.execute(
            "UPDATE discuss_channel_member SET create_date = create_date - interval '1 hour' WHERE channel_id = %s",
            [session.id],
        )
        post_as_guest(session, guest, "Hello?", seconds_ago=90)
        return {"livechat": livechat.id, "users": [u.id for u in users], "session": session.id}

    def _env(self, cr, uid=SUPERUSER_ID):
        return api.Environment(cr, uid, {})

    def _answer(self, cr):
        late = self._env(cr)["res.users"].browse(self.ids["users"][0])
        session = self._env(cr, late.id)["discuss.channel"].browse(self.ids["session"])
        session.message_post(body="Sorry, here I am", message_type="comment")

    def _reassign(self, cr):
        return self._env(cr)["discuss.channel"]._reassign_unanswered_sessions()

    def _operators_in_the_chat(self):
        with closing(self._new_env().cr) as cr:
            cr.execute(
                """SELECT u.login FROM discuss_channel_member m JOIN res_users u ON u.partner_id = m.partner_id
                    WHERE m.channel_id = %s AND u.id = ANY(%s) ORDER BY u.login""",
                [self.ids["session"], self.ids["users"]],
            )
            return [login for (login,) in cr.fetchall()]

    def test_an_answer_committed_first_wins(self):
        answer, reassign = self.registry.cursor(), self.registry.cursor()
        with closing(answer), closing(reassign):
            reassign.execute("SELECT 1")  # the reassignment's snapshot predates the answer
            self._answer(answer)
            answer.commit()  # pylint: disable=invalid-commit
            self.assertEqual(self._reassign(reassign), 0, "the answer committed: the chat stays")
            reassign.commit()  # pylint: disable=invalid-commit
        self.assertEqual(self._operators_in_the_chat(), ["ext_f18_late"])

    def test_an_answer_in_flight_wins_without_a_wait(self):
        answer, reassign = self.registry.cursor(), self.registry.cursor()
        with closing(answer), closing(reassign):
            self._answer(answer)  # not committed: the session's row is the answer's
            reassign.execute("SET LOCAL lock_timeout = '2s'")
            self.assertEqual(self._reassign(reassign), 0, "skipped, not waited for")
            reassign.commit()  # pylint: disable=invalid-commit
            answer.commit()  # pylint: disable=invalid-commit
        self.assertEqual(self._operators_in_the_chat(), ["ext_f18_late"])

    def test_an_operator_opening_the_chat_in_flight_wins(self):
        """Opening the chat writes the operator's member row (last seen):
        the reassignment leaves that session alone rather than wait or fail."""
        opening, reassign = self.registry.cursor(), self.registry.cursor()
        with closing(opening), closing(reassign):
            late = self._env(opening)["res.users"].browse(self.ids["users"][0])
            member = self._env(opening)["discuss.channel.member"].search(
                [("channel_id", "=", self.ids["session"]), ("partner_id", "=", late.partner_id.id)]
            )
            member.fold_state = "open"
            opening.flush()
            reassign.execute("SET LOCAL lock_timeout = '2s'")
            self.assertEqual(self._reassign(reassign), 0, "skipped, not waited for")
            reassign.commit()  # pylint: disable=invalid-commit
            opening.commit()  # pylint: disable=invalid-commit
        self.assertEqual(self._operators_in_the_chat(), ["ext_f18_late"])

    def test_a_reassignment_committed_first_leaves_one_operator(self):
        answer, reassign = self.registry.cursor(), self.registry.cursor()
        with closing(answer), closing(reassign):
            answer.execute("SELECT 1")  # the late answer's snapshot predates the reassignment
            self.assertEqual(self._reassign(reassign), 1)
            reassign.commit()  # pylint: disable=invalid-commit
            with self.assertRaises(psycopg2.errors.SerializationFailure), mute_logger("odoo.sql_db"):
                self._answer(answer)  # Odoo retries the request: the late operator is no longer in the chat
            answer.rollback()
        self.assertEqual(self._operators_in_the_chat(), ["ext_f18_next"])


@tagged("post_install", "-at_install")
class TestUnansweredOverHttp(HttpCase):
    """The visitor writes over HTTP, as the guest; nobody steers F18 by RPC."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.silent = new_test_user(
            cls.env, login="ext_f18_silent", password="ext-f18-silent", name="Silent", groups="base.group_user"
        )
        cls.other = new_test_user(cls.env, login="ext_f18_other", name="Other", groups="base.group_user")
        for user in cls.silent | cls.other:
            cls.env["bus.presence"].create({"user_id": user.id, "status": "online"})
        cls.livechat = cls.env["im_livechat.channel"].create(
            {"name": "F18 over HTTP", "unanswered_timeout": 30, "user_ids": [Command.set(cls.silent.ids)]}
        )
        cls.expertise = cls.env["im_livechat.expertise"].create({"name": "Only Other knows"})

    def test_the_visitors_messages_over_http_lead_to_a_reassignment(self):
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session",
            {"anonymous_name": "Visitor", "channel_id": self.livechat.id, "persisted": True},
        )
        session = self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])
        self.assertEqual(session.livechat_operator_id, self.silent.partner_id)
        self.make_jsonrpc_request(
            "/mail/message/post",
            {
                "thread_model": "discuss.channel",
                "thread_id": session.id,
                "post_data": {"body": "Is anybody there?", "message_type": "comment"},
            },
        )
        message = session.message_ids.filtered(lambda m: m.author_guest_id)[:1]
        self.assertTrue(message, "posted as the guest")
        cron = self.env.ref("im_livechat_ext.ir_cron_reassign_unanswered_sessions")
        trigger = self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)], order="id desc", limit=1)
        self.assertAlmostEqual(trigger.call_at, message.create_date + timedelta(seconds=30), delta=timedelta(seconds=1))
        self.assertEqual(self.env["discuss.channel"]._reassign_unanswered_sessions(), 0, "not yet")
        self.livechat.user_ids = [Command.link(self.other.id)]
        self.env.cr.execute(
            "UPDATE mail_message SET create_date = create_date - interval '31 seconds' WHERE id = %s", [message.id]
        )
        self.env.cr.execute(
            "UPDATE discuss_channel_member SET create_date = create_date - interval '1 hour' WHERE channel_id = %s",
            [session.id],
        )
        self.env.invalidate_all()
        self.assertEqual(self.env["discuss.channel"]._reassign_unanswered_sessions(), 1)
        self.assertEqual(session.livechat_operator_id, self.other.partner_id)
        history = self.make_jsonrpc_request("/discuss/channel/messages", {"channel_id": session.id})
        payload = json.dumps(history)
        self.assertIn("Other has joined", payload, "the visitor sees the new operator join")
        self.assertNotIn("Reassigned", payload, "nothing of the routing reaches the visitor")
        self.assertNotIn("skipped", payload)

    def _rpc_error(self, model, method, args, kwargs=None):
        """The name of the error a JSON-RPC call_kw answers with (None: ok)."""
        return rpc_error(self, model, method, args, kwargs)

    def test_nobody_chooses_who_is_skipped_over_rpc(self):
        """The chat's own operator tries to mark a colleague as skipped or the
        chat as transferred, or to change the timeout."""
        session = ongoing_chat(self.env, self.livechat, self.silent)
        self.authenticate("ext_f18_silent", "ext-f18-silent")
        skip_other = [Command.link(self.other.partner_id.id)]
        fake = {"name": "Fake", "channel_type": "livechat", "livechat_channel_id": self.livechat.id}
        attempts = {
            "write skipped": (
                "discuss.channel",
                "write",
                [[session.id], {"livechat_skipped_operator_ids": skip_other}],
                {},
            ),
            "write transferred": ("discuss.channel", "write", [[session.id], {"livechat_transferred": True}], {}),
            "name a colleague the operator of a new chat": (
                "discuss.channel",
                "create",
                [dict(fake, livechat_operator_id=self.other.partner_id.id)],
                {},
            ),
            "steer a reassignment by the session's expertise": (
                "discuss.channel",
                "write",
                [[session.id], {"livechat_expertise_ids": [Command.link(self.expertise.id)]}],
                {},
            ),
            "pass the chat to a colleague": (
                "discuss.channel",
                "write",
                [[session.id], {"livechat_operator_id": self.other.partner_id.id}],
                {},
            ),
            "create with a default_ key": (
                "discuss.channel",
                "create",
                [fake],
                {"context": {"default_livechat_skipped_operator_ids": [self.other.partner_id.id]}},
            ),
            "write the timeout": ("im_livechat.channel", "write", [[self.livechat.id], {"unanswered_timeout": 1}], {}),
        }
        for label, (model, method, args, kwargs) in attempts.items():
            with self.subTest(label):
                self.assertEqual(self._rpc_error(model, method, args, kwargs), "odoo.exceptions.AccessError")
        self.env.invalidate_all()
        self.assertFalse(session.livechat_skipped_operator_ids)
        self.assertFalse(session.livechat_transferred)
        self.assertFalse(session.livechat_expertise_ids)
        self.assertEqual(session.livechat_operator_id, self.silent.partner_id)
        self.assertEqual(self.livechat.unanswered_timeout, 30)
        self.assertFalse(self.env["discuss.channel"].search([("name", "=", "Fake")]))
