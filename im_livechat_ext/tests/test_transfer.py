from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged

from .common import LivechatRoutingCase, bus_payloads, call_kw, chatbot_session, rpc_error, visitor_session


def transient_messages(env, partner):
    """Texts of the messages only `partner` sees (discuss.channel/transient_message)."""
    return " ".join(payload["body"] for payload in bus_payloads(env, partner, "discuss.channel/transient_message"))


@tagged("post_install", "-at_install")
class TestTransfer(LivechatRoutingCase):
    """F20: /transfer <expertise> hands the chat to the best expert."""

    def setUp(self):
        super().setUp()
        self.current = self._operator("Current", lang="fr_FR", expertises=self.billing)
        self.session, self.guest = visitor_session(self.env, self.livechat, self.current)
        self.session.livechat_lang_id = self.lang["fr_FR"]

    def _transfer(self, body, user=None):
        session = self.session.with_user(user or self.current)
        result = session.execute_command_transfer(body=body)
        self.env.invalidate_all()
        return result

    def test_the_best_expert_joins_and_the_operator_leaves(self):
        self._operator("German expert", lang="de_DE", expertises=self.tech)
        french_expert = self._operator("French expert", lang="fr_FR", expertises=self.tech)
        self._operator("French", lang="fr_FR")
        self.assertTrue(self._transfer("/transfer Networking"))
        self.assertEqual(self.session.livechat_operator_id, french_expert.partner_id, "speaks the visitor's language")
        partners = self.session.channel_member_ids.partner_id
        self.assertIn(french_expert.partner_id, partners)
        self.assertNotIn(self.current.partner_id, partners, "the one who typed the command left")
        self.assertEqual(self.session.livechat_expertise_ids, self.tech)
        self.assertTrue(self.session.livechat_transferred)
        self.assertRegex(self.session.livechat_routing_reason, r"^Transferred by Current: French expert")
        self.assertIn("French expert", " ".join(self.session.message_ids.mapped("body")))
        self.env.flush_all()
        self.assertIn(
            self.session.id, self.env["im_livechat.report.channel"].search([("livechat_transferred", "=", True)]).ids
        )

    def test_a_manager_or_an_invited_colleague_leaves_one_operator(self):
        expert = self._operator("Expert", expertises=self.tech)
        manager = self._operator("Manager", join=False)
        manager.groups_id = [Command.link(self.env.ref("im_livechat.im_livechat_group_manager").id)]
        self._transfer("/transfer Networking", user=manager)
        humans = self.session.channel_member_ids.partner_id.filtered(lambda p: p.user_ids)
        self.assertEqual(humans - self.env.ref("base.partner_root"), expert.partner_id, "the chat's operator left")

    def test_a_chatbot_forwarded_chat_keeps_one_human(self):
        """After a chatbot's forward the bot stays the session's operator: the
        human who answers leaves on a manager's transfer too."""
        bot_partner = self.env["res.partner"].create({"name": "Bot"})
        human = self._operator("Human")
        expert = self._operator("Expert", expertises=self.tech)
        manager = self._operator("Manager", join=False)
        manager.groups_id = [Command.link(self.env.ref("im_livechat.im_livechat_group_manager").id)]
        session = chatbot_session(self.env, self.livechat, bot_partner)
        session.add_members(partner_ids=human.partner_id.ids, post_joined_message=False)
        session.add_members(guest_ids=self.guest.ids, post_joined_message=False)
        session.with_user(manager).execute_command_transfer(body="/transfer Networking")
        self.env.invalidate_all()
        self.assertEqual(session._livechat_human_members(), expert.partner_id)

    def test_the_name_ignores_case_and_spaces(self):
        expert = self._operator("Expert", expertises=self.tech)
        self._transfer("/transfer   nETWORKING  ")
        self.assertEqual(self.session.livechat_operator_id, expert.partner_id)

    def test_alone_it_lists_the_expertises_with_who_can_take_a_chat(self):
        self._operator("Tech one", expertises=self.tech)
        self._operator("Tech two", expertises=self.tech)
        self._operator("Tech away", expertises=self.tech, status="away")
        self.assertFalse(self._transfer("/transfer"))
        text = transient_messages(self.env, self.current.partner_id)
        self.assertIn("Networking : 2 peuvent prendre une discussion maintenant", text, "in the operator's language")
        self.assertIn("Refunds : 0 peuvent", text, "the one typing does not count")
        self.assertEqual(self.session.livechat_operator_id, self.current.partner_id, "nothing changes")

    def test_an_unknown_expertise_changes_nothing(self):
        self._operator("Other")
        self.assertFalse(self._transfer("/transfer Astrology"))
        # in the operator's language
        self.assertIn("Astrology. Tapez /transfer seul", transient_messages(self.env, self.current.partner_id))
        self.assertEqual(self.session.livechat_operator_id, self.current.partner_id)
        self.assertFalse(self.session.livechat_transferred)

    def test_wildcards_are_not_names(self):
        self._operator("Expert", expertises=self.tech)
        for body in ("/transfer Net%", "/transfer N_tworking", "/transfer %"):
            with self.subTest(body=body):
                self.assertFalse(self._transfer(body))
                self.assertEqual(self.session.livechat_operator_id, self.current.partner_id)

    def test_nobody_free_changes_nothing(self):
        self.livechat.write({"max_sessions_mode": "limited", "max_sessions": 1})
        busy = self._operator("Busy expert", expertises=self.tech)
        self._chat(busy)
        self._operator("Away expert", expertises=self.tech, status="away")
        self.assertFalse(self._transfer("/transfer Networking"))
        self.assertIn(
            "expertise Networking ne peut prendre une discussion",
            transient_messages(self.env, self.current.partner_id),
        )
        self.assertEqual(self.session.livechat_operator_id, self.current.partner_id)
        self.assertIn(self.current.partner_id, self.session.channel_member_ids.partner_id)
        self.assertFalse(self.session.livechat_expertise_ids)

    def test_the_one_typing_is_never_chosen(self):
        self.assertFalse(self._transfer("/transfer Refunds"), "the only Refunds expert is the one typing")
        self.assertEqual(self.session.livechat_operator_id, self.current.partner_id)

    def test_an_expert_of_another_channel_can_take_it(self):
        outsider = self._operator("Outsider", expertises=self.tech, join=False)
        self._transfer("/transfer Networking")
        self.assertEqual(
            self.session.livechat_operator_id, self.current.partner_id, "nobody's operator is handed no chat"
        )
        self.env["im_livechat.channel"].create({"name": "Elsewhere", "user_ids": [Command.set(outsider.ids)]})
        self._transfer("/transfer Networking")
        self.assertEqual(self.session.livechat_operator_id, outsider.partner_id, "an operator of another channel")

    def test_the_chat_s_own_channel_comes_first(self):
        elsewhere = self._operator("Elsewhere", expertises=self.tech, join=False)
        self.env["im_livechat.channel"].create({"name": "Elsewhere", "user_ids": [Command.set(elsewhere.ids)]})
        own = self._operator("Own", expertises=self.tech)
        self._chat(own)  # busier than the other: the channel still comes first
        self._transfer("/transfer Networking")
        self.assertEqual(self.session.livechat_operator_id, own.partner_id)

    def test_an_over_chat_is_not_transferred(self):
        self._operator("Expert", expertises=self.tech)
        self.session.livechat_active = False
        self.assertFalse(self._transfer("/transfer Networking"))
        self.assertEqual(self.session.livechat_operator_id, self.current.partner_id)


@tagged("post_install", "-at_install")
class TestTransferOverHttp(HttpCase):
    """Only the chat's operators transfer it, whatever is sent over RPC."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.operator = new_test_user(
            cls.env,
            login="ext_f20_op",
            password="ext-f20-op",
            groups="base.group_user,im_livechat.im_livechat_group_user",
        )
        cls.outsider = new_test_user(
            cls.env, login="ext_f20_outsider", password="ext-f20-outsider", groups="base.group_user"
        )
        cls.portal = new_test_user(
            cls.env, login="ext_f20_portal", password="ext-f20-portal", groups="base.group_portal"
        )
        cls.expert = new_test_user(cls.env, login="ext_f20_expert", name="Expert", groups="base.group_user")
        for user in cls.operator | cls.expert:
            cls.env["bus.presence"].create({"user_id": user.id, "status": "online"})
        cls.expertise = cls.env["im_livechat.expertise"].create(
            {"name": "Customs", "user_ids": [Command.set(cls.expert.ids)]}
        )
        cls.livechat = cls.env["im_livechat.channel"].create(
            {"name": "F20", "user_ids": [Command.set(cls.operator.ids)]}
        )
        # the expert answers another channel: /transfer reaches operators only
        cls.env["im_livechat.channel"].create({"name": "F20 customs", "user_ids": [Command.set(cls.expert.ids)]})

    def _call_transfer(self, session, login):
        self.authenticate(login, login.replace("_", "-"))
        return rpc_error(
            self, "discuss.channel", "execute_command_transfer", [[session.id]], {"body": "/transfer Customs"}
        )

    def test_a_visitor_or_an_outsider_cannot_transfer(self):
        session, _guest = visitor_session(self.env, self.livechat, self.operator)
        portal_session, _guest = visitor_session(self.env, self.livechat, self.operator, guest_name="Portal")
        portal_session.add_members(partner_ids=self.portal.partner_id.ids, post_joined_message=False)
        self.assertEqual(self._call_transfer(portal_session, "ext_f20_portal"), "odoo.exceptions.AccessError")
        self.assertEqual(self._call_transfer(session, "ext_f20_outsider"), "odoo.exceptions.AccessError")
        self.env.invalidate_all()
        self.assertEqual((session | portal_session).livechat_operator_id, self.operator.partner_id)
        self.assertIsNone(self._call_transfer(session, "ext_f20_op"), "the chat's operator can")
        self.env.invalidate_all()
        self.assertEqual(session.livechat_operator_id, self.expert.partner_id)

    def test_the_expertises_suggested_to_the_chats_operators_only(self):
        """The composer suggests /transfer's expertises (with who can take
        the chat now) to the chat's operators; never to an outsider or a
        portal user over RPC."""
        session, _guest = visitor_session(self.env, self.livechat, self.operator)
        self.authenticate("ext_f20_op", "ext-f20-op")
        status, options = call_kw(self, "discuss.channel", "livechat_transfer_options", [[session.id]])
        self.assertEqual(status, "ok")
        self.assertIn({"name": "Customs", "available": 1}, options)
        for login in ("ext_f20_outsider", "ext_f20_portal"):
            with self.subTest(login=login):
                self.authenticate(login, login.replace("_", "-"))
                error = rpc_error(self, "discuss.channel", "livechat_transfer_options", [[session.id]])
                self.assertEqual(error, "odoo.exceptions.AccessError")
