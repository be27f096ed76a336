import itertools
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged
from odoo.tools import SQL

from ..models import im_livechat_operator_status as operator_claim
from ..tools import routing_sql
from ..tools.routing_rules import ROUTING_CHECKS, ROUTING_TIERS, tier_of, tier_sql
from .common import LivechatRoutingCase


@tagged("post_install", "-at_install")
class TestRouting(LivechatRoutingCase):
    # ------------------------------------------------------------------
    # Candidates
    # ------------------------------------------------------------------
    def test_only_online_operators_are_candidates(self):
        self._operator("Away", status="away")
        self._operator("Offline", status="offline")
        self._operator("NeverConnected", status=None)
        self.assertFalse(self.livechat._get_operator())
        self.assertEqual(self.livechat._get_operator(), self.env["res.users"], "nobody is an empty recordset")
        online = self._operator("Online")
        self.assertEqual(self.livechat._get_operator(), online)
        self.assertEqual(self.livechat.available_operator_ids, online)
        self.assertEqual(self.livechat.available_operator_count, 1)
        self.assertEqual(self.livechat.operator_count, 4)

    def test_inactivity_timeout_excludes_idle_operator(self):
        idle = self._operator("Idle")
        presence = self.env["bus.presence"].search([("user_id", "=", idle.id)])
        presence.last_presence = fields.Datetime.now() - timedelta(minutes=20)
        self.livechat.operator_inactivity_timeout = 30
        self.assertEqual(self.livechat._get_operator(), idle)
        self.livechat.operator_inactivity_timeout = 10
        self.assertFalse(self.livechat._get_operator(), "20 minutes idle is past a 10 minutes timeout")
        self.livechat.operator_inactivity_timeout = 0
        self.assertEqual(self.livechat._get_operator(), idle, "0 never times out")

    def test_capacity_limited(self):
        busy = self._operator("Busy")
        free = self._operator("Free", lang="de_DE")
        self.livechat.write({"max_sessions_mode": "limited", "max_sessions": 2})
        self._chat(busy)
        self._chat(busy)
        self._chat(free)
        self.assertEqual(self.livechat._get_operator(lang="en_US"), free, "Busy speaks English but is full")
        self.assertEqual(self.livechat._get_operator(previous_operator_id=busy.partner_id.id), free)
        self._chat(free)
        self.assertFalse(self.livechat._get_operator(), "everybody at capacity: nobody")
        self.livechat.max_sessions_mode = "unlimited"
        self.assertEqual(self.livechat._get_operator(lang="en_US"), busy)

    def test_a_chat_the_operator_left_does_not_count_until_they_rejoin(self):
        operator = self._operator("Leaver")
        self.livechat.write({"max_sessions_mode": "limited", "max_sessions": 1})
        chat = self._chat(operator)
        self.assertFalse(self.livechat._get_operator(), "full")
        chat.channel_member_ids.filtered(lambda m: m.partner_id == operator.partner_id).unlink()
        self.assertEqual(self.livechat._get_operator(), operator, "they left that chat: a slot is free")
        chat.add_members(partner_ids=operator.partner_id.ids, post_joined_message=False)
        self.assertFalse(self.livechat._get_operator(), "back in it: full again")
        colleague = self._operator("Colleague", join=False)
        chat.sudo().livechat_operator_id = colleague.partner_id
        self.assertEqual(self.livechat._get_operator(), operator, "no longer its operator")

    def test_old_and_closed_chats_do_not_count(self):
        first = self._operator("First")
        second = self._operator("Second")
        self.livechat.write({"max_sessions_mode": "limited", "max_sessions": 1})
        self._chat(first, age=timedelta(minutes=45))  # no activity for 45 minutes
        self._chat(first, active=False)  # closed by the visitor
        self._chat(second)
        self.assertEqual(self.livechat._get_operator(), first)

    def test_block_assignment_during_call(self):
        calling = self._operator("Calling")
        self._chat(calling, in_call=True)
        self.assertEqual(self.livechat._get_operator(), calling)
        self.livechat.block_assignment_during_call = True
        self.assertFalse(self.livechat._get_operator())

    def test_a_visitor_in_a_call_blocks_nobody_else(self):
        """A guest (no partner) in a call with an operator: that operator is
        in a call, the others are not, and stay first of their tier."""
        calling = self._operator("Calling")
        quiet = self._operator("Quiet")
        session = self._chat(calling, in_call=True)
        guest = self.env["mail.guest"].create({"name": "Visitor"})
        guest_member = self.env["discuss.channel.member"].create({"channel_id": session.id, "guest_id": guest.id})
        self.env["discuss.channel.rtc.session"].create({"channel_id": session.id, "channel_member_id": guest_member.id})
        self._chat(quiet)
        self._forget_assignments(calling, quiet)
        # equal load: the one not in a call first
        self.assertEqual(self.livechat._get_operator(), quiet)
        self.livechat.block_assignment_during_call = True
        self.assertEqual(self.livechat.available_operator_ids, quiet)
        self.assertEqual(self.livechat._get_operator(), quiet)

    # ------------------------------------------------------------------
    # Rule 1: previous operator
    # ------------------------------------------------------------------
    def test_previous_operator_first(self):
        previous = self._operator("Previous", lang="de_DE")
        french = self._operator("French", lang="fr_FR")
        self._chat(previous)
        self._chat(previous)
        self.assertEqual(
            self.livechat._get_operator(previous_operator_id=previous.partner_id.id, lang="fr_FR"), previous
        )
        self._chat(previous, in_call=True)
        self.assertEqual(
            self.livechat._get_operator(previous_operator_id=previous.partner_id.id, lang="fr_FR"),
            french,
            "in a call with 3 chats: the previous operator is skipped",
        )

    # ------------------------------------------------------------------
    # Rule 2: tiers
    # ------------------------------------------------------------------
    def test_language_main_or_chat_language(self):
        self._operator("German", lang="de_DE")
        spanish_chat = self._operator("SpanishChat", lang="en_US", chat_langs=["es_ES"])
        self.assertEqual(self.livechat._get_operator(lang="es_ES"), spanish_chat)

    def test_exact_language_before_base_language(self):
        france = self._operator("France", lang="fr_FR")
        belgium = self._operator("Belgium", lang="en_US", chat_langs=["fr_BE"])
        self.assertEqual(self.livechat._get_operator(lang="fr_BE"), belgium)
        self.assertEqual(self.livechat._get_operator(lang="fr_FR"), france)
        # nobody speaks fr_CA: the same base language counts
        self._chat(france)
        self.assertEqual(self.livechat._get_operator(lang="fr_CA"), belgium)
        english = self._operator("English", lang="en_US")
        self.assertIn(self.livechat._get_operator(lang="fr_CA"), france | belgium)
        self.assertNotEqual(self.livechat._get_operator(lang="fr_CA"), english)

    def test_exact_language_judged_among_those_who_can_take_the_chat(self):
        """The claim ranks again on a new snapshot with the ids it had: an
        operator the call rule now blocks is among them. Her speaking the
        visitor's language exactly must not take the language tier from a
        free operator who speaks it by its base language. (The new snapshot
        itself needs committed transactions: test_concurrency; this is the
        ranking it runs.)"""
        exact = self._operator("Exact", lang="fr_BE")
        base = self._operator("Base", lang="fr_FR")
        self._operator("English", lang="en_US")
        self._chat(exact, in_call=True)
        self.env.flush_all()
        self.env.cr.execute(
            routing_sql.rank_operators_sql(
                fields.Datetime.now(),
                self.livechat.user_ids.ids,
                self.livechat._get_routing_tiers(),
                self.livechat._get_routing_checks(),
                self.livechat._get_routing_tie_breaks(),
                lang="fr_BE",
                block_call=True,
                chat_lang_relation=self.livechat._get_chat_lang_relation(),
            )
        )
        ranked = self.env.cr.dictfetchall()
        self.assertNotIn(exact.id, [row["user_id"] for row in ranked], "in a call: blocked")
        self.assertEqual(ranked[0]["user_id"], base.id)
        self.assertEqual(ranked[0]["lang_code"], "fr_FR", "speaks French by its base language")

    def test_language_priority_language_before_expertise(self):
        french = self._operator("French", lang="fr_FR")
        expert = self._operator("Expert", lang="en_US", expertises=self.billing)
        self.assertEqual(self.livechat._get_operator(lang="fr_FR", expertises=self.billing), french)
        self.livechat.routing_priority = "expertise"
        self.assertEqual(self.livechat._get_operator(lang="fr_FR", expertises=self.billing), expert)

    def test_all_expertises_before_one(self):
        one = self._operator("One", lang="fr_FR", expertises=self.billing)
        both = self._operator("Both", lang="fr_FR", expertises=self.billing | self.sales)
        self._chat(both)  # even with more load: a better tier wins
        self.assertEqual(self.livechat._get_operator(lang="fr_FR", expertises=self.billing | self.sales), both)
        self.assertEqual(self.livechat._get_operator(lang="fr_FR", expertises=self.billing), one)

    def test_language_tiers_order(self):
        """language+all, language+one, language, country+all, country+one,
        country, all, one, everyone: removing the winner reveals the next."""
        wanted = self.billing | self.sales
        ops = [
            self._operator("LangAll", lang="fr_FR", expertises=wanted),
            self._operator("LangOne", lang="fr_FR", expertises=self.billing),
            self._operator("Lang", lang="fr_FR"),
            self._operator("CountryAll", lang="de_DE", country=self.belgium, expertises=wanted),
            self._operator("CountryOne", lang="de_DE", country=self.belgium, expertises=self.sales),
            self._operator("Country", lang="de_DE", country=self.belgium),
            self._operator("All", lang="de_DE", expertises=wanted),
            self._operator("One", lang="de_DE", expertises=self.sales),
            self._operator("Anyone", lang="de_DE"),
        ]
        for expected in ops:
            chosen = self.livechat._get_operator(lang="fr_FR", country_id=self.belgium.id, expertises=wanted)
            self.assertEqual(chosen.name, expected.name)
            self.env["bus.presence"].search([("user_id", "=", expected.id)]).status = "offline"

    def test_expertise_tiers_order(self):
        """all+language, all+country, all, one+language, one+country, one,
        language, country, everyone."""
        self.livechat.routing_priority = "expertise"
        wanted = self.billing | self.sales
        ops = [
            self._operator("AllLang", lang="fr_FR", expertises=wanted),
            self._operator("AllCountry", lang="de_DE", country=self.belgium, expertises=wanted),
            self._operator("All", lang="de_DE", expertises=wanted),
            self._operator("OneLang", lang="fr_FR", expertises=self.sales),
            self._operator("OneCountry", lang="de_DE", country=self.belgium, expertises=self.sales),
            self._operator("One", lang="de_DE", expertises=self.billing),
            self._operator("Lang", lang="fr_FR"),
            self._operator("Country", lang="de_DE", country=self.belgium),
            self._operator("Anyone", lang="de_DE"),
        ]
        for expected in ops:
            chosen = self.livechat._get_operator(lang="fr_FR", country_id=self.belgium.id, expertises=wanted)
            self.assertEqual(chosen.name, expected.name)
            self.env["bus.presence"].search([("user_id", "=", expected.id)]).status = "offline"

    def test_archived_expertise_is_ignored(self):
        expert = self._operator("Expert", lang="de_DE", expertises=self.tech)
        self._operator("Other", lang="de_DE")
        self._chat(expert)
        self.tech.active = False
        self.assertNotEqual(self.livechat._get_operator(expertises=self.tech), expert)
        # asked for two live expertises and the archived one: knowing both live
        # ones is knowing all that is asked, before a colleague with fewer chats
        both = self._operator("Both", lang="de_DE", expertises=self.billing | self.sales)
        self._operator("One", lang="de_DE", expertises=self.billing)
        self._chat(both)
        self._chat(both)
        asked = self.billing | self.sales | self.tech
        self.assertEqual(self.livechat._get_operator(lang="de_DE", expertises=asked), both)

    def test_users_restrict_candidates(self):
        first = self._operator("First", lang="fr_FR")
        outsider = self._operator("Outsider", lang="fr_FR", join=False)
        self.assertEqual(self.livechat._get_operator(lang="fr_FR"), first)
        self.assertEqual(self.livechat._get_operator(lang="fr_FR", users=outsider), outsider)

    # ------------------------------------------------------------------
    # Rule 3: inside the tier
    # ------------------------------------------------------------------
    def test_fewest_chats_then_not_in_call(self):
        busy = self._operator("Busy")
        calling = self._operator("Calling")
        quiet = self._operator("Quiet")
        self._chat(busy)
        self._chat(busy)
        self._chat(calling, in_call=True)
        self._chat(quiet)
        self._forget_assignments(busy, calling, quiet)
        self.assertEqual(self.livechat._get_operator(), quiet)

    def test_recently_assigned_operator_yields(self):
        first = self._operator("First")
        second = self._operator("Second")
        self._chat(first)
        self._chat(second)
        self._forget_assignments(first)
        # second got a session just now: first, with the same load, goes before
        for _i in range(5):
            self.assertEqual(self.livechat._get_operator(), first)

    def test_a_burst_of_visitors_goes_round_the_team(self):
        """Chats that end oldest first never leave one operator two chats
        behind an equivalent colleague: within 120 s, the one assigned
        longest ago comes first, so the team is served in turn."""
        team = self._operator("Ann") | self._operator("Bob") | self._operator("Cyd")
        first_round = []
        for _i in range(3):
            operator = self.livechat._get_operator()
            first_round.append(operator)
            self._chat(operator)
        self.assertEqual(set(first_round), set(team), "everyone gets one before anyone gets two")
        open_chats = []
        for arrival in range(30):
            operator = self.livechat._get_operator()
            if arrival < 3:
                self.assertEqual(operator, first_round[arrival], "the second round follows the first")
            open_chats.append(self._chat(operator))
            if arrival % 3 != 2:  # most arrivals see the oldest chat end
                open_chats.pop(0).livechat_active = False
            self.env.flush_all()
            loads = [
                self.env["discuss.channel"].search_count(
                    [("livechat_active", "=", True), ("channel_member_ids.partner_id", "=", user.partner_id.id)]
                )
                for user in team
            ]
            self.assertLessEqual(max(loads) - min(loads), 1, f"loads {loads} after arrival {arrival}")

    def test_remaining_ties_are_random(self):
        first = self._operator("First")
        second = self._operator("Second")
        # equal in every respect: 40 selections pick both (a fixed pick would fail, 1 in 2**39 chance)
        chosen = {self.livechat._get_operator() for _i in range(40)}
        self.assertEqual(chosen, {first, second})

    def test_sql_tiers_are_the_rules_tiers(self):
        """The ranking's tier expression gives routing_rules.tier_of's tier,
        whether a fact is settled by the request for everybody (a Python
        bool, None: no expertise asked) or read per operator (SQL)."""
        for priority in ROUTING_TIERS:
            for previous, speaks, same_country, (matched, requested) in itertools.product(
                (True, False), (True, False), (True, False), ((None, None), (0, 0), (0, 2), (1, 2), (2, 2))
            ):
                tiers = ROUTING_TIERS[priority]
                expected = tier_of(
                    tiers,
                    {
                        "previous": previous,
                        "speaks": speaks,
                        "same_country": same_country,
                        "matched": matched or 0,
                        "requested": requested or 0,
                    },
                )
                # each fact settled by the request (a bool) or read per operator (SQL)
                for settled in itertools.product((True, False), repeat=3):

                    def fact(value, settled):
                        return value if settled else SQL("%s", value)

                    tier = tier_sql(
                        tiers,
                        ROUTING_CHECKS,
                        {
                            "previous": fact(previous, settled[0]),
                            "speaks": fact(speaks, settled[1]),
                            "same_country": fact(same_country, settled[2]),
                            "matched": None if matched is None else SQL("%s", matched),
                            "requested": None if requested is None else SQL("%s", requested),
                        },
                    )
                    self.env.cr.execute(SQL("SELECT %s", tier))
                    with self.subTest(
                        priority=priority,
                        facts=(previous, speaks, same_country, matched, requested),
                        settled=settled,
                    ):
                        self.assertEqual(self.env.cr.fetchone()[0], expected)

    # ------------------------------------------------------------------
    # Why this operator
    # ------------------------------------------------------------------
    def test_routing_reason(self):
        claire = self._operator("Claire Dubois", lang="de_DE", chat_langs=["fr_BE"], expertises=self.billing)
        claire.livechat_username = "Claire"
        self._chat(claire)
        decision = self.livechat._route_visitor(lang="fr_CA", expertises=self.billing)
        self.assertEqual(decision.operator, claire)
        self.assertEqual(decision.reason, "Claire: speaks French (BE), expertise Refunds, 1 ongoing chat")
        claire.livechat_username = False
        decision = self.livechat._route_visitor(previous_operator_id=claire.partner_id.id)
        self.assertEqual(decision.reason, "Claire Dubois: previous operator of this visitor, 1 ongoing chat")
        decision = self.livechat._route_visitor(country_id=self.spain.id)
        self.assertEqual(decision.reason, "Claire Dubois: available, 1 ongoing chat")

    def test_routing_reason_in_the_company_language(self):
        """Managers read the reason in the company's language, whatever the
        language of the visitor's request that routed the chat."""
        self.env["res.lang"]._activate_lang("es_ES")
        self.env["ir.module.module"]._load_module_terms(["im_livechat_ext"], ["es_ES"], overwrite=True)
        self._operator("Claire")
        self.env.company.partner_id.lang = "es_ES"
        decision = self.livechat.with_context(lang="en_US")._route_visitor()
        self.assertEqual(decision.reason, "Claire: disponible, ningún chat en curso")
        self.env.company.partner_id.lang = "en_US"
        decision = self.livechat.with_context(lang="es_ES")._route_visitor()
        self.assertEqual(decision.reason, "Claire: available, no ongoing chat")

    def test_previous_operator_reason_names_the_expertise_they_know(self):
        """The previous operator's tier is a check like the others: the
        reason says it, then the expertise of the visitor's they know."""
        claire = self._operator("Claire", expertises=self.billing)
        self._operator("Expert", expertises=self.billing)
        decision = self.livechat._route_visitor(previous_operator_id=claire.partner_id.id, expertises=self.billing)
        self.assertEqual(decision.operator, claire)
        self.assertEqual(
            decision.reason, "Claire: previous operator of this visitor, expertise Refunds, no ongoing chat"
        )

    def test_reason_language_only_from_a_company_of_the_user(self):
        """The reason's language follows env.company: a context naming a
        company the user is not in (or junk) gives the user's own company,
        never another company's language nor an error."""
        self.env["res.lang"]._activate_lang("es_ES")
        other = self.env["res.company"].create({"name": "Other Company"})
        other.partner_id.lang = "es_ES"
        self.env.company.partner_id.lang = "en_US"
        operator = self._operator("Claire")
        channel = self.livechat.with_user(operator)
        for allowed in ([other.id], "x", [None], [True], {"a": 1}):
            with self.subTest(allowed=allowed):
                env = channel.with_context(allowed_company_ids=allowed)._company_env()
                self.assertEqual(env.lang, "en_US")
        operator.company_ids = [(4, other.id)]
        self.assertEqual(channel.with_context(allowed_company_ids=[other.id])._company_env().lang, "es_ES")

    # ------------------------------------------------------------------
    # Cost
    # ------------------------------------------------------------------
    def test_opening_a_chat_claims_and_stamps_the_operator_in_one_go(self):
        """The claim that reserves the operator also records the assignment
        that the 120 s buffer reads: opening a chat costs no second pass on
        the operator's status row."""
        self.livechat.max_sessions_mode = "limited"
        self.livechat.max_sessions = 3
        ann = self._operator("Ann")
        bob = self._operator("Bob")
        self._chat(bob)
        self._forget_assignments(ann, bob)
        self.env.flush_all()
        self.env.invalidate_all()
        self.env.cr.sql_log_count = 0
        session = self.env["discuss.channel"].create(self.livechat._get_livechat_discuss_channel_vals("Visitor"))
        queries = self.env.cr.sql_log_count
        self.assertEqual(session.livechat_operator_id, ann.partner_id, "the one with fewer chats")
        status = self.env["im_livechat.operator.status"].search([("user_id", "in", (ann | bob).ids)])
        self.assertEqual(status.filtered("last_assignment_dt").user_id, ann, "the one given the chat is stamped")
        # one chat each: Bob, given his long ago, comes next
        self.assertEqual(self.livechat._get_operator(), bob)
        # routing (settings, who can take a chat, ranking, claim: savepoint,
        # lock and stamp, release) and stock's session creation
        self.assertLessEqual(queries, 25)

    def test_a_claim_undone_by_a_savepoint_is_stamped_again_when_the_chat_is_given(self):
        """Serving the line and reassigning unanswered chats roll a claim
        back to a savepoint when it does not go through: the operator's
        stamp is undone with it, and made again if they get a chat later in
        the same transaction."""
        ann = self._operator("Ann")
        self._forget_assignments(ann)
        stamped = operator_claim.own_stamps(self.env.cr)
        with self.env.cr.savepoint() as savepoint:
            self.assertEqual(self.livechat._route_visitor().operator, ann)
            savepoint.rollback()
        operator_claim.forget_stamps_since(self.env.cr, stamped)
        self._chat(ann)
        self.env.flush_all()
        status = self.env["im_livechat.operator.status"].search([("user_id", "=", ann.id)])
        status.invalidate_recordset()
        self.assertTrue(status.last_assignment_dt)

    def test_query_count_does_not_grow(self):
        def queries_of_one_selection():
            self.livechat._get_operator(lang="fr_FR", expertises=self.billing)  # warm caches
            self.env.invalidate_all()
            self.env.cr.sql_log_count = 0
            self.livechat._get_operator(lang="fr_FR", country_id=self.belgium.id, expertises=self.billing)
            return self.env.cr.sql_log_count

        for index in range(5):
            operator = self._operator(f"Op{index}", lang="fr_FR", expertises=self.billing)
            self._chat(operator)
        with_5 = queries_of_one_selection()
        for index in range(45):
            operator = self._operator(f"More{index}", lang="fr_FR", expertises=self.billing | self.sales)
            self._chat(operator)
            self._chat(operator)
        with_50 = queries_of_one_selection()
        self.assertEqual(with_5, with_50, "one selection costs the same queries for 5 and 50 operators")
        # every cache emptied: the channel's settings, who can take a chat, the
        # ranking (the expertises asked for are checked there)
        self.assertLessEqual(with_50, 3)
