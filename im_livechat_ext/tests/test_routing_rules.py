import logging

from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from odoo import fields
from odoo.tests import BaseCase, TransactionCase, tagged

from ..tools import routing_sql
from ..tools.routing_rules import ROUTING_CHECKS, ROUTING_TIERS, best_accept_language, lang_base, tier_of

_logger = logging.getLogger(__name__)


def facts(speaks, same_country, matched, requested):
    """One operator's facts, as the rules' Python predicates read them."""
    return {"speaks": speaks, "same_country": same_country, "matched": matched, "requested": requested}


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
                self.assertEqual(tier_of(ROUTING_TIERS["language"], facts(speaks, same_country, matched, 2)), tier)

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
                self.assertEqual(tier_of(ROUTING_TIERS["expertise"], facts(speaks, same_country, matched, 2)), tier)

    def test_last_tier_holds_everybody(self):
        """Anywhere, any expertise: every candidate has a tier (the ranking
        settles the tiers on this)."""
        for priority, tiers in ROUTING_TIERS.items():
            with self.subTest(priority=priority):
                self.assertEqual(tiers[-1], ())

    def test_without_requested_expertise_the_place_decides(self):
        self.assertEqual(tier_of(ROUTING_TIERS["language"], facts(True, False, 0, 0)), 0)
        self.assertEqual(tier_of(ROUTING_TIERS["language"], facts(False, True, 0, 0)), 3)
        self.assertEqual(tier_of(ROUTING_TIERS["expertise"], facts(False, True, 0, 0)), 1)
        self.assertEqual(len(ROUTING_TIERS["language"]), len(set(ROUTING_TIERS["expertise"])), "same tiers, reordered")

    def test_every_tier_is_made_of_declared_checks(self):
        for priority, tiers in ROUTING_TIERS.items():
            for tier in tiers:
                with self.subTest(priority=priority, tier=tier):
                    self.assertTrue(set(tier) <= set(ROUTING_CHECKS))
        used = {name for tiers in ROUTING_TIERS.values() for tier in tiers for name in tier}
        self.assertEqual(used, set(ROUTING_CHECKS), "every declared check is used by a tier")

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


@tagged("post_install", "-at_install")
class TestRankingStatement(TransactionCase):
    """The ranking is composed from conditional parts: printed whole here
    (in the test log) for a visitor who asks for everything, its tiers
    labelled by their checks' names."""

    def test_the_ranking_reads_whole(self):
        channel = self.env["im_livechat.channel"].new({"routing_priority": "language"})
        statement = routing_sql.rank_operators_sql(
            fields.Datetime.now(),
            [1, 2, 3],
            channel._get_routing_tiers(),
            channel._get_routing_checks(),
            lang="fr_BE",
            country_id=self.env.ref("base.be").id,
            expertise_ids=[1, 2],
            previous_partner_id=3,
            exclude_user_ids=[4],
            max_sessions=5,
            block_call=True,
        )
        text = self.env.cr.mogrify(statement.code, statement.params).decode()
        _logger.info("the ranking statement, whole:\n%s", text)
        for tier in ROUTING_TIERS["language"][:-1]:
            with self.subTest(tier=tier):
                self.assertIn(f"/* {' + '.join(tier)} */", text)
        self.assertIn("ORDER BY tier, ongoing, in_call", text)
        self.assertIn("LIMIT 16", text)
        self.env.cr.execute(statement)  # and PostgreSQL runs it
