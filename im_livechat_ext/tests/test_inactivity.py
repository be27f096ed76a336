from datetime import timedelta

from odoo import Command, fields
from odoo.tests import tagged

from .common import LivechatRoutingCase


@tagged("post_install", "-at_install")
class TestInactivity(LivechatRoutingCase):
    def _idle_for(self, operator, minutes):
        presence = self.env["bus.presence"].search([("user_id", "=", operator.id)])
        presence.last_presence = fields.Datetime.now() - timedelta(minutes=minutes)

    def test_cron_removes_inactive_operators(self):
        active = self._operator("Active")
        idle = self._operator("Idle")
        never = self._operator("Never", status=None)
        self._idle_for(idle, 45)
        other = self.env["im_livechat.channel"].create(
            {"name": "Patient", "operator_inactivity_timeout": 0, "user_ids": [Command.set(idle.ids)]}
        )
        self.env["im_livechat.channel"]._cron_remove_inactive_operators()
        self.assertEqual(self.livechat.user_ids, active, "idle for 45 > 30 minutes and never seen: removed")
        self.assertEqual(other.user_ids, idle, "timeout 0 never removes")
        removals = self.env["im_livechat.operator.removal"].search([("channel_id", "=", self.livechat.id)])
        self.assertEqual(removals.user_id, idle | never)
        self.assertEqual(set(removals.mapped("timeout")), {30})
        notice = self.env["mail.message"].search(
            [("model", "=", "discuss.channel"), ("body", "ilike", "without activity")],
            order="id desc",
            limit=2,
        )
        self.assertEqual(len(notice), 2, "each removed operator is told in Discuss")
        # idempotent
        self.env["im_livechat.channel"]._cron_remove_inactive_operators()
        self.assertEqual(self.livechat.user_ids, active)
        self.assertEqual(
            self.env["im_livechat.operator.removal"].search_count([("channel_id", "=", self.livechat.id)]), 2
        )

    def test_cron_is_scheduled(self):
        cron = self.env.ref("im_livechat_ext.ir_cron_remove_inactive_operators")
        self.assertTrue(cron.active)
        self.assertLessEqual(cron.interval_number, 10)
        self.assertEqual(cron.interval_type, "minutes")
