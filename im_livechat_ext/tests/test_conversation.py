import json

from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged

from .common import bus_payloads, ongoing_chat, post_as_guest, post_over_http, rpc_error, visitor_session


@tagged("post_install", "-at_install")
class TestConversationOverHttp(HttpCase):
    """What the visitor and the operators see around the routing (issue
    #30): who they talk to, the line's notices, a transfer."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"].with_context(active_test=False).search([("code", "in", ["fr_FR", "es_ES"])]).active = True

        def operator(login, chat_name, lang="en_US"):
            user = new_test_user(
                cls.env,
                login=login,
                password=login.replace("_", "-"),
                name=login.title(),
                groups="base.group_user,im_livechat.im_livechat_group_user",
            )
            user.partner_id.lang = lang
            user.livechat_username = chat_name
            cls.env["bus.presence"].create({"user_id": user.id, "status": "online"})
            return user

        cls.claire = operator("conv_claire", "Claire", "fr_FR")
        cls.bea = operator("conv_bea", "Bea", "fr_FR")
        cls.billing = cls.env["im_livechat.expertise"].create(
            {"name": "Invoicing (conversation)", "user_ids": [Command.set(cls.bea.ids)]}
        )
        cls.billing.with_context(lang="fr_FR").name = "Facturation (conversation)"
        cls.livechat = cls.env["im_livechat.channel"].create(
            {
                "name": "Conversation",
                "user_ids": [Command.set((cls.claire | cls.bea).ids)],
                "max_sessions_mode": "limited",
                "max_sessions": 1,
                "waiting_line": True,
            }
        )
        cls.odoobot = cls.env.ref("base.partner_root")

    def _open_chat(self, accept_language="fr-FR,fr;q=0.9"):
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session",
            {"anonymous_name": "Visiteur", "channel_id": self.livechat.id, "persisted": True},
            headers={"Accept-Language": accept_language},
        )
        return self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"]), data

    def _history(self, session):
        """The chat as the visitor's window loads it, oldest first."""
        data = self.make_jsonrpc_request("/discuss/channel/messages", {"channel_id": session.id})["data"]
        return sorted(data["mail.message"], key=lambda message: message["id"])

    def test_a_join_after_waiting_is_a_new_message_below_what_the_visitor_wrote(self):
        busy = [ongoing_chat(self.env, self.livechat, operator) for operator in self.claire | self.bea]
        session, _data = self._open_chat()
        self.assertTrue(session.livechat_waiting_since, "the team is full: the visitor waits")
        post_over_http(self, session, "Quelqu'un ?")
        busy[0]._close_livechat_session()  # Claire's chat ends: she joins the visitor
        self.assertEqual(session.livechat_operator_id, self.claire.partner_id)
        history = self._history(session)
        bodies = [message["body"] for message in history]
        self.assertIn("Quelqu'un ?", bodies[-2], "what the visitor wrote while waiting stays where it was")
        joined = history[-1]
        self.assertIn("Claire a rejoint", joined["body"], "the join is the newest message, in the visitor's language")
        self.assertNotIn("la conversation", joined["body"], "worded as on every other path (stock's words)")
        self.assertNotIn("o_mail_notification", joined["body"], "a message, not fine print")
        self.assertEqual(joined["message_type"], "comment")
        self.assertEqual(joined["author"], {"id": self.odoobot.id, "type": "partner"}, "the channel's voice")
        self.assertFalse(any("ligne" in body or "line" in body for body in bodies), "the place message is gone")

    def test_the_line_notices_are_messages_in_the_channels_voice(self):
        for operator in self.claire | self.bea:
            ongoing_chat(self.env, self.livechat, operator)
        session, _data = self._open_chat()
        [place] = [message for message in self._history(session) if "1" in message["body"]]
        self.assertEqual(place["message_type"], "comment", "the visitor's place is a message they see")
        self.assertEqual(place["author"], {"id": self.odoobot.id, "type": "partner"})
        self.assertNotIn("o_mail_notification", place["body"])

    def test_the_visitor_header_shows_the_operator_who_joined_the_bot(self):
        bot = self.env["chatbot.script"].create({"title": "Routing Bot"})
        bot.with_context(lang="fr_FR").title = "Robot d'accueil"
        self.env["chatbot.script.step"].create(
            [
                {"chatbot_script_id": bot.id, "step_type": "text", "message": "Bonjour"},
                {"chatbot_script_id": bot.id, "step_type": "forward_operator", "message": "Un instant"},
            ]
        )
        self.livechat.rule_ids = [Command.create({"chatbot_script_id": bot.id})]
        self.livechat.user_ids = [Command.set(self.claire.ids)]  # the forward has Claire to give it to
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session",
            {"anonymous_name": "Visiteur", "channel_id": self.livechat.id, "chatbot_script_id": bot.id},
            headers={"Accept-Language": "fr-FR,fr;q=0.9"},
        )
        session = self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])
        bot_partner = bot.operator_partner_id
        self.assertEqual(data["discuss.channel"][0]["operator"], {"id": bot_partner.id, "type": "partner"})
        [shown_bot] = [p for p in data["res.partner"] if p["id"] == bot_partner.id]
        self.assertEqual(shown_bot["user_livechat_username"], "Robot d'accueil", "the bot's name as its script's")
        # the script goes on to its forward step: Claire joins
        for step in bot.script_step_ids:
            session.chatbot_current_step_id = step
            step._process_step(session)
        self.assertIn(self.claire.partner_id, session.channel_member_ids.partner_id)
        sent = bus_payloads(self.env, session, "mail.record/insert")
        shown = [channel.get("operator") for payload in sent for channel in payload.get("discuss.channel", [])]
        self.assertIn({"id": self.claire.partner_id.id, "type": "partner"}, shown, "told live")
        info = self.make_jsonrpc_request("/discuss/channel/info", {"channel_id": session.id})
        self.assertEqual(info["discuss.channel"][0]["operator"], {"id": self.claire.partner_id.id, "type": "partner"})
        [shown_claire] = [p for p in info["res.partner"] if p["id"] == self.claire.partner_id.id]
        self.assertEqual(shown_claire["user_livechat_username"], "Claire")

    def test_a_transfer_tells_the_visitor_who_and_why_and_the_expert_what_was_asked(self):
        # an operator chooses their own chat name (Preferences): it is text wherever it shows
        self.claire.livechat_username = "Claire <img src=x onerror=alert(1)>"
        session, guest = visitor_session(self.env, self.livechat, self.claire, guest_name="Visiteur")
        session.livechat_lang_id = self.env["res.lang"]._lang_get("fr_FR")
        post_as_guest(session, guest, "Ma facture est fausse")
        session.with_user(self.claire).message_post(body="Je vous passe la facturation", message_type="comment")
        self.authenticate("conv_claire", "conv-claire")
        error = rpc_error(
            self,
            "discuss.channel",
            "execute_command_transfer",
            [[session.id]],
            {"body": "/transfer Invoicing (conversation)"},
        )
        self.assertIsNone(error)
        self.env.invalidate_all()
        self.assertEqual(session.livechat_operator_id, self.bea.partner_id)
        told = session.message_ids.sorted("id")
        bodies = " ".join(told.mapped("body"))
        self.assertIn("Bea, spécialiste de votre question, prend le relais.", told[-1].body, "who and why, in French")
        self.assertNotIn("Facturation", bodies, "visitors read nothing of the routing: not the expertise")
        self.assertEqual(told[-1].author_id, self.odoobot, "in the channel's voice")
        self.assertNotIn("left the channel", bodies, "no nameless 'left the channel'")
        [note] = [p["body"] for p in bus_payloads(self.env, self.bea.partner_id, "discuss.channel/transient_message")]
        for fact in ("Claire", "Facturation", "Ma facture est fausse"):
            self.assertIn(fact, note, "the expert's hand-over note: who transferred, the expertise, the last question")
        self.assertNotIn("<img", note, "a chat name is never HTML in the note")
        self.assertNotIn("Je vous passe", note, "the visitor's words, not the operator's who left")
        told_claire = bus_payloads(self.env, self.claire.partner_id, "simple_notification")
        self.assertIn("Bea", json.dumps(told_claire), "the transferring operator is told who took the chat")
        marked = bus_payloads(self.env, self.claire.partner_id, "mail.record/insert")
        self.assertIn(
            {"id": session.id, "livechat_handed_over": True},
            [channel for payload in marked for channel in payload.get("discuss.channel", [])],
            "their window does not say they unsubscribed",
        )
        session.add_members(partner_ids=self.claire.partner_id.ids, post_joined_message=False)  # invited back
        marked = bus_payloads(self.env, self.claire.partner_id, "mail.record/insert")
        flags = [
            c["livechat_handed_over"]
            for p in marked
            for c in p.get("discuss.channel", [])
            if "livechat_handed_over" in c
        ]
        self.assertFalse(flags[-1], "back in the chat: leaving it again is told as stock tells it")

    def test_an_operator_trying_the_bot_on_the_website_sees_the_bot(self):
        """Logged in, a Live Chat user who opens a chatbot's chat is its
        visitor: the header shows the bot, never themselves."""
        bot = self.env["chatbot.script"].create({"title": "Trial Bot"})
        self.env["chatbot.script.step"].create({"chatbot_script_id": bot.id, "step_type": "text", "message": "Bonjour"})
        self.livechat.rule_ids = [Command.create({"chatbot_script_id": bot.id})]
        self.authenticate("conv_bea", "conv-bea")
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session",
            {"anonymous_name": "Bea", "channel_id": self.livechat.id, "chatbot_script_id": bot.id, "persisted": True},
        )
        session = self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])
        self.assertIn(self.bea.partner_id, session.channel_member_ids.partner_id)
        info = self.make_jsonrpc_request("/discuss/channel/info", {"channel_id": session.id})
        self.assertEqual(info["discuss.channel"][0]["operator"], {"id": bot.operator_partner_id.id, "type": "partner"})
