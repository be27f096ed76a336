import logging
from datetime import timedelta

from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from odoo import fields
from odoo.tests import BaseCase, TransactionCase, tagged
from odoo.tools import SQL

from ..tools import routing_sql
from ..tools.routing_rules import (
    ASSIGNMENT_BUFFER,
    ROUTING_CHECKS,
    ROUTING_TIERS,
    TIE_BREAKS,
    best_accept_language,
    lang_base,
    tier_of,
)

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
            ((True, True, 2), 1),  # language + all
            ((True, False, 1), 2),  # language + one
            ((True, True, 0), 3),  # language
            ((False, True, 2), 4),  # country + all
            ((False, True, 1), 5),  # country + one
            ((False, True, 0), 6),  # country
            ((False, False, 2), 7),  # all
            ((False, False, 1), 8),  # one
            ((False, False, 0), 9),  # everyone
        ]
        for (speaks, same_country, matched), tier in cases:
            with self.subTest(speaks=speaks, same_country=same_country, matched=matched):
                self.assertEqual(tier_of(ROUTING_TIERS["language"], facts(speaks, same_country, matched, 2)), tier)

    def test_expertise_first_tiers_in_spec_order(self):
        cases = [
            ((True, False, 2), 1),  # all + language
            ((False, True, 2), 2),  # all + country
            ((False, False, 2), 3),  # all
            ((True, True, 1), 4),  # one + language
            ((False, True, 1), 5),  # one + country
            ((False, False, 1), 6),  # one
            ((True, True, 0), 7),  # language
            ((False, True, 0), 8),  # country
            ((False, False, 0), 9),  # everyone
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
        self.assertEqual(tier_of(ROUTING_TIERS["language"], facts(True, False, 0, 0)), 1)
        self.assertEqual(tier_of(ROUTING_TIERS["language"], facts(False, True, 0, 0)), 4)
        self.assertEqual(tier_of(ROUTING_TIERS["expertise"], facts(False, True, 0, 0)), 2)
        self.assertEqual(len(ROUTING_TIERS["language"]), len(set(ROUTING_TIERS["expertise"])), "same tiers, reordered")

    def test_previous_operator_before_every_tier(self):
        """SPEC rule 1: the previous operator, whatever the rest says."""
        for priority, tiers in ROUTING_TIERS.items():
            with self.subTest(priority=priority):
                self.assertEqual(tiers[0], ("previous_operator",))
                self.assertEqual(tier_of(tiers, {**facts(False, False, 0, 2), "previous": True}), 0)
                self.assertGreater(tier_of(tiers, facts(True, True, 2, 2)), 0, "not the previous one: not tier 0")

    def test_tie_breaks_in_spec_order(self):
        """SPEC rule 3, in Python: fewest chats, then not in a call, then not
        given one recently, then (a burst) the one given one longest ago."""
        now = fields.Datetime.now()

        def operator(ongoing, in_call=False, last_assignment=None):
            recent = bool(last_assignment) and last_assignment >= now - ASSIGNMENT_BUFFER
            return {"ongoing": ongoing, "in_call": in_call, "recent": recent, "last_assignment": last_assignment}

        operators = {
            "two chats": operator(2),
            "one chat, in a call": operator(1, in_call=True),
            "one chat, given it 10 s ago": operator(1, last_assignment=now - timedelta(seconds=10)),
            "one chat, given it 60 s ago": operator(1, last_assignment=now - timedelta(seconds=60)),
            "one chat, given it an hour ago": operator(1, last_assignment=now - timedelta(hours=1)),
        }

        def key(name):
            return tuple(tie_break.key(operators[name]) for tie_break in TIE_BREAKS.values())

        self.assertEqual(
            sorted(operators, key=key),
            [
                "one chat, given it an hour ago",
                "one chat, given it 60 s ago",
                "one chat, given it 10 s ago",
                "one chat, in a call",
                "two chats",
            ],
        )

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
            channel._get_routing_tie_breaks(),
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
        for name in TIE_BREAKS:
            with self.subTest(tie_break=name):
                self.assertIn(f"/* {name} */", text)
        self.assertLess(text.index("/* fewest_chats */"), text.index("/* not_in_a_call */"), "in SPEC's order")
        self.assertIn("LIMIT 16", text)
        self.env.cr.execute(statement)  # and PostgreSQL runs it

    def test_tie_breaks_sql_orders_as_python(self):
        """Each tie-break's SQL orders operators as its Python key does (the
        benchmark's checker and the tests read the Python one)."""
        now = fields.Datetime.now()
        rows = [
            (ongoing, in_call, last)
            for ongoing in (0, 2)
            for in_call in (False, True)
            for last in (None, now - timedelta(hours=1), now - timedelta(seconds=60), now - timedelta(seconds=5))
        ]
        recent_since = now - ASSIGNMENT_BUFFER
        column_facts = {
            "ongoing": SQL("o.ongoing"),
            "in_call": SQL("o.in_call"),
            "recent": SQL("COALESCE(o.last >= %s, FALSE)", recent_since),
            "last_assignment": SQL("o.last"),
        }
        values = SQL(", ").join(SQL("(%s, %s, %s, %s::timestamp)", index, *row) for index, row in enumerate(rows))
        order = SQL(", ").join(tie_break.sql(column_facts) for tie_break in TIE_BREAKS.values())
        self.env.cr.execute(
            SQL("SELECT o.i FROM (VALUES %s) o(i, ongoing, in_call, last) ORDER BY %s, o.i", values, order)
        )
        by_sql = [index for (index,) in self.env.cr.fetchall()]

        def key(index):
            ongoing, in_call, last = rows[index]
            facts = {"ongoing": ongoing, "in_call": in_call, "recent": bool(last and last >= recent_since)}
            facts["last_assignment"] = last
            return (*(tie_break.key(facts) for tie_break in TIE_BREAKS.values()), index)

        self.assertEqual(by_sql, sorted(range(len(rows)), key=key))
