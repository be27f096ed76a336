from odoo_test_helper import FakeModelLoader

from odoo.tests import tagged

from .common import LivechatRoutingCase


class FakeModelCase(LivechatRoutingCase):
    """Another module's model (tests/fake_models.py, `fake_model`) loaded
    into the registry for the class's tests, as odoo-test-helper loads one."""

    fake_model = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.loader = FakeModelLoader(cls.env, cls.__module__)
        cls.loader.backup_registry()
        from . import fake_models  # noqa: PLC0415 - loaded into the registry here

        cls.loader.update_registry((getattr(fake_models, cls.fake_model),))

    @classmethod
    def tearDownClass(cls):
        cls.loader.restore_registry()
        super().tearDownClass()


@tagged("post_install", "-at_install")
class TestAnotherModuleDecidesWhoIsAvailable(FakeModelCase):
    """available_operator_ids is stock's extension point: when another module
    narrows it, the routing follows, with no branch of ours for it."""

    fake_model = "ImLivechatChannelHoliday"

    def test_routing_follows_the_extension_point(self):
        on_holiday = self._operator("Holiday", lang="fr_FR", expertises=self.billing)
        on_holiday.login = "operator_on_holiday"
        other = self._operator("Other", lang="de_DE")
        self.assertTrue(self.livechat._availability_is_extended(), "the routing reads the extension point")
        self.assertEqual(self.livechat.available_operator_ids, other)
        self.assertEqual(self.livechat._get_operator(lang="fr_FR", expertises=self.billing), other)
        self.assertEqual(self.livechat._get_operator(users=on_holiday | other), other, "a /transfer's list too")
        other.login = "other_on_holiday_too"
        self.assertFalse(self.livechat._get_operator(lang="fr_FR"), "nobody available: nobody")


@tagged("post_install", "-at_install")
class TestAnotherModuleAddsARule(FakeModelCase):
    """A routing rule is one check and its place in the tiers, reached
    through im_livechat.channel's methods: another module adds one with
    _inherit and visitors are routed by it, with its words in the reason."""

    fake_model = "ImLivechatChannelSeniorFirst"

    def test_visitors_are_routed_by_the_added_rule(self):
        speaker = self._operator("Speaker", lang="fr_FR", expertises=self.billing)
        senior = self._operator("Senior", lang="de_DE")
        senior.login = "senior_operator"
        self.assertFalse(self.livechat._availability_is_extended(), "a rule leaves who is available alone")
        decision = self.livechat._route_visitor(lang="fr_FR", expertises=self.billing, claim=False)
        self.assertEqual(decision.operator, senior, "the added rule comes first")
        self.assertEqual(decision.reason, "Senior: senior, no ongoing chat")
        senior.login = "junior_operator"
        self.assertEqual(self.livechat._get_operator(lang="fr_FR", expertises=self.billing), speaker)


@tagged("post_install", "-at_install")
class TestAnotherModuleWidensWhoIsAvailable(LivechatRoutingCase):
    """Stock's own tests replace the compute with "every operator of the
    channel", presence or not: the routing takes whom it says, and still
    holds them to the limits."""

    def test_routing_takes_whom_the_extension_point_says(self):
        offline = self._operator("Offline", status="offline")

        def every_operator(channels):
            for channel in channels:
                channel.available_operator_ids = channel.user_ids

        self.patch(type(self.livechat), "_compute_available_operator_ids", every_operator)
        self.assertEqual(self.livechat._get_operator(), offline)
        self.livechat.write({"max_sessions_mode": "limited", "max_sessions": 1})
        self._chat(offline)
        self.assertFalse(self.livechat._get_operator(), "at the limit: nobody, whoever says she is available")
