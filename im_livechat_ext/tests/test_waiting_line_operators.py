from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged

from ..tools import waiting_line
from .common import call_as, full_channel_with_a_line


@tagged("post_install", "-at_install")
class TestLineEstimateAndTake(HttpCase):
    """F29 (SPEC F16/F23): an estimate from the first visitor on, in
    minutes; operators of the channel take a waiting visitor themselves."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        groups = "base.group_user,im_livechat.im_livechat_group_user"
        cls.operator = new_test_user(cls.env, login="ext_take_op", name="Busy Operator", groups=groups)
        cls.colleague = new_test_user(cls.env, login="ext_take_colleague", name="Tess Taker", groups=groups)
        cls.outsider = new_test_user(cls.env, login="ext_take_outsider", groups=groups)
        cls.env["bus.presence"].create({"user_id": cls.operator.id, "status": "online"})
        # a young channel: no finished chat yet
        cls.livechat, cls.busy = full_channel_with_a_line(cls.env, "Young line", cls.operator)
        cls.livechat.user_ids = [Command.link(cls.colleague.id)]

    def _visitor_asks(self, name):
        self.opener.cookies.clear()
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session", {"anonymous_name": name, "channel_id": self.livechat.id}
        )
        return self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])

    def _line(self):
        return self.env["im_livechat.waiting.line"].search([("channel_id", "=", self.livechat.id)])

    def test_blended_handling_time(self):
        self.assertEqual(waiting_line.blended_handling_seconds(0, 0, 300), 300, "no history: the prior")
        self.assertEqual(waiting_line.blended_handling_seconds(120, 1, 300), 240, "one chat of 2 min weighs a third")
        self.assertEqual(waiting_line.blended_handling_seconds(120, 3, 300), 120, "enough history: its own")
        self.assertEqual(waiting_line.blended_handling_seconds(120, 1, 0), 0, "no prior: unknown until then")
        self.assertEqual(waiting_line.wait_minutes(29), 1)
        self.assertEqual(waiting_line.wait_minutes(150), 2)
        self.assertEqual(waiting_line.wait_minutes(0), 0)

    def test_the_first_visitor_of_a_young_channel_gets_an_estimate_in_minutes(self):
        # colleague is offline: one operator present, one chat each, 5 minutes a chat
        first = self._visitor_asks("Ada")
        self.assertTrue(first.livechat_waiting_since)
        self.assertEqual(first.livechat_expected_wait, 300)
        self.assertEqual(first.livechat_line_estimate, 300, "the estimate shown is kept")
        history = self.make_jsonrpc_request("/discuss/channel/messages", {"channel_id": first.id})
        bodies = " ".join(str(m.get("body")) for m in history["data"]["mail.message"])
        self.assertIn("You are number 1 in line, about 5 minutes.", bodies)
        self.assertNotIn("second", bodies)
        line = self._line()
        self.assertEqual((line.visitor_name, line.expected_wait_minutes), ("Ada", 5))
        # an administrator sees and changes the prior
        self.livechat.expected_chat_duration = 120
        self.env.invalidate_all()
        self.assertEqual(self._line().expected_wait_minutes, 2)

    def test_an_operator_of_the_channel_takes_a_waiting_visitor(self):
        first, second = self._visitor_asks("Ada"), self._visitor_asks("Bob")
        ada, _bob = self._line().sorted("place")
        self.assertEqual(ada.visitor_name, "Ada", "the visitor's own name, not the session's")
        error, _message = call_as(self, self.outsider, "im_livechat.waiting.line", "action_take", [[ada.id]])
        self.assertEqual(error, "odoo.exceptions.AccessError", "not an operator of that channel")
        error, action = call_as(self, self.colleague, "im_livechat.waiting.line", "action_take", [[ada.id]])
        self.assertEqual(error, "ok")
        self.assertEqual(action["context"], {"active_id": first.id}, "opens the chat in Discuss")
        self.env.invalidate_all()
        self.assertFalse(first.livechat_waiting_since)
        self.assertEqual(first.livechat_operator_id, self.colleague.partner_id)
        self.assertIn("Taken by Tess Taker", first.sudo().livechat_routing_reason)
        self.assertEqual(second.livechat_queue_position, 1, "the line moves on")
        error, _message = call_as(self, self.colleague, "discuss.channel", "action_livechat_answer", [[first.id]])
        self.assertEqual(error, "odoo.exceptions.UserError", "taken: nobody takes it again")
