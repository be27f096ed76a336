import logging
import threading
import time
from datetime import timedelta

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.bus.tests.common import WebsocketCase

from .common import full_channel_with_a_line

_logger = logging.getLogger(__name__)


def online_operator(env, login, name):
    """A Live Chat user, online."""
    user = new_test_user(env, login=login, name=name, groups="base.group_user,im_livechat.im_livechat_group_user")
    env["bus.presence"].create({"user_id": user.id, "status": "online"})
    return user


def line_bot(env, title, after_forward):
    """A bot whose one question, answered "My order", forwards to an
    operator, then says `after_forward` (its steps for "nobody available")."""
    bot = env["chatbot.script"].create({"title": title})
    question = env["chatbot.script.step"].create(
        {"chatbot_script_id": bot.id, "step_type": "question_selection", "message": "What is your question about?"}
    )
    answer = env["chatbot.script.answer"].create({"name": "My order", "script_step_id": question.id})
    env["chatbot.script.step"].create(
        [
            {
                "chatbot_script_id": bot.id,
                "step_type": "forward_operator",
                "message": "Let me find someone.",
                "triggering_answer_ids": [Command.set(answer.ids)],
            },
            *({"chatbot_script_id": bot.id, **step} for step in after_forward),
        ]
    )
    return bot


@tagged("-standard", "im_livechat_ext_website", "post_install", "-at_install")
class TestVisitorTour(HttpCase):
    """Run by ./dev.sh test in its website_livechat database."""

    def test_chatbot_forwards_to_the_expert(self):
        invoicing = self.env["im_livechat.expertise"].create({"name": "Invoicing (tour)"})
        expert = online_operator(self.env, "ext_tour_expert", "Adelaide Expert")
        generalist = online_operator(self.env, "ext_tour_generalist", "Gil Generalist")
        expert.write({"livechat_username": "Ada", "livechat_expertise_ids": [Command.set(invoicing.ids)]})
        bot = self.env["chatbot.script"].create({"title": "Tour Bot"})
        question = self.env["chatbot.script.step"].create(
            {"chatbot_script_id": bot.id, "step_type": "question_selection", "message": "What is your question about?"}
        )
        invoice, other = self.env["chatbot.script.answer"].create(
            [
                {"name": "An invoice or a payment", "script_step_id": question.id},
                {"name": "Something else", "script_step_id": question.id},
            ]
        )
        self.env["chatbot.script.step"].create(
            {
                "chatbot_script_id": bot.id,
                "step_type": "forward_operator",
                "message": "Let me find an accountant.",
                "operator_expertise_ids": [Command.set(invoicing.ids)],
                "triggering_answer_ids": [Command.set(invoice.ids)],
            }
        )
        livechat = self.env["im_livechat.channel"].create(
            {
                "name": "Tour support",
                "user_ids": [Command.set((expert | generalist).ids)],
                "rule_ids": [Command.create({"regex_url": "/", "action": "auto_popup", "chatbot_script_id": bot.id})],
            }
        )
        self.env.ref("website.default_website").channel_id = livechat
        self.start_tour("/", "im_livechat_ext_chatbot_expertise_tour")
        session = self.env["discuss.channel"].search([("livechat_channel_id", "=", livechat.id)])
        self.assertEqual(len(session), 1)
        self.assertIn(expert.partner_id, session.channel_member_ids.partner_id)
        self.assertNotIn(generalist.partner_id, session.channel_member_ids.partner_id)
        self.assertEqual(session.livechat_expertise_ids, invoicing)
        self.assertTrue(session.livechat_routing_reason.startswith("Ada: "))

    def test_chatbot_forwards_into_the_line_and_stops(self):
        """Every operator is full: the bot's forward step puts the visitor in
        line and its script stops there; the visitor writes while waiting,
        also after reloading the page, and the bot asks nothing more."""
        operator = online_operator(self.env, "ext_tour_bot_line_op", "Bot Line Operator")
        # written for "nobody available": never reached by a visitor in line
        bot = line_bot(self.env, "Line Bot", [{"step_type": "question_email", "message": "Leave us your email"}])
        livechat, _busy = full_channel_with_a_line(
            self.env,
            "Tour bot line",
            operator,
            rule_ids=[Command.create({"regex_url": "/", "action": "auto_popup", "chatbot_script_id": bot.id})],
        )
        self.env.ref("website.default_website").channel_id = livechat
        self.start_tour("/", "im_livechat_ext_chatbot_line_tour")
        session = self.env["discuss.channel"].search(
            [("livechat_channel_id", "=", livechat.id), ("chatbot_current_step_id", "!=", False)]
        )
        self.assertEqual(len(session), 1)
        self.assertTrue(session.livechat_waiting_since, "the visitor waits in line")
        bodies = " ".join(session.message_ids.mapped("body"))
        self.assertIn("Still here", bodies, "written after the reload")
        self.assertNotIn("Leave us your email", bodies, "the script stopped at its forward step")

    def test_closed_channel_says_when_it_opens(self):
        """Closed by its opening hours: the button stays, and a visitor of the
        French website who opens it reads in French when the team is back
        (in their browser's time zone, UTC here)."""
        operator = online_operator(self.env, "ext_tour_closed_op", "Closed Operator")
        other_day = (fields.Datetime.now().weekday() + 2) % 7
        calendar = self.env["resource.calendar"].create(
            {
                "name": "Tour hours",
                "tz": "UTC",
                "attendance_ids": [
                    Command.clear(),
                    Command.create({"name": "Open", "dayofweek": str(other_day), "hour_from": 9, "hour_to": 17}),
                ],
            }
        )
        livechat = self.env["im_livechat.channel"].create(
            {"name": "Tour closed", "user_ids": [Command.set(operator.ids)], "resource_calendar_id": calendar.id}
        )
        french = self.env["res.lang"]._activate_lang("fr_FR")
        website = self.env.ref("website.default_website")
        website.write({"channel_id": livechat.id, "language_ids": [Command.link(french.id)]})
        self.assertFalse(livechat.get_livechat_info()["available"], "as stock with nobody available")
        self.start_tour("/fr", "im_livechat_ext_closed_tour")
        self.assertFalse(self.env["discuss.channel"].search([("livechat_channel_id", "=", livechat.id)]))
        # the support page's loader carries it too
        loader = self.url_open(f"/im_livechat/loader/{livechat.id}").text
        self.assertIn("nextOpening", loader)
        self.assertIn("T09:00:00Z", loader)


@tagged("-standard", "im_livechat_ext_website", "post_install", "-at_install")
class TestWaitingLineTour(WebsocketCase):
    """The visitor's window follows the line live, over the real websocket
    (stock Odoo disables it in tests unless asked, as its own bus tests do)."""

    def test_visitor_waits_in_line_and_sees_the_operator_join(self):
        operator = online_operator(self.env, "ext_tour_line_op", "Line Operator")
        operator.livechat_username = "Lina"
        livechat, busy = full_channel_with_a_line(self.env, "Tour line", operator)
        self.env.ref("website.default_website").channel_id = livechat

        def operator_closes_a_chat_once_the_visitor_waits():
            # as the operator would, from another browser: a request of its own
            deadline = time.time() + 60
            while time.time() < deadline:
                time.sleep(0.5)
                waiting = None
                with self.registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    if env["mail.message"].search_count(
                        [("model", "=", "discuss.channel"), ("body", "ilike", "Still waiting")]
                    ):
                        env["discuss.channel"].browse(busy.id)._close_livechat_session()
                        waiting = env["discuss.channel"].search(
                            [("livechat_channel_id", "=", livechat.id), ("id", "!=", busy.id)]
                        )
                        cr.precommit.run()  # the bus.bus rows
                if waiting:
                    # the bus wakes websockets after commit, which test cursors skip
                    self.trigger_notification_dispatching([waiting])
                    _logger.info("waiting line tour: the operator's chat is closed")
                    return
            _logger.error("waiting line tour: the visitor never wrote")

        # start_tour flushes this transaction on the test's own cursor, which
        # the thread's requests share: done now, before the thread exists
        self.env.flush_all()
        self.cr.flush()
        thread = threading.Thread(target=operator_closes_a_chat_once_the_visitor_waits)
        thread.start()
        try:
            self.start_tour("/", "im_livechat_ext_waiting_line_tour")
        finally:
            thread.join()
        session = self.env["discuss.channel"].search([("livechat_channel_id", "=", livechat.id), ("id", "!=", busy.id)])
        self.assertEqual(session.livechat_operator_id, operator.partner_id)
        self.assertFalse(session.livechat_waiting_since)

    def test_missed_visitor_meets_the_bot_again(self):
        """Nobody frees up before the maximum wait: the visitor is told, and
        the bot that put them in line goes on: it takes their email."""
        operator = online_operator(self.env, "ext_tour_missed_op", "Missed Operator")
        bot = line_bot(
            self.env,
            "Missed Bot",
            [
                {"step_type": "question_email", "message": "Leave us your email"},
                {"step_type": "text", "message": "Thanks! We will write to you."},
            ],
        )
        livechat, _busy = full_channel_with_a_line(
            self.env,
            "Tour missed",
            operator,
            max_wait_time=60,
            rule_ids=[Command.create({"regex_url": "/", "action": "auto_popup", "chatbot_script_id": bot.id})],
        )
        self.env.ref("website.default_website").channel_id = livechat

        def the_maximum_wait_passes_once_the_visitor_waits():
            deadline = time.time() + 60
            while time.time() < deadline:
                time.sleep(0.5)
                missed = None
                with self.registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    waiting = env["discuss.channel"].search(
                        [("livechat_channel_id", "=", livechat.id), ("livechat_waiting_since", "!=", False)]
                    )
                    if waiting and env["mail.message"].search_count(
                        [
                            ("res_id", "=", waiting.id),
                            ("model", "=", "discuss.channel"),
                            ("body", "ilike", "I will wait"),
                        ]
                    ):
                        waiting.livechat_waiting_since = fields.Datetime.now() - timedelta(seconds=61)
                        env["im_livechat.channel"].browse(livechat.id)._dispatch_waiting_visitors()
                        missed = waiting
                        cr.precommit.run()
                if missed:
                    self.trigger_notification_dispatching([missed])
                    return
            _logger.error("missed tour: the visitor never waited")

        self.env.flush_all()
        self.cr.flush()
        thread = threading.Thread(target=the_maximum_wait_passes_once_the_visitor_waits)
        thread.start()
        try:
            self.start_tour("/", "im_livechat_ext_missed_tour")
        finally:
            thread.join()
        session = self.env["discuss.channel"].search(
            [("livechat_channel_id", "=", livechat.id), ("id", "!=", _busy.id)]
        )
        self.assertEqual(session.livechat_failure, "no_agent")
        self.assertTrue(session.livechat_active, "the session is kept")
        bodies = " ".join(session.message_ids.mapped("body"))
        self.assertIn("visitor@example.com", bodies)
        self.assertNotIn("in line", bodies, "the place message is gone")
