from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tests.common import TransactionCase

from ..hooks import pre_init_hook
from .common import LivechatRoutingCase


@tagged("post_install", "-at_install")
class TestExpertise(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env, login="ext_manager", groups="base.group_user,im_livechat.im_livechat_group_manager"
        )
        cls.operator = new_test_user(
            cls.env, login="ext_operator", groups="base.group_user,im_livechat.im_livechat_group_user"
        )
        cls.other_operator = new_test_user(
            cls.env, login="ext_other_operator", groups="base.group_user,im_livechat.im_livechat_group_user"
        )
        cls.employee = new_test_user(cls.env, login="ext_employee", groups="base.group_user")
        cls.portal = new_test_user(cls.env, login="ext_portal", groups="base.group_portal")
        cls.Expertise = cls.env["im_livechat.expertise"]
        cls.warranty = cls.Expertise.create({"name": "Warranty"})

    def test_name_unique_ignoring_case_and_spaces(self):
        for duplicate in ["Warranty", "warranty", "  WARRANTY  ", "Warranty "]:
            with self.assertRaisesRegex(ValidationError, 'An expertise named "Warranty" already exists'):
                with self.env.cr.savepoint():
                    self.Expertise.create({"name": duplicate})
        returns = self.Expertise.create({"name": "  Returns "})
        self.assertEqual(returns.name, "Returns", "surrounding spaces are not kept")
        with self.assertRaises(ValidationError), self.env.cr.savepoint():
            returns.name = "WARRANTY"
        self.warranty.active = False
        with self.assertRaises(ValidationError, msg="archived ones count too"), self.env.cr.savepoint():
            self.Expertise.create({"name": "warranty"})

    def test_blank_name_is_refused(self):
        for blank in ["", "   "]:
            with self.assertRaises(ValidationError), self.env.cr.savepoint():
                self.Expertise.create({"name": blank})

    def test_duplicate_error_is_translated(self):
        self.env["res.lang"]._activate_lang("es_ES")
        self.env["ir.module.module"]._load_module_terms(["im_livechat_ext"], ["es_ES"], overwrite=True)
        with self.assertRaisesRegex(ValidationError, "Ya existe una experiencia"), self.env.cr.savepoint():
            self.Expertise.with_context(lang="es_ES").create({"name": "warranty"})

    def test_operators_editable_from_both_sides(self):
        self.warranty.user_ids = [Command.link(self.operator.id)]
        self.assertEqual(self.operator.livechat_expertise_ids, self.warranty)
        returns = self.Expertise.create({"name": "Returns"})
        self.operator.livechat_expertise_ids = [Command.link(returns.id)]
        self.assertEqual(returns.user_ids, self.operator)
        self.assertEqual(returns.user_count, 1)
        self.assertEqual(self.warranty.user_count, 1)

    def test_operator_edits_own_expertise_not_others(self):
        self.operator.with_user(self.operator).write({"livechat_expertise_ids": [Command.set(self.warranty.ids)]})
        self.assertEqual(self.operator.livechat_expertise_ids, self.warranty)
        with self.assertRaises(AccessError):
            self.other_operator.with_user(self.operator).write(
                {"livechat_expertise_ids": [Command.set(self.warranty.ids)]}
            )
        self.assertFalse(self.other_operator.livechat_expertise_ids)

    def test_rights(self):
        # managers create, edit, delete
        created = self.Expertise.with_user(self.manager).create({"name": "Shipping"})
        created.with_user(self.manager).write({"name": "Delivery", "user_ids": [Command.link(self.operator.id)]})
        created.with_user(self.manager).unlink()
        # operators read only
        self.assertEqual(self.warranty.with_user(self.operator).name, "Warranty")
        with self.assertRaises(AccessError):
            self.Expertise.with_user(self.operator).create({"name": "Shipping"})
        with self.assertRaises(AccessError):
            self.warranty.with_user(self.operator).write({"name": "Guarantee"})
        with self.assertRaises(AccessError):
            self.warranty.with_user(self.operator).unlink()
        # nobody else sees them
        for outsider in (self.employee, self.portal, self.env.ref("base.public_user")):
            with self.assertRaises(AccessError):
                self.warranty.with_user(outsider).read(["name"])

    def test_only_active_chat_languages(self):
        italian = self.env["res.lang"].with_context(active_test=False).search([("code", "=", "it_IT")])
        italian.active = False
        with self.assertRaisesRegex(ValidationError, "must be active languages"):
            self.operator.livechat_lang_ids = [Command.set(italian.ids)]
        settings = self.env["res.users.settings"]._find_or_create_for_user(self.operator)
        with self.assertRaisesRegex(ValidationError, "must be active languages"):
            settings.livechat_lang_ids = [Command.link(italian.id)]

    def test_preferences_show_expertise_to_live_chat_users_only(self):
        view = self.env.ref("base.view_users_form_simple_modif")
        arch = self.env["res.users"].with_user(self.operator).get_view(view.id)["arch"]
        self.assertIn('name="livechat_expertise_ids"', arch)
        arch = self.env["res.users"].with_user(self.employee).get_view(view.id)["arch"]
        self.assertNotIn('name="livechat_expertise_ids"', arch)


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


@tagged("post_install", "-at_install")
class TestSessionsByExpertise(LivechatRoutingCase):
    def test_group_sessions_and_report(self):
        operator = self._operator("Reporter")
        french = self._chat(operator)
        french.write(
            {"livechat_lang_id": self.lang["fr_FR"].id, "livechat_expertise_ids": [Command.set(self.billing.ids)]}
        )
        spanish = self._chat(operator)
        spanish.write(
            {
                "livechat_lang_id": self.lang["es_ES"].id,
                "livechat_expertise_ids": [Command.set((self.billing | self.sales).ids)],
            }
        )
        for session in (french, spanish):
            session.message_post(body="hello", author_id=operator.partner_id.id, message_type="comment")
        domain = [("livechat_channel_id", "=", self.livechat.id)]
        by_expertise = dict(self.env["discuss.channel"]._read_group(domain, ["livechat_expertise_ids"], ["__count"]))
        self.assertEqual(by_expertise[self.billing], 2)
        self.assertEqual(by_expertise[self.sales], 1)
        by_lang = dict(self.env["discuss.channel"]._read_group(domain, ["livechat_lang_id"], ["__count"]))
        self.assertEqual(by_lang[self.lang["fr_FR"]], 1)
        self.env.flush_all()
        Report = self.env["im_livechat.report.channel"]
        report_domain = [("livechat_channel_id", "=", self.livechat.id)]
        by_expertise = dict(Report._read_group(report_domain, ["livechat_expertise_ids"], ["__count"]))
        self.assertEqual(by_expertise[self.billing], 2)
        by_lang = dict(Report._read_group(report_domain, ["livechat_lang_id"], ["__count"]))
        self.assertEqual(by_lang[self.lang["es_ES"]], 1)
        self.assertEqual(Report.search_count(report_domain + [("livechat_expertise_ids", "in", self.sales.ids)]), 1)


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
