import json

from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from .common import ongoing_chat


@tagged("post_install", "-at_install")
class TestChatbotForward(HttpCase):
    """A chatbot answer leads to a forward step with expertises: the
    operator who has them joins, under their chat name."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"].with_context(active_test=False).search([("code", "in", ["fr_FR", "es_ES"])]).active = True
        cls.accounting = cls.env["im_livechat.expertise"].create({"name": "Accounting (test)"})
        cls.hardware = cls.env["im_livechat.expertise"].create({"name": "Hardware (test)"})

        def operator(login, chat_name, lang, expertises):
            user = new_test_user(
                cls.env, login=login, name=login.title(), groups="base.group_user,im_livechat.im_livechat_group_user"
            )
            user.partner_id.lang = lang
            user.write({"livechat_username": chat_name, "livechat_expertise_ids": [Command.set(expertises.ids)]})
            cls.env["bus.presence"].create({"user_id": user.id, "status": "online"})
            return user

        cls.accountant = operator("accountant", "Ada", "en_US", cls.accounting)
        cls.technician = operator("technician", "Tom", "en_US", cls.hardware)
        cls.spanish_technician = operator("tecnico", "Teo", "es_ES", cls.hardware)
        cls.bot = cls.env["chatbot.script"].create({"title": "Dispatch Bot"})
        Step = cls.env["chatbot.script.step"]
        cls.question = Step.create(
            {"chatbot_script_id": cls.bot.id, "step_type": "question_selection", "message": "About?"}
        )
        cls.answer_invoice, cls.answer_broken = cls.env["chatbot.script.answer"].create(
            [
                {"name": "My invoice", "script_step_id": cls.question.id},
                {"name": "It is broken", "script_step_id": cls.question.id},
            ]
        )
        cls.forward_accounting = Step.create(
            {
                "chatbot_script_id": cls.bot.id,
                "step_type": "forward_operator",
                "message": "Finding an accountant",
                "operator_expertise_ids": [Command.set(cls.accounting.ids)],
                "triggering_answer_ids": [Command.set(cls.answer_invoice.ids)],
            }
        )
        cls.forward_hardware = Step.create(
            {
                "chatbot_script_id": cls.bot.id,
                "step_type": "forward_operator",
                "message": "Finding a technician",
                "operator_expertise_ids": [Command.set(cls.hardware.ids)],
                "triggering_answer_ids": [Command.set(cls.answer_broken.ids)],
            }
        )
        cls.nobody = Step.create(
            {"chatbot_script_id": cls.bot.id, "step_type": "question_email", "message": "Your email?"}
        )
        cls.livechat = cls.env["im_livechat.channel"].create(
            {
                "name": "Bot channel",
                "user_ids": [Command.set((cls.accountant | cls.technician | cls.spanish_technician).ids)],
                "rule_ids": [Command.create({"chatbot_script_id": cls.bot.id})],
            }
        )

    def _start(self, accept_language="en-US"):
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session",
            {"anonymous_name": "Visitor", "channel_id": self.livechat.id, "chatbot_script_id": self.bot.id},
            headers={"Accept-Language": accept_language},
        )
        return self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])

    def _answer(self, session, answer):
        message = session.message_post(body=answer.name)
        self.env["chatbot.message"].search([("mail_message_id", "=", message.id)]).user_script_answer_id = answer
        next_step = session.chatbot_current_step_id._process_answer(session, message.body)
        next_step._process_step(session)
        return next_step

    def _answer_as_the_visitor(self, session, answer):
        """The visitor's own requests, with their guest cookie: pick `answer`
        to the bot's question, then ask for the next step (its payload)."""
        question = self.env["chatbot.message"].search(
            [("discuss_channel_id", "=", session.id), ("script_step_id", "=", self.question.id)]
        )
        self.make_jsonrpc_request(
            "/chatbot/answer/save",
            {"channel_id": session.id, "message_id": question.mail_message_id.id, "selected_answer_id": answer.id},
        )
        return self.make_jsonrpc_request("/chatbot/step/trigger", {"channel_id": session.id})

    def test_forward_to_expert(self):
        session = self._start()
        self.assertEqual(session.livechat_lang_id.code, "en_US")
        self._answer(session, self.answer_invoice)
        self.assertIn(self.accountant.partner_id, session.channel_member_ids.partner_id)
        self.assertNotIn(self.technician.partner_id, session.channel_member_ids.partner_id)
        self.assertEqual(session.livechat_expertise_ids, self.accounting)
        self.assertEqual(
            session.livechat_routing_reason, "Ada: speaks English (US), expertise Accounting (test), no ongoing chat"
        )
        bodies = session.message_ids.mapped("body")
        self.assertTrue(any("Ada has joined" in body for body in bodies), "the notice uses the chat name")
        self.assertIn("Ada", session.name)

    def test_forward_uses_stored_visitor_language(self):
        session = self._start(accept_language="es-ES,es;q=0.9")
        self.assertEqual(session.livechat_lang_id.code, "es_ES")
        self._answer(session, self.answer_broken)
        self.assertIn(self.spanish_technician.partner_id, session.channel_member_ids.partner_id)
        self.assertNotIn(self.technician.partner_id, session.channel_member_ids.partner_id)

    def test_forward_without_expert_goes_to_next_available(self):
        self.env["bus.presence"].search([("user_id", "=", self.accountant.id)]).status = "away"
        session = self._start()
        self._answer(session, self.answer_invoice)
        joined = session.channel_member_ids.partner_id & (self.technician | self.spanish_technician).partner_id
        self.assertEqual(len(joined), 1, "the next available operator joins")
        self.assertEqual(session.livechat_expertise_ids, self.accounting, "the session keeps what was asked")

    def test_operator_trying_the_script_is_not_forwarded_nor_stamped(self):
        """An operator who tries the script as a visitor would be the best
        one for themselves: stock never forwards them to themselves, and the
        routing records no assignment for them (they would otherwise yield
        to their colleagues for two minutes)."""
        self.env.cr.execute(
            "UPDATE im_livechat_operator_status SET last_assignment_dt = NULL WHERE user_id = %s",
            [self.accountant.id],
        )
        session = self._start()
        message = session.message_post(body=self.answer_invoice.name)
        self.env["chatbot.message"].search(
            [("mail_message_id", "=", message.id)]
        ).user_script_answer_id = self.answer_invoice
        forward = session.chatbot_current_step_id._process_answer(session, message.body)
        self.assertEqual(forward, self.forward_accounting)
        forward.with_user(self.accountant)._process_step(session.with_user(self.accountant))
        self.assertNotIn(self.accountant.partner_id, session.channel_member_ids.partner_id)
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT last_assignment_dt FROM im_livechat_operator_status WHERE user_id = %s", [self.accountant.id]
        )
        self.assertEqual(self.env.cr.fetchall(), [(None,)])

    def test_a_language_forced_through_the_context_is_ignored(self):
        """Public routes such as /mail/data copy the caller's context: a
        visitor passing the routing's language key still gets the bot in a
        language that exists, never an error."""
        session = self._start(accept_language="es-ES")
        for forced in (None, "zz_ZZ", "it_IT", ["fr_BE"], 42):
            context = {} if forced is None else {"livechat_visitor_lang": forced}
            with mute_logger("odoo.http"):
                response = self.url_open(
                    "/mail/data",
                    data=json.dumps(
                        {"params": {"init_messaging": {"channel_types": ["livechat"]}, "context": context}}
                    ),
                    headers={"Content-Type": "application/json", "Accept-Language": "es-ES"},
                )
            answer = response.json()
            self.assertNotIn("error", answer, f"context {context}")
            channels = {channel["id"] for channel in answer["result"].get("discuss.channel", [])}
            self.assertIn(session.id, channels, "the visitor's chat with the bot is loaded")

    def test_forward_with_nobody_available_continues_script(self):
        self.env["bus.presence"].search([]).status = "offline"
        session = self._start()
        self._answer(session, self.answer_invoice)
        operators = (self.accountant | self.technician | self.spanish_technician).partner_id
        self.assertFalse(session.channel_member_ids.partner_id & operators)
        self.assertFalse(session.livechat_expertise_ids)
        next_step = session.chatbot_current_step_id._process_answer(session, "")
        self.assertEqual(next_step, self.nobody, "the script goes on as in stock Odoo")

    def test_operator_expertise_shown_only_on_forward_steps(self):
        arch = self.env["chatbot.script.step"].get_view(view_type="form")["arch"]
        self.assertIn("operator_expertise_ids", arch)
        self.assertIn("step_type != 'forward_operator'", arch)

    # ------------------------------------------------------------------
    # Bad input: nothing lost, no traceback for the visitor
    # ------------------------------------------------------------------
    def test_forward_step_reached_twice_keeps_the_operator(self):
        session = self._start()
        self._answer(session, self.answer_invoice)
        operators = (self.accountant | self.technician | self.spanish_technician).partner_id
        self.assertEqual(session.channel_member_ids.partner_id & operators, self.accountant.partner_id)
        self.forward_hardware._process_step(session)
        self.assertEqual(
            session.channel_member_ids.partner_id & operators, self.accountant.partner_id, "no second operator"
        )

    def test_archived_expertise_on_a_forward_step(self):
        self.accounting.active = False
        session = self._start()
        self._answer(session, self.answer_invoice)
        operators = (self.accountant | self.technician | self.spanish_technician).partner_id
        self.assertEqual(len(session.channel_member_ids.partner_id & operators), 1, "someone still joins")
        self.assertFalse(session.livechat_expertise_ids, "an archived expertise is not asked for")

    def test_deleted_operator_keeps_sessions(self):
        session = self._start()
        self._answer(session, self.answer_invoice)
        partner = self.accountant.partner_id
        self.accountant.unlink()
        self.assertTrue(session.exists())
        self.assertIn(partner, session.channel_member_ids.partner_id)
        second = self._start()
        self._answer(second, self.answer_invoice)
        self.assertTrue(second.channel_member_ids.partner_id & (self.technician | self.spanish_technician).partner_id)

    def test_channel_without_operators(self):
        self.livechat.user_ids = False
        session = self._start()
        self._answer(session, self.answer_invoice)
        self.assertEqual(
            session.channel_member_ids.partner_id.user_ids.filtered(lambda u: not u.share), self.env["res.users"]
        )

    def test_visitor_learns_nothing_more_about_operators(self):
        """The JSON a visitor receives names the operator by chat name only."""
        self.livechat.rule_ids.unlink()
        self.accountant.write({"email": "ada.secret@example.com"})
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session",
            {"anonymous_name": "Visitor", "channel_id": self.livechat.id},
            headers={"Accept-Language": "en-US"},
        )
        payload = str(data)
        for secret in (
            "livechat_routing_reason",
            "livechat_expertise",
            "Accounting (test)",
            "ada.secret",
            "Accountant",
        ):
            self.assertNotIn(secret, payload)

    def test_forward_driven_as_the_visitor_tells_them_nothing_of_the_routing(self):
        """The visitor's own requests, with their guest cookie: answer the
        question, trigger the next step; the expert joins, and nothing the
        visitor receives names the expertise or the reason."""
        session = self._start()
        payload = self._answer_as_the_visitor(session, self.answer_invoice)
        self.assertIn(self.accountant.partner_id, session.channel_member_ids.partner_id)
        self.assertEqual(session.livechat_expertise_ids, self.accounting)
        self.assertTrue(session.livechat_routing_reason)
        self.assertTrue(any("Ada has joined" in body for body in session.message_ids.mapped("body")))
        payload = str(payload)
        self.assertIn("operatorFound': True", payload, "the visitor is told an operator was found")
        for secret in (
            "livechat_routing_reason",
            "livechat_expertise",
            "Accounting (test)",
            session.livechat_routing_reason,
            "Accountant",
        ):
            self.assertNotIn(secret, payload)

    def test_very_long_expertise_name(self):
        long_name = "Very long expertise " + "x" * 1000
        expertise = self.env["im_livechat.expertise"].create({"name": long_name})
        self.accountant.livechat_expertise_ids = [Command.link(expertise.id)]
        decision = self.livechat._route_visitor(expertises=expertise)
        self.assertEqual(decision.operator, self.accountant)
        self.assertIn(long_name, decision.reason)

    def _everyone_full_with_a_line(self):
        """The channel has a waiting line and each operator holds the one chat
        they may: their chats, in the operators' order."""
        self.livechat.write({"max_sessions_mode": "limited", "max_sessions": 1, "waiting_line": True})
        busy = self.env["discuss.channel"]
        for operator in self.accountant | self.technician | self.spanish_technician:
            busy |= ongoing_chat(self.env, self.livechat, operator)
        return busy

    def test_forward_with_everyone_full_waits_in_line_with_the_expertise(self):
        operators = self.accountant | self.technician | self.spanish_technician
        busy = self._everyone_full_with_a_line()
        session = self._start()
        self._answer(session, self.answer_invoice)
        self.assertFalse(session.channel_member_ids.partner_id & operators.partner_id)
        self.assertTrue(session.livechat_waiting_since, "in line rather than turned away")
        self.assertEqual(session.livechat_expertise_ids, self.accounting)
        self.assertEqual(session.livechat_queue_position, 1)
        # the technician's chat ends first: with no expert wait, he takes the visitor
        busy[1]._close_livechat_session()
        self.assertIn(self.technician.partner_id, session.channel_member_ids.partner_id)
        self.assertFalse(session.livechat_waiting_since)

    def test_forward_into_the_line_stops_the_script(self):
        """Everyone is full: the bot's forward puts the visitor in line, and
        its script stops there as when an operator joins. The visitor's
        window is told so (stock reads it as "an operator was found": the
        visitor may write while waiting, the bot asks nothing more), both in
        the answer to the step and when the window loads the chat again."""
        self._everyone_full_with_a_line()
        session = self._start()
        payload = self._answer_as_the_visitor(session, self.answer_invoice)
        self.assertTrue(session.livechat_waiting_since, "in line")
        self.assertEqual(
            [(step["id"], step["operatorFound"]) for step in payload["ChatbotStep"]],
            [([self.forward_accounting.id, session.id], True)],
            "the forward step ends the script: the visitor writes while waiting",
        )
        self.assertTrue(self._operator_found_on_load(session), "the same once the window loads again")
        # (that the window then asks nothing more of the bot: the visitor tour)
        # an operator is free: they join, and the script stays over
        self.env["discuss.channel"].search([("livechat_operator_id", "=", self.technician.partner_id.id)]).write(
            {"livechat_active": False}
        )
        self.livechat._dispatch_waiting_visitors()
        self.assertIn(self.technician.partner_id, session.channel_member_ids.partner_id)
        self.assertTrue(self._operator_found_on_load(session), "an operator in the chat")

    def test_another_visitor_cannot_trigger_a_step_of_the_session(self):
        """The step route's new answer is the caller's own session only:
        another visitor (no cookie of theirs) gets nothing of a session in
        line, and its script does not move."""
        self._everyone_full_with_a_line()
        session = self._start()
        self._answer_as_the_visitor(session, self.answer_invoice)
        step = session.chatbot_current_step_id
        self.opener.cookies.clear()  # someone else, on their own browser
        self.assertIsNone(self.make_jsonrpc_request("/chatbot/step/trigger", {"channel_id": session.id}))
        session.invalidate_recordset()
        self.assertEqual(session.chatbot_current_step_id, step, "the script did not move")
        self.assertTrue(session.livechat_waiting_since)

    def _operator_found_on_load(self, session):
        """What the visitor's window reads when it loads the chat again."""
        loaded = self.make_jsonrpc_request("/mail/data", {"init_messaging": {"channel_types": ["livechat"]}})
        (chat,) = (channel for channel in loaded["discuss.channel"] if channel["id"] == session.id)
        return chat["chatbot"]["currentStep"]["operatorFound"]

    def test_a_bot_restarted_in_line_asks_its_questions_again(self):
        """Only the forward step ends the script: restarted while in line (an
        RPC the window does not offer then), the bot's first question is a
        question again, and reaching the forward step again keeps the place."""
        self._everyone_full_with_a_line()
        session = self._start()
        self._answer(session, self.answer_invoice)
        since = session.livechat_waiting_since
        self.assertTrue(since)
        self.make_jsonrpc_request("/chatbot/restart", {"channel_id": session.id, "chatbot_script_id": self.bot.id})
        payload = self.make_jsonrpc_request(
            "/chatbot/step/trigger", {"channel_id": session.id, "chatbot_script_id": self.bot.id}
        )
        self.assertEqual(
            [(step["id"], step["operatorFound"]) for step in payload["ChatbotStep"]],
            [([self.question.id, session.id], False)],
        )
        self._answer(session, self.answer_invoice)
        self.assertEqual(session.livechat_waiting_since, since, "the same place in line")
        self.assertTrue(self._operator_found_on_load(session))

    def test_forward_with_nobody_and_no_line_lets_the_script_go_on(self):
        """Stock's way where the channel has no waiting line: nobody free, the
        script goes on to the steps written for that case."""
        self.env["bus.presence"].search([]).status = "offline"
        session = self._start()
        payload = self._answer_as_the_visitor(session, self.answer_invoice)
        self.assertFalse(session.livechat_waiting_since)
        self.assertEqual([step["operatorFound"] for step in payload["ChatbotStep"]], [False])

    def test_forward_waits_for_the_busy_expert(self):
        """F17: the accountant is present but full; the others are free: the
        visitor waits for her up to the channel's expert wait time."""
        self.livechat.write(
            {"max_sessions_mode": "limited", "max_sessions": 1, "waiting_line": True, "expert_wait_time": 300}
        )
        busy = ongoing_chat(self.env, self.livechat, self.accountant)
        session = self._start()
        self._answer(session, self.answer_invoice)
        self.assertTrue(session.livechat_waiting_since, "waits for the expert")
        self.assertFalse(session.channel_member_ids.partner_id & (self.technician | self.spanish_technician).partner_id)
        busy._close_livechat_session()
        self.assertIn(self.accountant.partner_id, session.channel_member_ids.partner_id, "the expert takes it")
        self.assertIn("waited", session.livechat_routing_reason)
