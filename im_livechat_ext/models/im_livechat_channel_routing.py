from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from odoo import api, fields, models
from odoo.http import request
from odoo.tools import SQL

from ..tools import routing_rules, routing_sql
from . import im_livechat_operator_status as operator_claim

# the context key that hands a routing decision to stock code asking _get_operator
ROUTING_DECISION_KEY = "livechat_routing_decision"
# the context keys the get_session controller sets: the visitor language it
# detected, and that the visitor only opens the chat window (no session yet,
# so no operator to claim)
VISITOR_LANG_KEY = "livechat_visitor_lang"
NO_CLAIM_KEY = "livechat_route_without_claim"


@dataclass
class RoutingDecision:
    """The chosen operator (empty recordset when nobody) and why."""

    operator: models.BaseModel
    # says why, when asked: a caller that only wants the operator (stock's
    # _get_operator) does not pay for the sentence's names
    explain: Callable[[], str] | None = None
    # the winner knows at least one of the expertises asked for
    knows_the_subject: bool = False

    @cached_property
    def reason(self):
        return self.explain() if self.explain else ""


class ImLivechatChannel(models.Model):
    """The routing (SPEC F9): who gets a visitor's chat, and why."""

    _inherit = "im_livechat.channel"  # pylint: disable=consider-merging-classes-inherited

    def _get_livechat_discuss_channel_vals(
        self, anonymous_name, previous_operator_id=None, chatbot_script=None, user_id=None, country_id=None, lang=None
    ):
        """The routing's entry point for a visitor. Their path: the
        /im_livechat/get_session controller (visitor language) -> here ->
        _route_visitor (one ranking statement, routing_sql) -> the claim
        (im_livechat_operator_status.claim_first) -> stock's values, then
        stock creates the session. With nobody free but someone present and
        a line, the waiting line's values instead (_get_waiting_session_vals).
        Nothing on the way calls back up."""
        if len(self) != 1:
            # no such channel (channel_id 0, null): stock's answer, nobody
            return super()._get_livechat_discuss_channel_vals(
                anonymous_name, previous_operator_id, chatbot_script, user_id, country_id, lang
            )
        code = self.env.context.get(VISITOR_LANG_KEY, lang)
        # an active language's cached data (no query); False id and code otherwise
        visitor_lang = self.env["res.lang"]._get_data(code=code if isinstance(code, str) else "")
        routing = None
        channel = self
        if not chatbot_script:
            if self._has_waiting_visitors():
                # nobody overtakes the line: a free slot is theirs first
                routing = RoutingDecision(self.env["res.users"])
            else:
                routing = self._route_visitor(
                    previous_operator_id=previous_operator_id,
                    lang=visitor_lang.code,
                    country_id=country_id,
                    claim=not self.env.context.get(NO_CLAIM_KEY),
                )
            channel = self._with_routing_decision(self, routing)
        vals = super(ImLivechatChannel, channel)._get_livechat_discuss_channel_vals(
            anonymous_name,
            previous_operator_id=previous_operator_id,
            chatbot_script=chatbot_script,
            user_id=user_id,
            country_id=country_id,
            lang=visitor_lang.code or lang,
        )
        if not vals and routing is not None:
            visitor = self._line_visitor(user_id)
            if self._can_wait_in_line(visitor):
                # nobody free but someone present, and room for this visitor: they wait in line
                vals = self._get_waiting_session_vals(
                    anonymous_name, visitor, user_id=user_id, country_id=country_id, lang=visitor_lang.code or lang
                )
        if vals:
            vals["livechat_lang_id"] = visitor_lang.id
            # how the chat starts (F23), known here: no query to tell it again
            vals["livechat_failure"] = "no_answer" if routing and routing.operator else "no_agent"
            if routing and routing.operator:
                vals["livechat_routing_reason"] = routing.reason
        return vals

    def _get_stock_session_vals(self, anonymous_name, **kwargs):
        """Stock's session values, without the routing above (the waiting
        line builds its OdooBot-held session on them): the overrides that
        come after this file's class (models/__init__.py's order, then the
        modules loaded before this one) and stock's own."""
        return super()._get_livechat_discuss_channel_vals(anonymous_name, **kwargs)

    @api.model
    def _detect_visitor_lang(self):
        """The code of the language of the visitor of the current request
        (an active language, else False): website language cookie, website
        visitor's language, browser's Accept-Language (exact code, then same
        base). Read from the languages' cache: no query per visitor."""
        Lang = self.env["res.lang"].sudo()
        if not request:
            return False
        if cookie_lang := Lang._get_code(request.cookies.get("frontend_lang") or ""):
            return cookie_lang
        if "website.visitor" in self.env:
            visitor = self.env["website.visitor"].sudo()._get_visitor_from_request()
            if visitor and (visitor_lang := Lang._get_data(id=visitor.lang_id.id).code):
                return visitor_lang
        active_codes = [code for code, _name in Lang.get_installed()]
        return routing_rules.best_accept_language(request.httprequest.accept_languages, active_codes) or False

    def _get_operator(self, previous_operator_id=None, lang=None, country_id=None, expertises=None, users=None):
        """The operator for a new chat (empty recordset when nobody is
        available), following the routing rules. Stock code asking it while
        giving a session gets the decision this module took and claimed
        (_with_routing_decision); any other caller only asks."""
        if len(self) != 1:
            return self.env["res.users"]  # no such channel (channel_id 0, null): nobody, as stock
        decided = self.env.context.get(ROUTING_DECISION_KEY)
        if decided and decided[1] == self.id:
            return self.env["res.users"].browse(decided[0])
        return self._route_visitor(
            previous_operator_id=previous_operator_id,
            lang=lang,
            country_id=country_id,
            expertises=expertises,
            users=users,
            claim=False,
        ).operator

    def _with_routing_decision(self, records, decision):
        """`records` with a context that makes stock code asking this
        channel's _get_operator get this very decision."""
        self.ensure_one()
        return records.with_context(**{ROUTING_DECISION_KEY: (decision.operator.id, self.id)})

    def _route_visitor(
        self,
        previous_operator_id=None,
        lang=None,
        country_id=None,
        expertises=None,
        users=None,
        exclude_users=None,
        claim=True,
        wait_for_claimed=True,
    ):
        """The RoutingDecision for a visitor: the best operator who can take
        the chat, with the reason. With `claim` (giving a session), the best
        one nobody else is being given right now, locked until the transaction
        ends. `users` replaces the channel's operators as candidates;
        `exclude_users` are never chosen."""
        self.ensure_one()
        Users = self.env["res.users"]
        candidates = self._get_routing_candidates(users)
        if not candidates:
            return RoutingDecision(Users)
        capacity = self._get_capacity_limits()
        candidate_ids = tuple(candidates._ids)  # read once: thousands of them at most
        ranking_request = routing_sql.RankingRequest(
            candidate_ids=candidate_ids,
            inactivity_minutes=self.operator_inactivity_timeout,
            # the channel's own operators must still be ones when ranked again
            channel_id=self.id if users is None else None,
            ranking={
                "tiers": self._get_routing_tiers(),
                "checks": self._get_routing_checks(),
                "tie_breaks": self._get_routing_tie_breaks(),
                "lang": lang,
                "country_id": country_id,
                "expertise_ids": expertises.ids if expertises else [],
                "previous_partner_id": previous_operator_id,
                "exclude_user_ids": exclude_users.ids if exclude_users else (),
                "max_sessions": capacity["max_sessions"],
                "block_call": capacity["block_call"],
                "chat_lang_relation": self._get_chat_lang_relation(),
            },
        )
        self.env.cr.execute(ranking_request.rank_sql(fields.Datetime.now(), candidate_ids))
        ranked = self.env.cr.dictfetchall()
        if claim:
            winner = operator_claim.claim_first(
                self.env.cr, ranked, capacity["max_sessions"], rerank=ranking_request, wait=wait_for_claimed
            )
        else:
            winner = ranked[0] if ranked else None
        if not winner:
            return RoutingDecision(Users)
        winner_id = winner["user_id"]
        return RoutingDecision(
            Users.browse(winner_id),
            explain=lambda: self._routing_reason(
                winner, country_id, ranking_request.ranking["tiers"], ranking_request.ranking["checks"]
            ),
            knows_the_subject=bool(winner["matched_ids"]),
        )

    def _get_routing_checks(self):
        """The named preference checks the tiers combine ({name:
        routing_rules.RoutingCheck}): another module adds or changes a rule
        here, and places it in _get_routing_tiers."""
        return dict(routing_rules.ROUTING_CHECKS)

    def _get_routing_tiers(self):
        """This channel's preference tiers, best first: tuples of the names
        of _get_routing_checks, () for everyone."""
        return list(routing_rules.ROUTING_TIERS[self.routing_priority or "language"])

    def _get_routing_tie_breaks(self):
        """How the operators of one tier are ordered, in order ({name:
        routing_rules.TieBreak}); chance breaks the ties left."""
        return dict(routing_rules.TIE_BREAKS)

    @api.model
    def _get_chat_lang_relation(self):
        field = self.env["res.users.settings"]._fields["livechat_lang_ids"]
        return field.relation, field.column1, field.column2

    @api.model
    def _company_env(self):
        """Routing reasons are for managers: in the company's language (that
        of env.company: the request's first allowed company, else the
        user's). Read in one query, on every chat given: through the ORM,
        the user's, the company's and its partner's rows cost more than
        the rest of the routing of a small team."""
        self.env["res.partner"].flush_model(["lang"])
        self.env["res.company"].flush_model(["partner_id"])
        self.env["res.users"].flush_model(["company_id"])
        allowed = self.env.context.get("allowed_company_ids")
        company_id = allowed[0] if isinstance(allowed, list | tuple) and allowed else None
        if type(company_id) is not int or not (self.env.su or company_id in self.env.user._get_company_ids()):
            company_id = None  # none, or not one of this user's (env.company refuses it)
        # that company's language, else (none, or no such company) the user's company's
        self.env.cr.execute(
            SQL(
                """SELECT COALESCE(
                       (SELECT partner.lang FROM res_company company
                          JOIN res_partner partner ON partner.id = company.partner_id
                         WHERE company.id = %s),
                       (SELECT partner.lang FROM res_users users
                          JOIN res_company company ON company.id = users.company_id
                          JOIN res_partner partner ON partner.id = company.partner_id
                         WHERE users.id = %s))""",
                company_id,
                self.env.uid,
            )
        )
        row = self.env.cr.fetchone()
        return self.with_context(lang=(row and row[0]) or "en_US").env

    def _routing_reason(self, winner, country_id, tiers, checks):
        """The reason sentence, for managers: in the company's language, in
        the words of the tiers and checks that ranked the winner."""
        env = self._company_env()
        lang_code = winner["lang_code"]
        operator = env["res.users"].sudo().browse(winner["user_id"])
        return routing_rules.routing_reason(
            env,
            tiers,
            checks,
            winner,
            operator._livechat_chat_name(),
            names={
                "lang_name": lang_code and (env["res.lang"]._get_data(code=lang_code).name or lang_code),
                "country_name": country_id and env["res.country"].sudo().browse(country_id).name,
            },
            expertise_names=env["im_livechat.expertise"].sudo().browse(winner["matched_ids"]).mapped("name"),
        )
