from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import LivechatRoutingCase


@tagged("post_install", "-at_install")
class TestSessionRights(LivechatRoutingCase):
    def test_routing_reason_for_managers_only(self):
        operator = self._operator("Worker")
        manager = new_test_user(
            self.env, login="ext_reason_manager", groups="base.group_user,im_livechat.im_livechat_group_manager"
        )
        session = self._chat(operator)
        session.sudo().livechat_routing_reason = "Worker: available, no ongoing chat"
        self.assertEqual(session.with_user(manager).livechat_routing_reason, "Worker: available, no ongoing chat")
        with self.assertRaises(AccessError):
            session.with_user(operator).read(["livechat_routing_reason"])
        self.assertNotIn("livechat_routing_reason", session.with_user(operator).fields_get())

    def test_channel_routing_page_for_managers(self):
        operator = self._operator("Setter")
        manager = new_test_user(
            self.env, login="ext_settings_manager", groups="base.group_user,im_livechat.im_livechat_group_manager"
        )
        Channel = self.env["im_livechat.channel"]
        self.assertIn('name="routing_priority"', Channel.with_user(manager).get_view(view_type="form")["arch"])
        self.assertNotIn('name="routing_priority"', Channel.with_user(operator).get_view(view_type="form")["arch"])


@tagged("post_install", "-at_install")
class TestRightsMatrix(LivechatRoutingCase):
    """Who may do what, one row per role, as a table anyone can read against SPEC."""

    ROLES = ("public", "portal", "employee", "operator", "manager", "admin")
    # action: roles allowed (all others must get an AccessError)
    MATRIX = {
        "read expertises": {"operator", "manager", "admin"},
        "create expertises": {"manager", "admin"},
        "edit expertises": {"manager", "admin"},
        "delete expertises": {"manager", "admin"},
        "read a colleague's expertise": {"operator", "manager", "admin"},
        "edit a colleague's chat name": {"admin"},
        "edit a colleague's expertise": {"admin"},
        "give a colleague an expertise from the expertise": {"manager", "admin"},
        "read the channel": {"public", "portal", "employee", "operator", "manager", "admin"},
        "read the channel's routing settings": {"employee", "operator", "manager", "admin"},
        "change the channel's routing settings": {"manager", "admin"},
        "create a channel with routing settings": {"manager", "admin"},
        "join and leave the channel": {"operator", "manager", "admin"},
        "read a session's expertise and language": {"operator", "manager", "admin"},
        "read a session's routing reason": {"manager", "admin"},
        "link an existing expertise to oneself": {"operator", "manager", "admin"},
        "create an expertise through one's own user": set(),
        "rename an expertise through one's own user": set(),
        "read when an operator last got a chat": {"admin"},
        "set a colleague's maximum of ongoing chats": {"manager", "admin"},
        "set one's own maximum of ongoing chats": {"manager", "admin"},
        "mark a session skipped or transferred": set(),
        "transfer a chat": {"operator", "manager", "admin"},
        "change a chat's operator or expertise": {"manager", "admin"},
    }

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.users = {
            "public": cls.env.ref("base.public_user"),
            "portal": new_test_user(cls.env, login="matrix_portal", groups="base.group_portal"),
            "employee": new_test_user(cls.env, login="matrix_employee", groups="base.group_user"),
            "operator": new_test_user(
                cls.env, login="matrix_operator", groups="base.group_user,im_livechat.im_livechat_group_user"
            ),
            "manager": new_test_user(
                cls.env, login="matrix_manager", groups="base.group_user,im_livechat.im_livechat_group_manager"
            ),
            "admin": cls.env.ref("base.user_admin"),
        }
        if "website_published" in cls.livechat:
            # with website_livechat, visitors only see channels published on the website (stock rule)
            cls.livechat.website_published = True
        cls.colleague = cls._operator("Colleague", chat_langs=["fr_FR"], expertises=cls.billing)
        cls.session = cls.env["discuss.channel"].create(
            {
                "name": "Visitor",
                "channel_type": "livechat",
                "livechat_channel_id": cls.livechat.id,
                "livechat_operator_id": cls.colleague.partner_id.id,
                "livechat_lang_id": cls.lang["fr_FR"].id,
                "livechat_expertise_ids": [Command.set(cls.billing.ids)],
                "livechat_routing_reason": "Colleague: speaks French",
                "channel_member_ids": [
                    Command.create({"partner_id": partner.id})
                    for partner in (cls.colleague | cls.users["operator"] | cls.users["manager"]).partner_id
                ],
            }
        )

    def _do(self, action, user):
        expertise = self.billing.with_user(user)
        channel = self.livechat.with_user(user)
        colleague = self.colleague.with_user(user)
        session = self.session.with_user(user)
        if action == "read expertises":
            self.assertEqual(expertise.read(["name"])[0]["name"], "Refunds")
        elif action == "create expertises":
            self.env["im_livechat.expertise"].with_user(user).create({"name": "Matrix"})
        elif action == "edit expertises":
            expertise.write({"name": "Refund requests"})
        elif action == "delete expertises":
            self.sales.with_user(user).unlink()
        elif action == "read a colleague's expertise":
            self.assertEqual(colleague.read(["livechat_expertise_ids"])[0]["livechat_expertise_ids"], self.billing.ids)
        elif action == "edit a colleague's chat name":
            colleague.write({"livechat_username": "Renamed"})
        elif action == "edit a colleague's expertise":
            colleague.write({"livechat_expertise_ids": [Command.link(self.tech.id)]})
        elif action == "give a colleague an expertise from the expertise":
            self.tech.with_user(user).write({"user_ids": [Command.link(self.colleague.id)]})
        elif action == "read the channel":
            self.assertEqual(channel.read(["name"])[0]["name"], "Support")
        elif action == "read the channel's routing settings":
            self.assertEqual(channel.read(["max_sessions"])[0]["max_sessions"], 10)
        elif action == "change the channel's routing settings":
            channel.write({"max_sessions_mode": "limited", "max_sessions": 2})
        elif action == "create a channel with routing settings":
            self.env["im_livechat.channel"].with_user(user).create({"name": "Matrix", "routing_priority": "expertise"})
        elif action == "join and leave the channel":
            channel.action_join()
            self.assertIn(user, self.livechat.user_ids)
            channel.action_quit()
            self.assertNotIn(user, self.livechat.user_ids)
        elif action == "read a session's expertise and language":
            values = session.read(["livechat_expertise_ids", "livechat_lang_id"])[0]
            self.assertEqual(values["livechat_expertise_ids"], self.billing.ids)
        elif action == "read a session's routing reason":
            self.assertEqual(
                session.read(["livechat_routing_reason"])[0]["livechat_routing_reason"], "Colleague: speaks French"
            )
        else:
            self._do_on_a_colleague_or_session(action, user)

    def _do_on_a_colleague_or_session(self, action, user):
        """Actions of the unanswered chats, the limit and the transfer (F18-F20)."""
        session = self.session.with_user(user)
        if action == "set a colleague's maximum of ongoing chats":
            self.colleague.with_user(user).write({"livechat_max_sessions": 3})
            self.assertEqual(self.colleague.sudo().livechat_max_sessions, 3)
        elif action == "mark a session skipped or transferred":
            session.write({"livechat_skipped_operator_ids": [Command.link(self.colleague.partner_id.id)]})
        elif action == "change a chat's operator or expertise":
            session.write({"livechat_expertise_ids": [Command.set(self.tech.ids)]})
            session.write({"livechat_operator_id": self.users["operator"].partner_id.id})
        elif action == "transfer a chat":
            # nobody of the expertise is free: a notice, and nothing changes
            session.execute_command_transfer(body="/transfer Networking")
        else:
            self._do_on_own_user(action, user)

    def _do_on_own_user(self, action, user):
        """Actions through one's own user record (stock writes it as superuser)."""
        own = user.with_user(user)
        if action == "link an existing expertise to oneself":
            own.write({"livechat_expertise_ids": [Command.link(self.billing.id)]})
            self.assertIn(self.billing, user.sudo().livechat_expertise_ids)
        elif action == "create an expertise through one's own user":
            own.write({"livechat_expertise_ids": [Command.create({"name": "Own"})]})
        elif action == "rename an expertise through one's own user":
            own.write({"livechat_expertise_ids": [Command.update(self.billing.id, {"name": "Mine"})]})
        elif action == "set one's own maximum of ongoing chats":
            own.write({"livechat_max_sessions": 9})
        elif action == "read when an operator last got a chat":
            self.env["im_livechat.operator.status"].with_user(user).search_read([], ["last_assignment_dt"])
        else:
            raise AssertionError(action)

    def test_rights_matrix(self):
        for action, allowed in self.MATRIX.items():
            for role in self.ROLES:
                with self.subTest(action=action, role=role), self.env.cr.savepoint(flush=False) as savepoint:
                    if role in allowed:
                        self._do(action, self.users[role])
                    else:
                        with self.assertRaises(AccessError):
                            self._do(action, self.users[role])
                    self.env.flush_all()
                    savepoint.rollback()
                    self.env.invalidate_all()

    def test_chat_languages_stay_in_their_owners_settings(self):
        """As in stock Odoo, chat name and languages live in each user's own settings: only the
        user and the administrator read them."""
        self.colleague.livechat_username = "Coco"
        admin = self.colleague.with_user(self.users["admin"]).read(["livechat_username", "livechat_lang_ids"])[0]
        self.assertEqual((admin["livechat_username"], admin["livechat_lang_ids"]), ("Coco", self.lang["fr_FR"].ids))
        for role in set(self.ROLES) - {"admin"}:
            with self.subTest(role=role):
                self.env.invalidate_all()
                try:
                    values = self.colleague.with_user(self.users[role]).read(["livechat_username", "livechat_lang_ids"])
                except AccessError:
                    continue
                self.assertFalse(values[0]["livechat_lang_ids"])
                self.assertFalse(values[0]["livechat_username"])
        self.env.invalidate_all()
        own = self.colleague.with_user(self.colleague).read(["livechat_username", "livechat_lang_ids"])[0]
        self.assertEqual((own["livechat_username"], own["livechat_lang_ids"]), ("Coco", self.lang["fr_FR"].ids))

    def test_operators_cannot_change_routing_settings(self):
        """Stock lets operators edit channels; the routing settings stay with managers, in their language."""
        operator = self.users["operator"]
        with self.assertRaisesRegex(AccessError, "Only Live Chat managers can change the routing settings"):
            self.livechat.with_user(operator).write({"block_assignment_during_call": True})
        self.assertFalse(self.livechat.block_assignment_during_call, "nothing changed")
        self.livechat.with_user(operator).write({"name": "Support desk"})
        self.assertEqual(self.livechat.name, "Support desk", "what stock allows operators stays allowed")
