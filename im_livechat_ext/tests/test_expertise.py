from odoo import Command
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tests.common import TransactionCase

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
