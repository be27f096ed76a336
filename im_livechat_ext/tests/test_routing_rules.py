from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from odoo.tests import BaseCase, tagged

from ..tools.routing_rules import ROUTING_TIERS, best_accept_language, lang_base, tier_of


@tagged("post_install", "-at_install")
class TestRoutingRules(BaseCase):
    """The rules as plain Python: no database, no HTTP."""

    def test_language_first_tiers_in_spec_order(self):
        # (speaks, same country, matched of 2 requested) -> tier, best first
        cases = [
            ((True, True, 2), 0),  # language + all
            ((True, False, 1), 1),  # language + one
            ((True, True, 0), 2),  # language
            ((False, True, 2), 3),  # country + all
            ((False, True, 1), 4),  # country + one
            ((False, True, 0), 5),  # country
            ((False, False, 2), 6),  # all
            ((False, False, 1), 7),  # one
            ((False, False, 0), 8),  # everyone
        ]
        for (speaks, same_country, matched), tier in cases:
            with self.subTest(speaks=speaks, same_country=same_country, matched=matched):
                self.assertEqual(tier_of("language", speaks, same_country, matched, 2), tier)

    def test_expertise_first_tiers_in_spec_order(self):
        cases = [
            ((True, False, 2), 0),  # all + language
            ((False, True, 2), 1),  # all + country
            ((False, False, 2), 2),  # all
            ((True, True, 1), 3),  # one + language
            ((False, True, 1), 4),  # one + country
            ((False, False, 1), 5),  # one
            ((True, True, 0), 6),  # language
            ((False, True, 0), 7),  # country
            ((False, False, 0), 8),  # everyone
        ]
        for (speaks, same_country, matched), tier in cases:
            with self.subTest(speaks=speaks, same_country=same_country, matched=matched):
                self.assertEqual(tier_of("expertise", speaks, same_country, matched, 2), tier)

    def test_last_tier_holds_everybody(self):
        """Anywhere, any expertise: every candidate has a tier (the ranking
        settles the tiers on this)."""
        for priority, tiers in ROUTING_TIERS.items():
            with self.subTest(priority=priority):
                self.assertEqual(tiers[-1], (None, None))

    def test_without_requested_expertise_the_place_decides(self):
        self.assertEqual(tier_of("language", True, False, 0, 0), 0)
        self.assertEqual(tier_of("language", False, True, 0, 0), 3)
        self.assertEqual(tier_of("expertise", False, True, 0, 0), 1)
        self.assertEqual(len(ROUTING_TIERS["language"]), len(set(ROUTING_TIERS["expertise"])), "same tiers, reordered")

    def test_base_language(self):
        self.assertEqual(lang_base("fr_BE"), "fr")
        self.assertEqual(lang_base("sr@latin"), "sr")
        self.assertEqual(lang_base("pt-BR"), "pt")
        self.assertEqual(lang_base(None), "")

    def test_accept_language_exact_then_base_best_quality_first(self):
        def match(header):
            return best_accept_language(parse_accept_header(header, LanguageAccept), ["en_US", "fr_BE", "es_ES"])

        self.assertEqual(match("es-ES;q=0.4, fr-CA;q=0.9"), "fr_BE", "quality first, then the same base")
        self.assertEqual(match("de, *"), None, "a wildcard is no language")
        self.assertEqual(match("en;q=0, es"), "es_ES", "q=0 means not acceptable")
