from odoo import Command, fields
from odoo.exceptions import ValidationError
from odoo.tests import HttpCase, new_test_user, tagged

from .common import LivechatRoutingCase, call_as, ongoing_chat, visitor_session


@tagged("post_install", "-at_install")
class TestOperatorLimit(LivechatRoutingCase):
    """F19: an operator's own limit (res.users.livechat_max_sessions)."""

    def test_own_limit_in_an_unlimited_channel(self):
        trainee = self._operator("Trainee")
        senior = self._operator("Senior", lang="de_DE")
        trainee.livechat_max_sessions = 1
        self.assertEqual(self.livechat._get_operator(lang="en_US"), trainee, "speaks English, not full yet")
        self._chat(trainee)
        self.livechat.invalidate_recordset(["available_operator_ids"])  # as a new request reads it
        self.assertEqual(self.livechat.available_operator_ids, senior, "the kanban count and the button agree")
        self.assertEqual(self.livechat._get_operator(lang="en_US"), senior, "one chat is the trainee's limit")
        for _i in range(3):
            self._chat(senior)
        self.assertEqual(self.livechat._get_operator(lang="en_US"), senior, "the channel sets no limit")

    def test_own_limit_replaces_the_channel_limit(self):
        self.livechat.write({"max_sessions_mode": "limited", "max_sessions": 2})
        trainee = self._operator("Trainee")
        senior = self._operator("Senior")
        trainee.livechat_max_sessions = 1
        senior.livechat_max_sessions = 4
        self._chat(trainee)
        for _i in range(3):
            self._chat(senior)
        self.livechat.invalidate_recordset(["available_operator_ids"])
        self.assertEqual(self.livechat.available_operator_ids, senior, "3 chats: over the channel's 2, under her 4")
        self._chat(senior)
        self.assertFalse(self.livechat._get_operator(), "both at their own limit")
        senior.livechat_max_sessions = 0
        self.livechat.invalidate_recordset(["available_operator_ids"])
        self.assertFalse(self.livechat.available_operator_ids, "0: the channel's limit again")

    def test_chats_of_every_channel_count(self):
        other = self.env["im_livechat.channel"].create({"name": "Other"})
        trainee = self._operator("Trainee")
        trainee.livechat_max_sessions = 2
        ongoing_chat(self.env, other, trainee)
        self.assertEqual(self.livechat._get_operator(), trainee)
        self._chat(trainee)
        self.assertFalse(self.livechat._get_operator(), "one chat here and one in the other channel")
        other.user_ids = [Command.link(trainee.id)]
        self.assertFalse(other.available_operator_ids, "full in every channel")

    def test_the_waiting_line_and_the_chatbot_honour_it(self):
        trainee = self._operator("Trainee")
        trainee.livechat_max_sessions = 1
        self._chat(trainee)
        self.livechat.waiting_line = True
        vals = self.livechat._get_livechat_discuss_channel_vals("Visitor")
        self.assertTrue(vals.get("livechat_waiting_since"), "present but full: the visitor waits in line")
        self.assertEqual(vals["livechat_operator_id"], self.env.ref("base.partner_root").id)
        self.assertFalse(
            self.livechat._route_visitor(expertises=self.billing, claim=False).operator, "a chatbot forward neither"
        )

    def test_a_negative_limit_is_refused(self):
        trainee = self._operator("Trainee")
        with self.assertRaisesRegex(ValidationError, "cannot be negative"):
            trainee.livechat_max_sessions = -1

    def test_a_copied_user_does_not_inherit_it(self):
        trainee = self._operator("Trainee")
        trainee.livechat_max_sessions = 3
        self.assertEqual(trainee.copy({"login": "trainee_copy"}).livechat_max_sessions, 0)


@tagged("post_install", "-at_install")
class TestOperatorLimitRightsOverHttp(HttpCase):
    """Only Live Chat managers set an operator's limit, on any path."""

    def _call(self, user, model, method, args, kwargs=None):
        return call_as(self, user, model, method, args, kwargs)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.operator = new_test_user(
            cls.env,
            login="rights_operator",
            password="rights_operator",
            groups="base.group_user,im_livechat.im_livechat_group_user",
        )
        cls.colleague = new_test_user(
            cls.env, login="rights_colleague", groups="base.group_user,im_livechat.im_livechat_group_user"
        )
        cls.manager = new_test_user(
            cls.env,
            login="rights_lc_manager",
            password="rights_lc_manager",
            groups="base.group_user,im_livechat.im_livechat_group_manager",
        )
        cls.admin = new_test_user(
            cls.env, login="rights_user_admin", password="rights_user_admin", groups="base.group_erp_manager"
        )

    def test_only_live_chat_managers_set_an_operator_limit(self):
        attempts = {
            "an operator on their own user": (
                self.operator,
                "write",
                [[self.operator.id], {"livechat_max_sessions": 50}],
            ),
            "an operator through Preferences' own-record path": (
                self.operator,
                "write",
                [[self.operator.id], {"livechat_max_sessions": 50, "livechat_username": "Me"}],
            ),
            "an operator on a colleague": (self.operator, "write", [[self.colleague.id], {"livechat_max_sessions": 1}]),
            "a user administrator who is no Live Chat manager": (
                self.admin,
                "write",
                [[self.colleague.id], {"livechat_max_sessions": 1}],
            ),
            "a user administrator creating a user with it": (
                self.admin,
                "create",
                [{"name": "New", "login": "rights_new_user", "livechat_max_sessions": 1}],
            ),
        }
        for label, (user, method, args) in attempts.items():
            with self.subTest(label):
                error, message = self._call(user, "res.users", method, args)
                self.assertEqual(error, "odoo.exceptions.AccessError", message)
        error, message = self._call(
            self.admin,
            "res.users",
            "create",
            [{"name": "New", "login": "rights_new_user"}],
            {"context": {"default_livechat_max_sessions": 1}},
        )
        self.assertEqual(error, "odoo.exceptions.AccessError", "nor through a default_ key: " + str(message))
        # nor through a default the administrator saves for themselves: refused
        saved = self._call(self.admin, "ir.default", "set", ["res.users", "livechat_max_sessions", 1, True])
        self.assertEqual(saved[0], "odoo.exceptions.AccessError", "saving it is choosing it")
        # one saved before it was refused (as superuser here) is refused on create
        self.env["ir.default"].sudo().create(
            {
                "field_id": self.env["ir.model.fields"]._get("res.users", "livechat_max_sessions").id,
                "user_id": self.admin.id,
                "json_value": "1",
            }
        )
        error, message = self._call(self.admin, "res.users", "create", [{"name": "New", "login": "rights_new_user"}])
        self.assertEqual(error, "odoo.exceptions.AccessError", "nor through a saved default: " + str(message))
        self.env.invalidate_all()
        self.assertEqual((self.operator | self.colleague).mapped("livechat_max_sessions"), [0, 0])
        self.assertFalse(self.env["res.users"].search([("login", "=", "rights_new_user")]))

    def test_a_live_chat_manager_sets_it_and_nothing_else(self):
        self.assertEqual(
            self._call(self.manager, "res.users", "write", [[self.colleague.id], {"livechat_max_sessions": 3}]),
            ("ok", True),
        )
        self.env.invalidate_all()
        self.assertEqual(self.colleague.livechat_max_sessions, 3)
        error, message = self._call(
            self.manager, "res.users", "write", [[self.colleague.id], {"livechat_max_sessions": 4, "login": "taken"}]
        )
        self.assertEqual(error, "odoo.exceptions.AccessError", "only the limit, not the rest of the user: " + message)
        error, message = self._call(
            self.manager, "res.users", "write", [[self.colleague.id], {"livechat_max_sessions": -2}]
        )
        self.assertEqual(error, "odoo.exceptions.ValidationError", message)
        self.env.invalidate_all()
        self.assertEqual((self.colleague.livechat_max_sessions, self.colleague.login), (3, "rights_colleague"))

    def test_a_raised_limit_serves_the_line_at_once(self):
        """F16: raising an operator's own limit is a freed slot: the visitor
        waiting for them is served by the manager's request itself."""
        livechat = self.env["im_livechat.channel"].create(
            {"name": "Raised limit", "waiting_line": True, "user_ids": [Command.set(self.colleague.ids)]}
        )
        self.env["bus.presence"].create({"user_id": self.colleague.id, "status": "online"})
        self.colleague.livechat_max_sessions = 1
        ongoing_chat(self.env, livechat, self.colleague)
        waiting, _guest = visitor_session(self.env, livechat, self.env.ref("base.user_root"), guest_name="Waiting")
        waiting.sudo().livechat_waiting_since = fields.Datetime.now()
        self.assertEqual(waiting.livechat_queue_position, 1)
        error, _result = self._call(
            self.manager, "res.users", "write", [[self.colleague.id], {"livechat_max_sessions": 2}]
        )
        self.assertEqual(error, "ok")
        self.env.invalidate_all()
        self.assertFalse(waiting.livechat_waiting_since, "served at once, not by the next scheduled run")
        self.assertEqual(waiting.livechat_operator_id, self.colleague.partner_id)

    def test_no_rpc_caller_lifts_the_limits_through_the_context(self):
        """The routing reads the available operators limits aside (its ranking
        applies them) under a context value no RPC caller can pass: a full
        operator stays out of what anybody reads, whatever the context."""
        livechat = self.env["im_livechat.channel"].create(
            {
                "name": "Limits over RPC",
                "max_sessions_mode": "limited",
                "max_sessions": 1,
                "user_ids": [Command.set(self.colleague.ids)],
            }
        )
        self.env["bus.presence"].create({"user_id": self.colleague.id, "status": "online"})
        ongoing_chat(self.env, livechat, self.colleague)
        livechat.max_sessions = 2
        error, result = self._call(
            self.operator, "im_livechat.channel", "read", [[livechat.id], ["available_operator_ids"]]
        )
        self.assertEqual(error, "ok", result)
        self.assertEqual(result[0]["available_operator_ids"], self.colleague.ids, "with room, she is listed")
        livechat.max_sessions = 1
        for context in ({}, {"livechat_limits_in_ranking": True}, {"livechat_limits_in_ranking": "1"}):
            with self.subTest(context=context):
                error, result = self._call(
                    self.operator,
                    "im_livechat.channel",
                    "read",
                    [[livechat.id], ["available_operator_ids", "available_operator_count"]],
                    {"context": context},
                )
                self.assertEqual(error, "ok", result)
                self.assertEqual(result[0]["available_operator_ids"], [], "the colleague is full")
                self.assertEqual(result[0]["available_operator_count"], 0)
