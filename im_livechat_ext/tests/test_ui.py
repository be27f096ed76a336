import threading
import time

from odoo import SUPERUSER_ID, Command, api
from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.bus.tests.common import WebsocketCase

from .common import full_channel_with_a_line


@tagged("post_install", "-at_install")
class TestUi(HttpCase):
    def test_expertise_menu_and_preferences_tour(self):
        manager = new_test_user(
            self.env,
            login="ext_tour_manager",
            groups="base.group_user,im_livechat.im_livechat_group_manager",
        )
        operator_a, operator_b = (
            new_test_user(self.env, login=login, name=name, groups="base.group_user,im_livechat.im_livechat_group_user")
            for login, name in (("ext_tour_op_a", "Tour Operator A"), ("ext_tour_op_b", "Tour Operator B"))
        )
        self.start_tour(
            "/odoo/action-im_livechat_ext.im_livechat_expertise_action",
            "im_livechat_ext_expertise_and_preferences",
            login="ext_tour_manager",
        )
        expertise = self.env["im_livechat.expertise"].search([("name", "=", "Tour Warranty")])
        self.assertEqual(len(expertise), 1)
        self.assertEqual(manager.livechat_username, "Tour Chat Name")
        self.assertEqual(manager.livechat_expertise_ids, expertise)
        self.assertEqual(expertise.user_ids, manager | operator_a | operator_b)

    def test_join_leave_tour(self):
        operator = new_test_user(
            self.env, login="ext_tour_operator", groups="base.group_user,im_livechat.im_livechat_group_user"
        )
        other = new_test_user(
            self.env, login="ext_tour_other", groups="base.group_user,im_livechat.im_livechat_group_user"
        )
        channel = self.env["im_livechat.channel"].create({"name": "Tour Channel", "user_ids": [Command.set(other.ids)]})
        self.start_tour("/odoo/livechat", "im_livechat_ext_join_leave", login="ext_tour_operator")
        self.assertNotIn(operator, channel.user_ids)
        self.assertEqual(channel.user_ids, other)

    def test_spanish_operator_tour(self):
        """#30: the demo's Spanish operator reads stock's words in Spanish too
        once the language's translations are loaded (as ./dev.sh run does)."""
        self.env["res.lang"]._activate_lang("es_ES")
        self.env["ir.module.module"].search(
            [("name", "in", ["base", "web", "mail", "im_livechat", "im_livechat_ext"])]
        )._update_translations(filter_lang=["es_ES"])
        operator = new_test_user(
            self.env,
            login="ext_tour_spanish",
            groups="base.group_user,im_livechat.im_livechat_group_user",
            lang="es_ES",
            tz="Europe/Madrid",
        )
        self.env["bus.presence"].create({"user_id": operator.id, "status": "online"})
        self.env["im_livechat.channel"].create({"name": "Canal Tour"})
        self.start_tour("/odoo/livechat", "im_livechat_ext_spanish_operator", login="ext_tour_spanish")

    def test_outcome_report_tour(self):
        new_test_user(
            self.env, login="ext_tour_report_manager", groups="base.group_user,im_livechat.im_livechat_group_manager"
        )
        self.start_tour(
            "/odoo/action-im_livechat.im_livechat_report_channel_action",
            "im_livechat_ext_outcome_report",
            login="ext_tour_report_manager",
        )

    def test_waiting_line_menu_tour(self):
        new_test_user(
            self.env, login="ext_tour_line_reader", groups="base.group_user,im_livechat.im_livechat_group_user"
        )
        operator = new_test_user(
            self.env, login="ext_tour_line_busy", groups="base.group_user,im_livechat.im_livechat_group_user"
        )
        self.env["bus.presence"].create({"user_id": operator.id, "status": "online"})
        livechat, _busy = full_channel_with_a_line(self.env, "Tour Line", operator)
        waiting = self.env["discuss.channel"].create(livechat._get_livechat_discuss_channel_vals("Waiting Wanda"))
        self.assertTrue(waiting.livechat_waiting_since)
        self.start_tour("/odoo/livechat", "im_livechat_ext_waiting_line_menu", login="ext_tour_line_reader")


@tagged("post_install", "-at_install")
class TestTransferTour(WebsocketCase):
    """/transfer as operators live it, over the real websocket (stock Odoo
    disables it in tests unless asked)."""

    def test_transfer_tour(self):
        operator = new_test_user(
            self.env, login="ext_tour_transferring", groups="base.group_user,im_livechat.im_livechat_group_user"
        )
        expert = new_test_user(
            self.env,
            login="ext_tour_billing_expert",
            name="Billing Expert",
            groups="base.group_user,im_livechat.im_livechat_group_user",
        )
        for user in operator | expert:
            self.env["bus.presence"].create({"user_id": user.id, "status": "online"})
        self.env["im_livechat.expertise"].create({"name": "Billing Tour", "user_ids": [Command.set(expert.ids)]})
        livechat = self.env["im_livechat.channel"].create(
            {"name": "Tour Transfer", "user_ids": [Command.set(operator.ids)]}
        )
        # the expert answers the billing channel: /transfer reaches operators only
        self.env["im_livechat.channel"].create({"name": "Tour Billing", "user_ids": [Command.set(expert.ids)]})
        # the visitor opens the chat and writes, over HTTP as the guest
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session", {"anonymous_name": "Tina", "channel_id": livechat.id, "persisted": True}
        )
        session = self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])
        self.make_jsonrpc_request(
            "/mail/message/post",
            {
                "thread_model": "discuss.channel",
                "thread_id": session.id,
                "post_data": {"body": "Can someone help with my invoice?", "message_type": "comment"},
            },
        )

        def wake_the_operator_once_transferred():
            # the bus wakes websockets after commit, which test cursors skip
            deadline = time.time() + 30
            while time.time() < deadline:
                time.sleep(0.3)
                with self.registry.cursor() as cr:
                    transferred = api.Environment(cr, SUPERUSER_ID, {})["discuss.channel"].browse(session.id)
                    if transferred.livechat_operator_id.id == expert.partner_id.id:
                        break
            self.trigger_notification_dispatching([operator.partner_id])

        self.env.flush_all()
        self.cr.flush()
        thread = threading.Thread(target=wake_the_operator_once_transferred)
        thread.start()
        try:
            self.start_tour(
                f"/odoo/discuss?active_id=discuss.channel_{session.id}",
                "im_livechat_ext_transfer",
                login=operator.login,
            )
        finally:
            thread.join()
        self.assertEqual(session.livechat_operator_id, expert.partner_id)
        self.assertNotIn(operator.partner_id, session.channel_member_ids.partner_id)
        self.assertIn(expert.partner_id, session.channel_member_ids.partner_id)
        self.start_tour(
            f"/odoo/discuss?active_id=discuss.channel_{session.id}",
            "im_livechat_ext_transfer_expert",
            login=expert.login,
        )
