from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged

from .common import call_as


@tagged("post_install", "-at_install")
class TestRightsOverHttp(HttpCase):
    """Each attack sent as a logged-in user sends it: JSON-RPC to
    /web/dataset/call_kw. Each must be refused and leave the data as it was."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.portal = new_test_user(cls.env, login="rights_portal", password="rights_portal", groups="base.group_portal")
        cls.employee = new_test_user(
            cls.env, login="rights_employee", password="rights_employee", groups="base.group_user"
        )
        cls.operator = new_test_user(
            cls.env,
            login="rights_operator",
            password="rights_operator",
            groups="base.group_user,im_livechat.im_livechat_group_user",
        )
        cls.colleague = new_test_user(
            cls.env, login="rights_colleague", groups="base.group_user,im_livechat.im_livechat_group_user"
        )
        Expertise = cls.env["im_livechat.expertise"]
        cls.billing = Expertise.create({"name": "Billing (rights)", "user_ids": [Command.set(cls.colleague.ids)]})
        cls.returns = Expertise.create({"name": "Returns (rights)"})
        cls.archived = Expertise.create({"name": "Archived (rights)", "active": False})
        cls.livechat = cls.env["im_livechat.channel"].create({"name": "Rights", "user_ids": [Command.clear()]})

    def _call(self, user, model, method, args, kwargs=None):
        """The JSON-RPC answer of call_kw as `user`: ("ok", result) or (error class, message)."""
        return call_as(self, user, model, method, args, kwargs)

    def _snapshot(self):
        """What an attacker would like to change."""
        self.env.invalidate_all()
        Expertise = self.env["im_livechat.expertise"].with_context(active_test=False)
        return {
            "expertises": sorted((e.name, e.active, tuple(e.user_ids.ids)) for e in Expertise.search([])),
            "langs": self.env["res.lang"].with_context(active_test=False).search_count([]),
            "portal": self.portal.sudo().livechat_expertise_ids.ids,
            "employee": self.employee.sudo().livechat_expertise_ids.ids,
        }

    def _own_write(self, user, commands, field="livechat_expertise_ids"):
        return self._call(user, "res.users", "write", [[user.id], {field: commands}])

    def test_portal_and_employee_change_nothing_through_their_own_user(self):
        """Stock writes these fields of one's own user as superuser: commands
        0 to 6 from a portal user or a plain employee are all refused."""
        commands = [
            [Command.create({"name": "Created by an outsider"})],
            [Command.update(self.billing.id, {"name": "PWNED"})],
            [Command.update(self.billing.id, {"user_ids": [Command.unlink(self.colleague.id)]})],
            [Command.delete(self.billing.id)],
            [Command.unlink(self.billing.id)],
            [Command.link(self.billing.id)],
            [Command.clear()],
            [Command.set([self.billing.id, self.returns.id])],
        ]
        before = self._snapshot()
        for user in (self.portal, self.employee):
            for command in commands:
                with self.subTest(user=user.login, command=command[0][0]):
                    error, message = self._own_write(user, command)
                    self.assertEqual(error, "odoo.exceptions.AccessError", message)
                    self.assertEqual(self._snapshot(), before)
        self.assertEqual(self.billing.name, "Billing (rights)")
        self.assertEqual(self.billing.user_ids, self.colleague)

    def test_operator_only_links_existing_active_expertises_to_themselves(self):
        take_colleague_off = Command.update(self.billing.id, {"user_ids": [Command.unlink(self.colleague.id)]})
        refused = {
            "create": [Command.create({"name": "Created by an operator"})],
            "update": [Command.update(self.billing.id, {"name": "PWNED"})],
            "take a colleague off": [take_colleague_off],
            "delete": [Command.delete(self.billing.id)],
            "link an archived one": [Command.link(self.archived.id)],
            "set an archived one": [Command.set([self.archived.id])],
            "link a missing one": [Command.link(self.archived.id + 1000)],
            "not a command": [{"name": "dict"}],
        }
        before = self._snapshot()
        for label, command in refused.items():
            with self.subTest(label):
                error, message = self._own_write(self.operator, command)
                self.assertEqual(error, "odoo.exceptions.AccessError", message)
                self.assertEqual(self._snapshot(), before)
                self.assertFalse(self.operator.sudo().livechat_expertise_ids)
        allowed = [
            ([Command.link(self.billing.id)], self.billing),
            ([Command.set([self.billing.id, self.returns.id])], self.billing | self.returns),
            ([Command.unlink(self.billing.id)], self.returns),
            ([Command.clear()], self.env["im_livechat.expertise"]),
        ]
        for command, expected in allowed:
            with self.subTest(command=command):
                self.assertEqual(self._own_write(self.operator, command), ("ok", True))
                self.env.invalidate_all()
                self.assertEqual(self.operator.sudo().livechat_expertise_ids, expected)
        self.assertEqual(self.billing.name, "Billing (rights)")
        self.assertEqual(self.billing.user_ids, self.colleague, "the colleague stays on the expertise")

    def test_the_refusal_is_clear_and_translated(self):
        self.env["res.lang"]._activate_lang("es_ES")
        self.env["ir.module.module"]._load_module_terms(["im_livechat_ext"], ["es_ES"], overwrite=True)
        self.operator.lang = "es_ES"
        error, message = self._own_write(self.operator, [Command.create({"name": "Nueva"})])
        self.assertEqual(error, "odoo.exceptions.AccessError")
        self.assertIn("preferencias", message)

    def test_nobody_creates_a_language_through_their_chat_languages(self):
        before = self._snapshot()
        for user in (self.portal, self.operator):
            for command in (
                [Command.create({"name": "Klingon", "code": "tlh_TLH", "iso_code": "tlh"})],
                [Command.update(self.env.ref("base.lang_en").id, {"name": "Hacked"})],
            ):
                with self.subTest(user=user.login, command=command[0][0]):
                    error, message = self._own_write(user, command, field="livechat_lang_ids")
                    self.assertEqual(error, "odoo.exceptions.AccessError", message)
                    self.assertEqual(self._snapshot(), before)
        self.assertEqual(self.env.ref("base.lang_en").name, "English (US)")

    def test_operator_cannot_choose_routing_settings_by_any_path(self):
        channel = self.livechat.id
        attempts = {
            "write": ("write", [[channel], {"max_sessions_mode": "limited", "max_sessions": 1}], {}),
            "create with values": ("create", [{"name": "Mine", "routing_priority": "expertise"}], {}),
            "create with default_ keys": (
                "create",
                [{"name": "Mine"}],
                {"context": {"default_max_sessions_mode": "limited", "default_max_sessions": 1}},
            ),
            "copy with new values": ("copy", [[channel]], {"default": {"block_assignment_during_call": True}}),
            "write the waiting line": ("write", [[channel], {"waiting_line": True}], {}),
            "write the expert wait": ("write", [[channel], {"expert_wait_time": 600}], {}),
            "create with a waiting line by default_ key": (
                "create",
                [{"name": "Mine"}],
                {"context": {"default_waiting_line": True, "default_expert_wait_time": 60}},
            ),
        }
        for label, (method, args, kwargs) in attempts.items():
            with self.subTest(label):
                error, message = self._call(self.operator, "im_livechat.channel", method, args, kwargs)
                self.assertEqual(error, "odoo.exceptions.AccessError", message)
        # one's own saved default: refused when saved
        saved = self._call(
            self.operator, "ir.default", "set", ["im_livechat.channel", "max_sessions_mode", "limited", True]
        )
        self.assertEqual(saved[0], "odoo.exceptions.AccessError")
        # one saved before it was refused (as superuser here): refused on create
        self.env["ir.default"].sudo().create(
            {
                "field_id": self.env["ir.model.fields"]._get("im_livechat.channel", "max_sessions_mode").id,
                "user_id": self.operator.id,
                "json_value": '"limited"',
            }
        )
        error, message = self._call(self.operator, "im_livechat.channel", "create", [{"name": "Mine"}])
        self.assertEqual(error, "odoo.exceptions.AccessError", message)
        self.env["ir.default"].search([("user_id", "=", self.operator.id)]).unlink()
        self.assertEqual(self.env["im_livechat.channel"].search_count([("name", "=", "Mine")]), 0)
        self.assertEqual(self.livechat.max_sessions_mode, "unlimited")
        # what stock allows operators stays allowed: a channel with the default settings
        self.assertEqual(self._call(self.operator, "im_livechat.channel", "create", [{"name": "Plain"}])[0], "ok")
        copied = self._call(self.operator, "im_livechat.channel", "copy", [[channel]])
        self.assertEqual(copied[0], "ok", "copying a channel with default settings chooses nothing")

    def test_operator_cannot_steer_a_chatbot_forward_to_their_expertise(self):
        bot = self.env["chatbot.script"].create({"title": "Rights Bot"})
        step = self.env["chatbot.script.step"].create(
            {"chatbot_script_id": bot.id, "step_type": "forward_operator", "message": "One moment"}
        )
        attempts = {
            "write": ("write", [[step.id], {"operator_expertise_ids": [Command.set(self.returns.ids)]}], {}),
            "create": (
                "create",
                [{"chatbot_script_id": bot.id, "step_type": "forward_operator", "operator_expertise_ids": [[4, 1]]}],
                {},
            ),
            "copy": ("copy", [[step.id]], {"default": {"operator_expertise_ids": [Command.set(self.returns.ids)]}}),
        }
        for label, (method, args, kwargs) in attempts.items():
            with self.subTest(label):
                error, message = self._call(self.operator, "chatbot.script.step", method, args, kwargs)
                self.assertEqual(error, "odoo.exceptions.AccessError", message)
        self.assertFalse(step.operator_expertise_ids)
        # the rest of the step stays the operators' to edit, as in stock Odoo
        self.assertEqual(
            self._call(self.operator, "chatbot.script.step", "write", [[step.id], {"message": "Hi"}])[0], "ok"
        )

    def test_internal_routing_facts_are_not_readable(self):
        """When an operator last got a chat is the routing's business only."""
        error, _message = self._call(self.operator, "im_livechat.operator.status", "search_read", [[]])
        self.assertEqual(error, "odoo.exceptions.AccessError")
        self.assertNotIn("livechat_last_assignment_dt", self.env["res.users"]._fields)


@tagged("post_install", "-at_install")
class TestFullTeamOverHttp(HttpCase):
    """When every operator is at their limit, nobody can take a chat: the
    website's button, /im_livechat/init and chatbot rules "only if no
    operator" say so, as the routing does."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.operator = new_test_user(
            cls.env, login="full_operator", groups="base.group_user,im_livechat.im_livechat_group_user"
        )
        cls.env["bus.presence"].create({"user_id": cls.operator.id, "status": "online"})
        cls.livechat = cls.env["im_livechat.channel"].create(
            {
                "name": "Full",
                "max_sessions_mode": "limited",
                "max_sessions": 1,
                "user_ids": [Command.set(cls.operator.ids)],
            }
        )
        if "website_published" in cls.livechat:
            cls.livechat.website_published = True

    def _fill_the_only_slot(self):
        self.env["discuss.channel"].create(
            {
                "name": "Ongoing",
                "channel_type": "livechat",
                "livechat_active": True,
                "livechat_channel_id": self.livechat.id,
                "livechat_operator_id": self.operator.partner_id.id,
                "channel_member_ids": [Command.create({"partner_id": self.operator.partner_id.id})],
            }
        )

    def _init(self):
        return self.make_jsonrpc_request("/im_livechat/init", {"channel_id": self.livechat.id})

    def test_the_button_goes_when_the_team_is_full(self):
        self.assertTrue(self.livechat.get_livechat_info()["available"])
        self.assertTrue(self._init()["available_for_me"])
        self._fill_the_only_slot()
        self.assertFalse(self.livechat.get_livechat_info()["available"])
        self.assertFalse(self._init()["available_for_me"])
        self.assertEqual(self.livechat.available_operator_count, 0, "the kanban card agrees")
        answer = self.make_jsonrpc_request(
            "/im_livechat/get_session", {"anonymous_name": "Visitor", "channel_id": self.livechat.id}
        )
        self.assertFalse(answer, "no session: nobody can take it")

    def test_chatbot_only_if_no_operator_starts_when_the_team_is_full(self):
        bot = self.env["chatbot.script"].create(
            {
                "title": "Night Bot",
                "script_step_ids": [Command.create({"step_type": "text", "message": "Everyone is busy"})],
            }
        )
        self.livechat.rule_ids = [Command.create({"chatbot_script_id": bot.id, "chatbot_only_if_no_operator": True})]
        self.assertNotIn("chatbotScript", self._init()["rule"], "an operator can take the chat: no bot")
        self._fill_the_only_slot()
        self.assertEqual(self._init()["rule"]["chatbotScript"]["id"], bot.id)


@tagged("post_install", "-at_install")
class TestRoutingNeverGivesChatsToOutsiders(HttpCase):
    """Stock lets operators write a channel's operators: whatever the list
    holds, portal and archived users never get a chat (routing rule 5)."""

    def test_portal_and_archived_users_are_never_routed(self):
        portal = new_test_user(self.env, login="outsider_portal", groups="base.group_portal")
        archived = new_test_user(self.env, login="outsider_archived", groups="base.group_user")
        internal = new_test_user(self.env, login="outsider_internal", groups="base.group_user")
        for user in (portal, archived, internal):
            self.env["bus.presence"].create({"user_id": user.id, "status": "online"})
        archived.active = False
        livechat = self.env["im_livechat.channel"].create({"name": "Mixed"})
        livechat.sudo().user_ids = [Command.set((portal | archived).ids)]
        self.assertFalse(livechat.available_operator_ids)
        answer = self.make_jsonrpc_request(
            "/im_livechat/get_session", {"anonymous_name": "Visitor", "channel_id": livechat.id}
        )
        self.assertFalse(answer, "nobody routable: no session")
        livechat.sudo().user_ids = [Command.link(internal.id)]
        answer = self.make_jsonrpc_request(
            "/im_livechat/get_session", {"anonymous_name": "Visitor", "channel_id": livechat.id}
        )
        session = self.env["discuss.channel"].browse(answer["discuss.channel"][0]["id"])
        self.assertEqual(session.livechat_operator_id, internal.partner_id, "a plain internal user still is")
