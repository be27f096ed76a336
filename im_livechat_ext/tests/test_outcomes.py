from datetime import timedelta

from odoo import Command, fields
from odoo.tests import HttpCase, new_test_user, tagged

from .common import call_as, ongoing_chat, post_over_http


@tagged("post_install", "-at_install")
class TestOutcomesOverHttp(HttpCase):
    """F23: each session says how it went, kept right by the paths visitors
    and operators take over HTTP."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        groups = "base.group_user,im_livechat.im_livechat_group_user"
        cls.operator = new_test_user(cls.env, login="ext_f23_op", name="Ophelia", groups=groups)
        cls.colleague = new_test_user(cls.env, login="ext_f23_colleague", name="Colin", groups=groups)
        cls.expertise = cls.env["im_livechat.expertise"].create(
            {"name": "Customs duties", "user_ids": [Command.set(cls.colleague.ids)]}
        )
        for user in cls.operator | cls.colleague:
            cls.env["bus.presence"].create({"user_id": user.id, "status": "online"})
        cls.livechat = cls.env["im_livechat.channel"].create(
            {"name": "F23", "user_ids": [Command.set((cls.operator | cls.colleague).ids)]}
        )

    def _visitor_asks(self, name="Visitor"):
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session", {"anonymous_name": name, "channel_id": self.livechat.id, "persisted": True}
        )
        return self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])

    def _facts(self, session):
        session.invalidate_recordset()
        return session.livechat_failure, session.livechat_outcome

    def test_answered_when_a_human_operator_writes(self):
        self.livechat.user_ids = [Command.set(self.operator.ids)]
        session = self._visitor_asks()
        self.assertEqual(self._facts(session), ("no_answer", "no_answer"), "an operator joined, nobody answered")
        post_over_http(self, session, "Hello? Anybody?")
        self.assertEqual(self._facts(session), ("no_answer", "no_answer"), "the visitor writing is no answer")
        self.authenticate("ext_f23_op", "ext_f23_op")
        post_over_http(self, session, "Hello, how can I help?")
        self.assertEqual(self._facts(session), ("no_failure", "no_failure"))
        self.assertEqual(session.livechat_line_wait, 0, "never waited")

    def test_a_transfer_escalates(self):
        self.livechat.user_ids = [Command.set(self.operator.ids)]
        self.env["im_livechat.channel"].create({"name": "F23 customs", "user_ids": [Command.set(self.colleague.ids)]})
        session = self._visitor_asks()
        self.assertEqual(
            call_as(
                self,
                self.operator,
                "discuss.channel",
                "execute_command_transfer",
                [[session.id]],
                {"body": "/transfer Customs duties"},
            )[0],
            "ok",
        )
        self.assertEqual(session.livechat_operator_id, self.colleague.partner_id)
        self.assertEqual(self._facts(session), ("no_answer", "escalated"))
        self.authenticate("ext_f23_colleague", "ext_f23_colleague")
        post_over_http(self, session, "I know customs")
        self.assertEqual(self._facts(session), ("no_failure", "escalated"))

    def test_line_wait_and_estimate_then_served(self):
        self.livechat.write({"max_sessions_mode": "limited", "max_sessions": 1, "waiting_line": True})
        busy = ongoing_chat(self.env, self.livechat, self.operator) | ongoing_chat(
            self.env, self.livechat, self.colleague
        )
        # history: three chats of 4 minutes, so that the line shows an estimate
        for _i in range(3):
            past = ongoing_chat(self.env, self.livechat, self.operator, name="Past")
            message = past.message_post(body="Bye", message_type="comment")
            past.livechat_active = False
            self.env.cr.execute(
                "UPDATE discuss_channel SET create_date = now() at time zone 'utc' - interval '2 hours' WHERE id = %s",
                [past.id],
            )
            self.env.cr.execute(
                "UPDATE mail_message SET date = now() at time zone 'utc' - interval '116 minutes' WHERE id = %s",
                [message.id],
            )
        self.env.invalidate_all()
        session = self._visitor_asks()
        self.assertTrue(session.livechat_waiting_since)
        self.assertEqual(self._facts(session), ("no_agent", "no_agent"))
        self.assertGreater(session.livechat_line_estimate, 0, "the estimate shown is kept")
        self.assertEqual(session.livechat_line_estimate, session.livechat_expected_wait)
        session.sudo().livechat_waiting_since = fields.Datetime.now() - timedelta(seconds=95)
        busy[0]._close_livechat_session()
        session.invalidate_recordset()
        self.assertFalse(session.livechat_waiting_since, "served")
        self.assertAlmostEqual(session.livechat_line_wait, 95, delta=3)
        self.assertEqual(self._facts(session), ("no_answer", "no_answer"))

    def test_a_missed_visitor_has_nobody_available(self):
        self.livechat.write(
            {"max_sessions_mode": "limited", "max_sessions": 1, "waiting_line": True, "max_wait_time": 60}
        )
        ongoing_chat(self.env, self.livechat, self.operator)
        ongoing_chat(self.env, self.livechat, self.colleague)
        session = self._visitor_asks()
        self.assertTrue(session.livechat_waiting_since, "in line")
        session.sudo().livechat_waiting_since = fields.Datetime.now() - timedelta(seconds=61)
        self.livechat._dispatch_waiting_visitors()
        session.invalidate_recordset()
        self.assertFalse(session.livechat_waiting_since)
        self.assertEqual(self._facts(session), ("no_agent", "no_agent"))
        self.assertAlmostEqual(session.livechat_line_wait, 61, delta=3)
        missed = self.env["discuss.channel"].search([("livechat_failure", "=", "no_agent"), ("id", "=", session.id)])
        self.assertEqual(missed, session, "what the Missed filter of Sessions History finds")

    def test_nobody_writes_the_facts_over_rpc(self):
        self.livechat.user_ids = [Command.set(self.operator.ids)]
        session = self._visitor_asks()
        for values in (
            {"livechat_failure": "no_failure"},
            {"livechat_is_escalated": True},
            {"livechat_line_wait": 1},
            {"livechat_line_estimate": 1},
        ):
            with self.subTest(values=values):
                error, _message = call_as(self, self.operator, "discuss.channel", "write", [[session.id], values])
                self.assertEqual(error, "odoo.exceptions.AccessError")
        error, _message = call_as(
            self,
            self.operator,
            "discuss.channel",
            "create",
            [{"name": "Fake", "channel_type": "livechat", "livechat_channel_id": self.livechat.id}],
            {"context": {"default_livechat_failure": "no_failure"}},
        )
        self.assertEqual(error, "odoo.exceptions.AccessError")
        self.assertEqual(self._facts(session), ("no_answer", "no_answer"))

    def test_a_context_key_sent_over_rpc_changes_nothing(self):
        """The key the module sets while it creates sessions is no JSON value:
        a member inviting a colleague with it still escalates the chat."""
        self.livechat.user_ids = [Command.set(self.operator.ids)]
        session = self._visitor_asks()
        error, _result = call_as(
            self,
            self.operator,
            "discuss.channel",
            "add_members",
            [[session.id]],
            {"partner_ids": self.colleague.partner_id.ids, "context": {"livechat_creating_sessions": True}},
        )
        self.assertEqual(error, "ok")
        self.assertEqual(self._facts(session), ("no_answer", "escalated"))

    def test_an_employee_chatting_as_a_visitor_is_no_second_operator(self):
        self.livechat.user_ids = [Command.set(self.operator.ids)]
        new_test_user(self.env, login="ext_f23_employee", groups="base.group_user")
        self.authenticate("ext_f23_employee", "ext_f23_employee")
        session = self._visitor_asks("Employee")
        self.assertEqual(session.livechat_operator_id, self.operator.partner_id)
        self.assertEqual(self._facts(session), ("no_answer", "no_answer"), "not escalated by its own visitor")

    def test_visitors_receive_no_outcome(self):
        self.livechat.user_ids = [Command.set(self.operator.ids)]
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session", {"anonymous_name": "Curious", "channel_id": self.livechat.id, "persisted": True}
        )
        self.assertNotIn("livechat_failure", str(data))
        self.assertNotIn("livechat_outcome", str(data))


@tagged("post_install", "-at_install")
class TestOutcomeReportAndBoard(HttpCase):
    """F23: the Sessions report groups by outcome and shows the wait beside
    the estimate; the channel card counts present, free, waiting, missed."""

    def test_report_and_board(self):
        operator = new_test_user(
            self.env, login="ext_board_op", groups="base.group_user,im_livechat.im_livechat_group_user"
        )
        self.env["bus.presence"].create({"user_id": operator.id, "status": "online"})
        expertise = self.env["im_livechat.expertise"].create({"name": "Board subject"})
        livechat = self.env["im_livechat.channel"].create(
            {
                "name": "Board",
                "user_ids": [Command.set(operator.ids)],
                "max_sessions_mode": "limited",
                "max_sessions": 2,
                "waiting_line": True,
                "max_wait_time": 60,
            }
        )
        served = ongoing_chat(self.env, livechat, operator)
        served.livechat_expertise_ids = expertise
        served.with_user(operator).message_post(body="Hello!", message_type="comment")
        self.assertEqual(served.livechat_outcome, "no_failure")
        livechat.invalidate_recordset()
        self.assertEqual((livechat.present_operator_count, livechat.free_slot_count), (1, 1))
        ongoing_chat(self.env, livechat, operator)
        waiting = self.env["discuss.channel"].create(livechat._get_livechat_discuss_channel_vals("Wendy"))
        waiting.sudo().write(
            {"livechat_waiting_since": fields.Datetime.now() - timedelta(minutes=3), "livechat_line_estimate": 60}
        )
        livechat.invalidate_recordset()
        self.assertEqual((livechat.free_slot_count, livechat.waiting_count, livechat.longest_wait_minutes), (0, 1, 3))
        livechat._dispatch_waiting_visitors()  # past its maximum wait: missed
        livechat.invalidate_recordset()
        self.assertEqual((livechat.waiting_count, livechat.missed_today_count), (0, 1))
        self.env.flush_all()
        Report = self.env["im_livechat.report.channel"]
        Report.invalidate_model()
        by_outcome = dict(
            Report._read_group([("livechat_channel_id", "=", livechat.id)], ["livechat_outcome"], ["__count"])
        )
        self.assertEqual(by_outcome.get("no_failure"), 1)
        self.assertEqual(by_outcome.get("no_agent"), 1)
        missed_row = Report.search([("channel_id", "=", waiting.id)])
        self.assertAlmostEqual(missed_row.livechat_line_wait, 180, delta=3)
        self.assertEqual(missed_row.livechat_line_estimate, 60)
        self.assertAlmostEqual(missed_row.livechat_estimate_error, 2 / 3, delta=0.03, msg="shown 1 min, waited 3")
        self.assertEqual(missed_row.livechat_underestimated, 1)
        by_expertise = Report._read_group(
            [("livechat_channel_id", "=", livechat.id)], ["livechat_expertise_ids", "livechat_outcome"], ["__count"]
        )
        self.assertIn((expertise, "no_failure", 1), by_expertise)

    def test_the_wait_pivot_gives_medians(self):
        """The pivot of waits by hour of day: the median wait, estimate and
        error of the visitors who waited (one long wait does not make the
        hour look slow), beside the share of underestimates."""
        livechat = self.env["im_livechat.channel"].create({"name": "Medians"})
        operator = new_test_user(self.env, login="ext_median_op", groups="base.group_user")
        sessions = self.env["discuss.channel"]
        for wait in (60, 120, 600, 0):
            session = ongoing_chat(self.env, livechat, operator)
            session.with_user(operator).message_post(body="Hello", message_type="comment")  # the report's sessions
            session.sudo().write({"livechat_line_wait": wait, "livechat_line_estimate": 60 if wait else 0})
            sessions |= session
        self.env.flush_all()
        Report = self.env["im_livechat.report.channel"]
        [row] = Report.read_group(
            [("channel_id", "in", sessions.ids)],
            ["livechat_line_wait", "livechat_line_estimate", "livechat_estimate_error", "livechat_underestimated"],
            [],
        )
        self.assertEqual(row["livechat_line_wait"], 120, "the median of 60, 120 and 600 s; who never waited aside")
        self.assertEqual(row["livechat_line_estimate"], 60)
        self.assertAlmostEqual(row["livechat_estimate_error"], 0.5, msg="errors 0, 0.5 and 0.9")
        self.assertAlmostEqual(row["livechat_underestimated"], 2 / 3, msg="two of three waited longer than shown")
