from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged

from ..hooks import pre_init_hook
from .common import LivechatRoutingCase


@tagged("post_install", "-at_install")
class TestChannelMembership(LivechatRoutingCase):
    def test_join_and_leave(self):
        operator = self._operator("Joiner", join=False)
        channel = self.livechat.with_user(operator)
        channel.action_join()
        self.assertIn(operator, self.livechat.user_ids)
        self.assertTrue(channel.are_you_inside)
        session = self._chat(operator)
        channel.action_quit()
        self.assertNotIn(operator, self.livechat.user_ids)
        self.assertTrue(session.exists(), "leaving never deletes sessions")

    def test_only_live_chat_users_may_join(self):
        employee = new_test_user(self.env, login="ext_plain_employee", groups="base.group_user")
        with self.assertRaisesRegex(AccessError, "Only Live Chat users can join"):
            self.livechat.with_user(employee).action_join()
        self.assertNotIn(employee, self.livechat.user_ids)

    def test_existing_channels_keep_their_operators_at_install(self):
        """Installing changes nothing for channels that exist: their inactivity
        timeout starts at 0 (never remove); new channels get 30 minutes."""
        existing = self.livechat
        self.env.flush_all()
        self.env.cr.execute("ALTER TABLE im_livechat_channel DROP COLUMN operator_inactivity_timeout")
        pre_init_hook(self.env)  # as at install, before the module's models exist
        self.env.invalidate_all()
        self.assertEqual(existing.operator_inactivity_timeout, 0)
        created = self.env["im_livechat.channel"].create({"name": "After install"})
        self.assertEqual(created.operator_inactivity_timeout, 30)
        help_text = self.env["im_livechat.channel"]._fields["operator_inactivity_timeout"].help
        self.assertIn("0 never removes", help_text)

    def test_counts_on_the_card(self):
        self._operator("Online")
        self._operator("Away", status="away")
        self.assertEqual(self.livechat.operator_count, 2)
        self.assertEqual(self.livechat.available_operator_count, 1)

    def test_channel_settings_validation(self):
        for values in ({"max_sessions": 0}, {"max_sessions": -3}, {"operator_inactivity_timeout": -1}):
            with self.assertRaises(ValidationError), self.env.cr.savepoint():
                self.livechat.write(values)
