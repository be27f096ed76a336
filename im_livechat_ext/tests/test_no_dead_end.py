import json
from datetime import timedelta

from odoo import Command, fields
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from ..models.discuss_channel_missed import MISSED_BATCH
from .common import ongoing_chat, post_over_http, rpc_error


@tagged("post_install", "-at_install")
class TestNoDeadEndOverHttp(HttpCase):
    """F22: a visitor nobody will serve is missed, and then the chatbot goes
    on after its forward step, or the channel's script for "no operator"
    starts in the session."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.operator = new_test_user(
            cls.env, login="ext_f22_op", name="Busy One", groups="base.group_user,im_livechat.im_livechat_group_user"
        )
        cls.env["bus.presence"].create({"user_id": cls.operator.id, "status": "online"})
        Step = cls.env["chatbot.script.step"]
        cls.bot = cls.env["chatbot.script"].create({"title": "Front Desk Bot"})
        Step.create(
            [
                {"chatbot_script_id": cls.bot.id, "step_type": "free_input_single", "message": "Your question?"},
                {"chatbot_script_id": cls.bot.id, "step_type": "forward_operator", "message": "Finding someone"},
                {
                    "chatbot_script_id": cls.bot.id,
                    "step_type": "question_email",
                    "message": "Nobody is free. Your email?",
                },
                {"chatbot_script_id": cls.bot.id, "step_type": "text", "message": "Thanks, we will write to you."},
            ]
        )
        cls.offline_bot = cls.env["chatbot.script"].create({"title": "Night Bot"})
        Step.create(
            [
                {"chatbot_script_id": cls.offline_bot.id, "step_type": "text", "message": "We are all busy."},
                {
                    "chatbot_script_id": cls.offline_bot.id,
                    "step_type": "question_email",
                    "message": "Leave your email?",
                },
            ]
        )
        cls.livechat = cls.env["im_livechat.channel"].create(
            {
                "name": "F22",
                "user_ids": [Command.set(cls.operator.ids)],
                "max_sessions_mode": "limited",
                "max_sessions": 1,
                "waiting_line": True,
                "max_wait_time": 120,
            }
        )
        ongoing_chat(cls.env, cls.livechat, cls.operator)

    def _miss(self, session):
        session.sudo().livechat_waiting_since = fields.Datetime.now() - timedelta(seconds=121)
        self.livechat._dispatch_waiting_visitors()
        self.env.invalidate_all()

    def _resume_notices(self, session):
        return (
            self.env["bus.bus"]
            .sudo()
            .search_count(
                [
                    ("message", "like", "im_livechat_ext/chatbot_resume"),
                    ("message", "like", f'"channel_id":{session.id}'),
                ]
            )
        )

    def _bodies(self, session):
        history = self.make_jsonrpc_request("/discuss/channel/messages", {"channel_id": session.id})
        return " ".join(str(m.get("body")) for m in history["data"]["mail.message"])

    def test_the_chatbot_goes_on_after_its_forward_step(self):
        self.livechat.rule_ids = [Command.create({"chatbot_script_id": self.bot.id})]
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session",
            {"anonymous_name": "Visitor", "channel_id": self.livechat.id, "chatbot_script_id": self.bot.id},
        )
        session = self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])
        post_over_http(self, session, "Where is my parcel?")
        forward = self.make_jsonrpc_request("/chatbot/step/trigger", {"channel_id": session.id})
        self.assertTrue(session.livechat_waiting_since, "the forward step put the visitor in line")
        self.assertEqual([step["operatorFound"] for step in forward["ChatbotStep"]], [True], "the script pauses")
        self._miss(session)
        self.assertFalse(session.livechat_waiting_since)
        self.assertEqual(session.livechat_failure, "no_agent")
        self.assertIn("Nobody can answer this chat now", self._bodies(session))
        self.assertEqual(self._resume_notices(session), 1, "the visitor's window is told to go on")
        after = self.make_jsonrpc_request("/chatbot/step/trigger", {"channel_id": session.id})
        self.assertEqual(after["ChatbotStep"][0]["operatorFound"], False)
        self.assertIn("Your email?", self._bodies(session), "the step after the forward step")
        self.assertEqual(session.chatbot_current_step_id.step_type, "question_email")

    def test_the_offline_script_starts_in_a_direct_session(self):
        self.livechat.rule_ids = [
            Command.create({"chatbot_script_id": self.offline_bot.id, "chatbot_only_if_no_operator": True})
        ]
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session", {"anonymous_name": "Visitor", "channel_id": self.livechat.id}
        )
        session = self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])
        self.assertTrue(session.livechat_waiting_since)
        self._miss(session)
        self.assertEqual(session.livechat_operator_id, self.offline_bot.operator_partner_id)
        self.assertIn(self.offline_bot.operator_partner_id, session.channel_member_ids.partner_id)
        self.assertEqual(session.chatbot_current_step_id.step_type, "question_email")
        bodies = self._bodies(session)
        self.assertIn("Nobody can answer this chat now", bodies)
        self.assertIn("We are all busy.", bodies)
        self.assertEqual(self._resume_notices(session), 1)
        post_over_http(self, session, "visitor@example.com")
        answer = self.make_jsonrpc_request("/chatbot/step/validate_email", {"channel_id": session.id})
        self.assertTrue(answer["success"], "the offline script takes the visitor's email")
        self.make_jsonrpc_request("/chatbot/step/trigger", {"channel_id": session.id})
        # the visitor leaves; an operator answers later, in the chat and by email
        self.authenticate("ext_f22_op", "ext_f22_op")
        self.make_jsonrpc_request(
            "/web/dataset/call_kw/discuss.channel/action_livechat_answer",
            {"model": "discuss.channel", "method": "action_livechat_answer", "args": [[session.id]], "kwargs": {}},
        )
        post_over_http(self, session, "Sorry for the wait: your parcel left today.")
        mail = self.env["mail.mail"].sudo().search([("email_to", "=", "visitor@example.com")])
        self.assertEqual(len(mail), 1, "the answer goes to the address left to the chatbot")
        self.assertIn("your parcel left today", mail.body_html)

    def test_without_a_script_the_notice_alone(self):
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session", {"anonymous_name": "Visitor", "channel_id": self.livechat.id}
        )
        session = self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])
        self._miss(session)
        self.assertFalse(session.chatbot_current_step_id)
        self.assertEqual(self._resume_notices(session), 0)
        self.assertTrue(session.livechat_active, "the session stays open")
        self.assertIn("Nobody can answer this chat now", self._bodies(session))

    def test_an_operator_answers_a_missed_session(self):
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session", {"anonymous_name": "Visitor", "channel_id": self.livechat.id}
        )
        session = self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])
        self._miss(session)
        Live = "base.group_user,im_livechat.im_livechat_group_user"
        new_test_user(self.env, login="ext_f22_outsider", groups=Live)
        colleague = new_test_user(self.env, login="ext_f22_later", name="Later", groups=Live)
        self.livechat.user_ids = [Command.link(colleague.id)]
        # a Live Chat user of another team neither finds nor takes it
        self.authenticate("ext_f22_outsider", "ext_f22_outsider")
        self.assertEqual(
            rpc_error(self, "discuss.channel", "read", [[session.id], ["name"]]), "odoo.exceptions.AccessError"
        )
        self.assertEqual(
            rpc_error(self, "discuss.channel", "action_livechat_answer", [[session.id]]), "odoo.exceptions.AccessError"
        )
        self.authenticate("ext_f22_later", "ext_f22_later")
        missed = self.make_jsonrpc_request(
            "/web/dataset/call_kw/discuss.channel/search_read",
            {
                "model": "discuss.channel",
                "method": "search_read",
                "args": [[("livechat_failure", "=", "no_agent"), ("livechat_waiting_since", "=", False)]],
                "kwargs": {"fields": ["id"]},
            },
        )
        self.assertIn(session.id, [row["id"] for row in missed], "in the Missed filter")
        self.make_jsonrpc_request(
            "/web/dataset/call_kw/discuss.channel/action_livechat_answer",
            {"model": "discuss.channel", "method": "action_livechat_answer", "args": [[session.id]], "kwargs": {}},
        )
        self.make_jsonrpc_request(
            "/mail/message/post",
            {
                "thread_model": "discuss.channel",
                "thread_id": session.id,
                "post_data": {
                    "body": "Sorry for the wait, I am here now",
                    "message_type": "comment",
                    "subtype_xmlid": "mail.mt_comment",
                },
            },
        )
        self.env.invalidate_all()
        self.assertEqual(session.livechat_operator_id, colleague.partner_id)
        self.assertEqual(session.livechat_failure, "no_failure")
        self.assertIn("Later has joined", self._bodies(session), "the visitor sees who answers")
        self.assertEqual(
            rpc_error(self, "discuss.channel", "action_livechat_answer", [[session.id]]),
            "odoo.exceptions.UserError",
            "answered: nobody takes it again",
        )

    def test_a_bot_only_chat_is_neither_read_nor_taken_by_a_joiner(self):
        """A Live Chat user who joins the channel reads its missed chats, not
        its chatbot conversations (no human there either, never in line)."""
        self.livechat.rule_ids = [Command.create({"chatbot_script_id": self.bot.id})]
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session",
            {"anonymous_name": "Bot only", "channel_id": self.livechat.id, "chatbot_script_id": self.bot.id},
        )
        bot_chat = self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])
        self.assertEqual(bot_chat.livechat_failure, "no_agent")
        joiner = new_test_user(
            self.env, login="ext_f22_joiner", groups="base.group_user,im_livechat.im_livechat_group_user"
        )
        self.livechat.user_ids = [Command.link(joiner.id)]
        self.authenticate("ext_f22_joiner", "ext_f22_joiner")
        self.assertEqual(
            rpc_error(self, "discuss.channel", "read", [[bot_chat.id], ["name"]]), "odoo.exceptions.AccessError"
        )
        self.assertEqual(
            rpc_error(self, "discuss.channel", "action_livechat_answer", [[bot_chat.id]]), "odoo.exceptions.UserError"
        )
        self.assertNotIn(joiner.partner_id, bot_chat.channel_member_ids.partner_id)
        for values in ({"livechat_outcome": "no_failure"}, {"livechat_missed": True}):
            with self.subTest(values=values):
                self.assertEqual(
                    rpc_error(self, "discuss.channel", "write", [[bot_chat.id], values]), "odoo.exceptions.AccessError"
                )

    def test_reading_a_missed_chat_is_not_answering_it(self):
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session", {"anonymous_name": "Visitor", "channel_id": self.livechat.id}
        )
        session = self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])
        self._miss(session)
        reader = new_test_user(
            self.env, login="ext_f22_reader", groups="base.group_user,im_livechat.im_livechat_group_user"
        )
        self.livechat.user_ids = [Command.link(reader.id)]
        self.authenticate("ext_f22_reader", "ext_f22_reader")
        self.assertEqual(rpc_error(self, "discuss.channel", "read", [[session.id], ["name"]]), None, "found and read")
        with mute_logger("odoo.http"):
            response = self.url_open(
                "/mail/message/post",
                data=json.dumps(
                    {
                        "jsonrpc": "2.0",
                        "method": "call",
                        "params": {
                            "thread_model": "discuss.channel",
                            "thread_id": session.id,
                            "post_data": {"body": "Hi from outside", "message_type": "comment"},
                        },
                    }
                ),
                headers={"Content-Type": "application/json"},
            )
        self.assertIn("Take this chat with Answer", response.text)
        self.env.invalidate_all()
        self.assertNotIn("Hi from outside", " ".join(session.message_ids.mapped("body")))
        self.assertTrue(session.livechat_missed, "still missed: nobody answered")

    def test_missed_at_the_very_second_the_maximum_wait_ends(self):
        """The dispatch is triggered at waiting since + maximum wait, and
        times are whole seconds: it must take the visitor then, not a minute
        later."""
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session", {"anonymous_name": "Visitor", "channel_id": self.livechat.id}
        )
        session = self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])
        session.sudo().livechat_waiting_since = fields.Datetime.now() - timedelta(seconds=120)
        self.livechat._dispatch_waiting_visitors()
        self.env.invalidate_all()
        self.assertFalse(session.livechat_waiting_since)
        self.assertTrue(session.livechat_missed)

    def test_a_long_line_is_told_a_batch_at_a_time(self):
        """Closing time with many in line: a request that frees a slot tells
        MISSED_BATCH of them, the scheduled action (triggered at once) the
        rest; the cost of one dispatch does not grow with the line."""
        for index in range(25):
            self.env["discuss.channel"].create(self.livechat._get_livechat_discuss_channel_vals(f"Visitor {index}"))
        waiting = self.env["discuss.channel"].search(
            [("livechat_channel_id", "=", self.livechat.id), ("livechat_waiting_since", "!=", False)]
        )
        self.assertEqual(len(waiting), 25)
        waiting.sudo().livechat_waiting_since = fields.Datetime.now() - timedelta(seconds=121)
        self.livechat._dispatch_waiting_visitors()
        self.env.invalidate_all()
        self.assertEqual(len(waiting.filtered("livechat_missed")), MISSED_BATCH)
        self.livechat._dispatch_waiting_visitors()  # the scheduled action, triggered
        self.env.invalidate_all()
        self.assertEqual(len(waiting.filtered("livechat_missed")), 25)
        self.assertFalse(waiting.filtered("livechat_waiting_since"))
