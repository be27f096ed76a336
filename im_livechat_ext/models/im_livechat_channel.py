import logging
import random
from dataclasses import dataclass, field
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.http import request

_logger = logging.getLogger(__name__)

# A chat counts as ongoing while it is open and had activity this recently
# (stock Odoo's definition of an active chat).
ONGOING_WINDOW = timedelta(minutes=30)
# An operator who got a session this recently yields to an equal one who did not.
ASSIGNMENT_BUFFER = timedelta(seconds=120)

# Preference tiers of the routing rules, best first. Each tier is
# (place, expertise): place is "language", "country" or None (anyone);
# expertise is "all" (every requested expertise), "one" (at least one) or None.
ROUTING_TIERS = {
    "language": [
        ("language", "all"),
        ("language", "one"),
        ("language", None),
        ("country", "all"),
        ("country", "one"),
        ("country", None),
        (None, "all"),
        (None, "one"),
        (None, None),
    ],
    "expertise": [
        ("language", "all"),
        ("country", "all"),
        (None, "all"),
        ("language", "one"),
        ("country", "one"),
        (None, "one"),
        ("language", None),
        ("country", None),
        (None, None),
    ],
}


def lang_base(code):
    """fr_BE -> fr, sr@latin -> sr: languages that visitors of one another read."""
    return (code or "").split("@")[0].split("_")[0].lower()


@dataclass
class OperatorState:
    """What the routing knows of one available operator, from one SQL query."""

    user_id: int
    partner_id: int
    chat_name: str  # online chat name, else the user's name: what visitors see
    langs: list  # main language first, then chat languages (active codes)
    country_id: int
    ongoing: int
    in_call: bool
    recently_assigned: bool
    last_assignment_dt: object = None  # datetime of the operator's last session, None if never
    expertise_ids: set = field(default_factory=set)


@dataclass
class RoutingDecision:
    """The chosen operator (empty recordset when nobody) and why."""

    operator: models.BaseModel
    reason: str = ""


ROUTING_SETTINGS = {
    "routing_priority",
    "max_sessions_mode",
    "max_sessions",
    "block_assignment_during_call",
    "operator_inactivity_timeout",
}


class ImLivechatChannel(models.Model):
    _inherit = "im_livechat.channel"

    routing_priority = fields.Selection(
        [("language", "Language first"), ("expertise", "Expertise first")],
        default="language",
        required=True,
        groups="base.group_user",
        help="Language first: an operator who speaks the visitor's language is preferred, "
        "then expertise decides among them. Expertise first: an operator who knows the "
        "subject is preferred, then language decides among them.",
    )
    max_sessions_mode = fields.Selection(
        [("unlimited", "Unlimited"), ("limited", "Limited")],
        string="Sessions per Operator",
        default="unlimited",
        required=True,
        groups="base.group_user",
    )
    max_sessions = fields.Integer(
        "Maximum Ongoing Sessions",
        default=10,
        groups="base.group_user",
        help="An operator with this many ongoing chats gets no new one.",
    )
    block_assignment_during_call = fields.Boolean(
        "No New Chat During a Call",
        groups="base.group_user",
        help="Operators in a call get no new chat until they hang up.",
    )
    operator_inactivity_timeout = fields.Integer(
        "Inactivity Timeout (minutes)",
        default=30,
        groups="base.group_user",
        help="Operators without any activity in Odoo for this long get no chat and are "
        "removed from the channel's operators. 0 never removes anybody.",
    )
    operator_count = fields.Integer("Operators Count", compute="_compute_operator_count")
    available_operator_count = fields.Integer("Available Operators", compute="_compute_available_operator_count")

    _sql_constraints = [
        (
            "max_sessions_positive",
            "CHECK(max_sessions > 0)",
            "The maximum number of ongoing sessions per operator must be greater than 0.",
        ),
        (
            "operator_inactivity_timeout_positive",
            "CHECK(operator_inactivity_timeout >= 0)",
            "The inactivity timeout cannot be negative (0 never removes operators).",
        ),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_routing_settings_access(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._check_routing_settings_access(vals)
        return super().write(vals)

    def _check_routing_settings_access(self, vals):
        """Stock lets operators edit channels (Join writes the channel); the
        routing settings decide who gets which chat, so only managers change them."""
        if self.env.su or not ROUTING_SETTINGS.intersection(vals):
            return
        if not self.env.user.has_group("im_livechat.im_livechat_group_manager"):
            raise AccessError(_("Only Live Chat managers can change the routing settings of a channel."))

    @api.constrains("max_sessions", "operator_inactivity_timeout")
    def _check_routing_limits(self):
        # Same rules as the SQL constraints, with a message that names the field.
        for channel in self:
            if channel.max_sessions <= 0:
                raise ValidationError(_("The maximum number of ongoing sessions per operator must be greater than 0."))
            if channel.operator_inactivity_timeout < 0:
                raise ValidationError(_("The inactivity timeout cannot be negative (0 never removes operators)."))

    @api.depends("user_ids")
    def _compute_operator_count(self):
        for channel in self:
            channel.operator_count = len(channel.user_ids)

    @api.depends("user_ids.im_status", "operator_inactivity_timeout")
    def _compute_available_operator_ids(self):
        """Present operators: online, and active within the inactivity timeout."""
        for channel in self:
            if isinstance(channel.id, int):
                channel.available_operator_ids = channel._get_present_operators()
            else:  # a new record not saved yet
                channel.available_operator_ids = channel.user_ids.filtered(lambda user: user._is_user_available())

    @api.depends("available_operator_ids")
    def _compute_available_operator_count(self):
        for channel in self:
            channel.available_operator_count = len(channel.available_operator_ids)

    def _get_present_operators(self, users=None):
        """Those of `users` (default: this channel's operators) whose Odoo
        presence is online (not away, not offline) and who were active
        within this channel's inactivity timeout."""
        self.ensure_one()
        if users is not None and not users:
            return self.env["res.users"]
        timeout = self.operator_inactivity_timeout
        if users is None:
            operator_filter = "IN (SELECT user_id FROM im_livechat_channel_im_user WHERE channel_id = %(channel_id)s)"
        else:
            operator_filter = "= ANY(%(user_ids)s)"
        self.env.flush_all()
        self.env.cr.execute(
            f"""
            SELECT presence.user_id
              FROM bus_presence presence
              JOIN res_users u ON u.id = presence.user_id
             WHERE presence.user_id {operator_filter}
               AND presence.status = 'online'
               AND u.active
               AND (%(inactive_before)s::timestamp IS NULL OR presence.last_presence >= %(inactive_before)s)
             ORDER BY presence.user_id
            """,
            {
                "inactive_before": fields.Datetime.now() - timedelta(minutes=timeout) if timeout else None,
                "user_ids": users.ids if users is not None else None,
                "channel_id": self.id,
            },
        )
        return self.env["res.users"].browse(row[0] for row in self.env.cr.fetchall())

    # ------------------------------------------------------------------
    # Join / Leave
    # ------------------------------------------------------------------
    def action_join(self):
        if not self.env.user.has_group("im_livechat.im_livechat_group_user"):
            raise AccessError(_("Only Live Chat users can join a live chat channel."))
        return super().action_join()

    def _to_store(self, store, /, *, fields=None):
        result = super()._to_store(store, fields=fields)
        if fields and "are_you_inside" in fields:
            # the kanban card shows these counts next to Join / Leave
            for channel in self:
                store.add(
                    self._name,
                    {
                        "id": channel.id,
                        "operator_count": channel.operator_count,
                        "available_operator_count": channel.available_operator_count,
                    },
                )
        return result

    # ------------------------------------------------------------------
    # Sessions
    # ------------------------------------------------------------------
    def _get_livechat_discuss_channel_vals(
        self, anonymous_name, previous_operator_id=None, chatbot_script=None, user_id=None, country_id=None, lang=None
    ):
        visitor_lang = self._get_visitor_lang(lang)
        routing = None
        channel = self
        if not chatbot_script:
            routing = self._route_visitor(
                previous_operator_id=previous_operator_id, lang=visitor_lang.code, country_id=country_id
            )
            # the stock code asks _get_operator: hand it this very decision
            channel = self.with_context(livechat_routing_decision=(routing.operator.id, self.id))
        vals = super(ImLivechatChannel, channel)._get_livechat_discuss_channel_vals(
            anonymous_name,
            previous_operator_id=previous_operator_id,
            chatbot_script=chatbot_script,
            user_id=user_id,
            country_id=country_id,
            lang=visitor_lang.code or lang,
        )
        if vals:
            vals["livechat_lang_id"] = visitor_lang.id
            if routing:
                vals["livechat_routing_reason"] = routing.reason
        return vals

    @api.model
    def _get_visitor_lang(self, cookie_lang=None):
        """The visitor's language (an active res.lang, or empty): website
        language cookie, website visitor's language, browser's Accept-Language."""
        Lang = self.env["res.lang"].sudo()
        active_langs = [code for code, _name in Lang.get_installed()]
        if not cookie_lang and request:
            cookie_lang = request.cookies.get("frontend_lang")
        if cookie_lang in active_langs:
            return Lang._lang_get(cookie_lang)
        if request and "website.visitor" in self.env:
            visitor = self.env["website.visitor"].sudo()._get_visitor_from_request()
            if visitor.lang_id.active:
                return visitor.lang_id
        if request:
            code = self._match_accept_language(request.httprequest.headers.get("Accept-Language"), active_langs)
            if code:
                return Lang._lang_get(code)
        return Lang

    @api.model
    def _match_accept_language(self, header, active_codes):
        """Best active language code for an Accept-Language header, or None.

        Values are tried best quality first; for each, the exact code, then
        a language of the same base (fr-CA -> fr_FR or fr_BE). Anything that
        does not parse is ignored."""
        if not header or not isinstance(header, str):
            return None
        preferences = []
        for position, item in enumerate(header.split(",")[:50]):
            tag, _sep, params = item.strip().partition(";")
            tag = tag.strip().replace("-", "_")
            if not tag or tag == "*" or not all(part.isalnum() for part in tag.split("_")):
                continue
            quality = 1.0
            for param in params.split(";"):
                key, _eq, value = param.strip().partition("=")
                if key.strip().lower() == "q":
                    try:
                        quality = float(value)
                    except ValueError:
                        quality = -1
            if 0 < quality <= 1:
                preferences.append((-quality, position, tag))
        by_lower = {code.lower(): code for code in active_codes}
        for _quality, _position, tag in sorted(preferences):
            if tag.lower() in by_lower:
                return by_lower[tag.lower()]
            base = lang_base(tag)
            same_base = sorted(code for code in active_codes if lang_base(code) == base)
            if same_base:
                # fr -> fr_FR before fr_BE: the language's "home" variant first
                home = f"{base}_{base.upper()}"
                return home if home in same_base else same_base[0]
        return None

    # ------------------------------------------------------------------
    # Routing
    # ------------------------------------------------------------------
    def _get_operator(self, previous_operator_id=None, lang=None, country_id=None, expertises=None, users=None):
        """The operator for a new chat (empty recordset when nobody is
        available), following the routing rules of _route_visitor."""
        decided = self.env.context.get("livechat_routing_decision")
        if decided and decided[1] == self.id:
            return self.env["res.users"].browse(decided[0])
        return self._route_visitor(
            previous_operator_id=previous_operator_id,
            lang=lang,
            country_id=country_id,
            expertises=expertises,
            users=users,
        ).operator

    def _route_visitor(self, previous_operator_id=None, lang=None, country_id=None, expertises=None, users=None):
        """The routing rules, top to bottom.

        1. Candidates: available operators (online, under capacity, not in a
           call when the channel blocks that). None: nobody.
        2. The previous operator, when a candidate and not in a call with two
           or more ongoing chats.
        3. The first non-empty preference tier (ROUTING_TIERS[routing_priority]);
           a language matches exactly, or, when no candidate matches exactly,
           by its base language.
        4. Inside the tier: fewest ongoing chats, not in a call, not assigned
           in the last 120 s; among operators who all were, the one assigned
           longest ago (a burst of visitors goes round the team instead of
           piling on whoever the dice pick); remaining ties at random.
        """
        self.ensure_one()
        Users = self.env["res.users"]
        expertise_ids = set(self._ids_of(expertises))
        if users is not None:
            present = self._get_present_operators(Users.browse(self._ids_of(users)))
        elif type(self)._compute_available_operator_ids is ImLivechatChannel._compute_available_operator_ids:
            present = self._get_present_operators()  # what the field would hold, without its ORM cost
        else:
            # another module (or a test) redefines who is available: ask it, fresh
            self.invalidate_recordset(["available_operator_ids"])
            present = self.available_operator_ids
        candidates = self._get_operator_states(present, expertise_ids)
        if not candidates:
            return RoutingDecision(Users)

        if previous_operator_id:
            previous = next((c for c in candidates if c.partner_id == previous_operator_id), None)
            if previous and not (previous.in_call and previous.ongoing >= 2):
                return self._decision(previous, is_previous=True)

        lang_matches = {c.user_id: lang if lang in c.langs else None for c in candidates} if lang else {}
        if lang and not any(lang_matches.values()):
            visitor_base = lang_base(lang)
            lang_matches = {
                c.user_id: next((code for code in c.langs if lang_base(code) == visitor_base), None) for c in candidates
            }

        def matches(candidate, place, expertise):
            if place == "language" and not lang_matches.get(candidate.user_id):
                return False
            if place == "country" and not (country_id and candidate.country_id == country_id):
                return False
            matched = candidate.expertise_ids & expertise_ids
            if expertise == "all" and matched != expertise_ids:
                return False
            if expertise == "one" and expertise_ids and not matched:
                return False
            return True

        # the last tier (anyone) always has members: candidates is not empty
        (place, expertise), in_tier = next(
            (rule, members)
            for rule in ROUTING_TIERS[self.routing_priority or "language"]
            if (members := [c for c in candidates if matches(c, *rule)])
        )

        def rank(c):
            # the last key only orders operators who all got a session in the
            # last 120 s (the others have none to compare): longest ago first
            return (c.ongoing, c.in_call, c.recently_assigned, c.last_assignment_dt if c.recently_assigned else None)

        best = min(map(rank, in_tier))
        chosen = random.choice([c for c in in_tier if rank(c) == best])
        return self._decision(
            chosen,
            lang_code=lang_matches.get(chosen.user_id) if place == "language" else None,
            country_id=country_id if place == "country" else None,
            expertise_ids=chosen.expertise_ids & expertise_ids,
        )

    def _decision(self, state, is_previous=False, lang_code=None, country_id=None, expertise_ids=()):
        """A RoutingDecision for one operator, with its readable reason
        (e.g. "Mitchell: speaks French (BE), expertise Billing, 1 ongoing chat")."""
        operator = self.env["res.users"].browse(state.user_id)
        # written for the managers, not the visitor: in the company's language
        self = self.with_context(lang=self.env.company.partner_id.lang or "en_US")  # noqa: PLW0642
        parts = [_("previous operator of this visitor")] if is_previous else []
        if lang_code:
            lang_name = self.env["res.lang"]._get_data(code=lang_code).name or lang_code
            parts.append(_("speaks %(lang)s", lang=lang_name.split(" / ")[0]))
        if country_id:
            parts.append(_("from %(country)s", country=self.env["res.country"].sudo().browse(country_id).name))
        if expertise_ids:
            names = self.env["im_livechat.expertise"].sudo().browse(sorted(expertise_ids)).mapped("name")
            parts.append(_("expertise %(names)s", names=", ".join(names)))
        if not parts:
            parts.append(_("available"))
        if state.ongoing == 0:
            parts.append(_("no ongoing chat"))
        elif state.ongoing == 1:
            parts.append(_("1 ongoing chat"))
        else:
            parts.append(_("%(count)s ongoing chats", count=state.ongoing))
        if state.in_call:
            parts.append(_("in a call"))
        return RoutingDecision(operator, reason=f"{state.chat_name}: {', '.join(parts)}")

    @api.model
    def _ids_of(self, records):
        """Ids of a recordset, a list of ids or None (expertises, users)."""
        if not records:
            return []
        if isinstance(records, models.BaseModel):
            return records.ids
        return [int(record_id) for record_id in records]

    def _get_operator_states(self, present_users, expertise_ids=()):
        """Those of `present_users` who can take a chat now (capacity, call)
        with what the routing needs to know of them, in one query whatever
        the number of operators, expertises and sessions."""
        self.ensure_one()
        if not present_users:
            return []
        settings_langs = self.env["res.users.settings"]._fields["livechat_lang_ids"]
        now = fields.Datetime.now()
        self.env.flush_all()
        query = f"""
            WITH operator AS (
                SELECT u.id AS user_id, u.partner_id, p.lang, p.country_id, p.name,
                       u.livechat_last_assignment_dt
                  FROM res_users u
                  JOIN res_partner p ON p.id = u.partner_id
                 WHERE u.id = ANY(%(user_ids)s)
            ), load AS (
                -- sessions the operator takes part in: given directly or
                -- forwarded by a chatbot (which keeps the bot as livechat operator)
                SELECT member.partner_id, COUNT(*) AS ongoing
                  FROM discuss_channel_member member
                  JOIN discuss_channel session ON session.id = member.channel_id
                 WHERE member.partner_id IN (SELECT partner_id FROM operator)
                   AND session.channel_type = 'livechat'
                   AND session.livechat_active
                   AND GREATEST(session.create_date, session.last_interest_dt) >= %(ongoing_since)s
                 GROUP BY member.partner_id
            ), calling AS (
                SELECT DISTINCT member.partner_id
                  FROM discuss_channel_rtc_session rtc
                  JOIN discuss_channel_member member ON member.id = rtc.channel_member_id
                 WHERE member.partner_id IN (SELECT partner_id FROM operator)
            ), chat_lang AS (
                SELECT settings.user_id, array_agg(lang.code ORDER BY lang.code) AS codes
                  FROM res_users_settings settings
                  JOIN "{settings_langs.relation}" rel ON rel."{settings_langs.column1}" = settings.id
                  JOIN res_lang lang ON lang.id = rel."{settings_langs.column2}" AND lang.active
                 WHERE settings.user_id IN (SELECT user_id FROM operator)
                 GROUP BY settings.user_id
            ), expertise AS (
                SELECT rel.user_id, array_agg(rel.expertise_id) AS ids
                  FROM im_livechat_expertise_res_users_rel rel
                  JOIN im_livechat_expertise expertise ON expertise.id = rel.expertise_id AND expertise.active
                 WHERE rel.user_id IN (SELECT user_id FROM operator)
                   AND rel.expertise_id = ANY(%(expertise_ids)s)
                 GROUP BY rel.user_id
            )
            SELECT operator.user_id, operator.partner_id, operator.lang, operator.country_id,
                   COALESCE(NULLIF(settings.livechat_username, ''), operator.name),
                   COALESCE(load.ongoing, 0),
                   calling.partner_id IS NOT NULL,
                   COALESCE(operator.livechat_last_assignment_dt >= %(buffer_since)s, FALSE),
                   operator.livechat_last_assignment_dt,
                   COALESCE(chat_lang.codes, '{{}}'),
                   COALESCE(expertise.ids, '{{}}')
              FROM operator
              LEFT JOIN res_users_settings settings ON settings.user_id = operator.user_id
              LEFT JOIN load ON load.partner_id = operator.partner_id
              LEFT JOIN calling ON calling.partner_id = operator.partner_id
              LEFT JOIN chat_lang ON chat_lang.user_id = operator.user_id
              LEFT JOIN expertise ON expertise.user_id = operator.user_id
             WHERE (%(max_sessions)s::int IS NULL OR COALESCE(load.ongoing, 0) < %(max_sessions)s)
               AND NOT (%(block_call)s AND calling.partner_id IS NOT NULL)
             ORDER BY operator.user_id
        """
        self.env.cr.execute(
            query,
            {
                "user_ids": present_users.ids,
                "ongoing_since": now - ONGOING_WINDOW,
                "buffer_since": now - ASSIGNMENT_BUFFER,
                "expertise_ids": list(expertise_ids),
                "max_sessions": self.max_sessions if self.max_sessions_mode == "limited" else None,
                "block_call": bool(self.block_assignment_during_call),
            },
        )
        return [
            OperatorState(
                user_id=user_id,
                partner_id=partner_id,
                chat_name=chat_name,
                langs=[main_lang] + [code for code in chat_langs if code != main_lang],
                country_id=country_id,
                ongoing=ongoing,
                in_call=in_call,
                recently_assigned=recent,
                last_assignment_dt=last_assignment_dt,
                expertise_ids=set(expertises),
            )
            for (
                user_id,
                partner_id,
                main_lang,
                country_id,
                chat_name,
                ongoing,
                in_call,
                recent,
                last_assignment_dt,
                chat_langs,
                expertises,
            ) in self.env.cr.fetchall()
        ]

    # ------------------------------------------------------------------
    # Inactivity
    # ------------------------------------------------------------------
    @api.model
    def _cron_remove_inactive_operators(self):
        """Remove from each channel the operators without Odoo activity for
        longer than the channel's timeout; tell them and log it on the channel."""
        now = fields.Datetime.now()
        self.env["bus.presence"].flush_model()
        for channel in self.search([("operator_inactivity_timeout", ">", 0)]):
            inactive_before = now - timedelta(minutes=channel.operator_inactivity_timeout)
            self.env.cr.execute(
                """
                SELECT rel.user_id
                  FROM im_livechat_channel_im_user rel
                  LEFT JOIN bus_presence presence ON presence.user_id = rel.user_id
                 WHERE rel.channel_id = %s
                   AND (presence.id IS NULL OR presence.last_presence < %s)
                """,
                [channel.id, inactive_before],
            )
            inactive = self.env["res.users"].browse([row[0] for row in self.env.cr.fetchall()])
            if inactive:
                channel._remove_inactive_operators(inactive, channel.operator_inactivity_timeout)

    def _remove_inactive_operators(self, operators, timeout):
        self.ensure_one()
        self.user_ids -= operators
        _logger.info("Live chat channel %s: removed inactive operators %s", self.id, operators.ids)
        self.env["im_livechat.operator.removal"].sudo().create(
            [{"channel_id": self.id, "user_id": operator.id, "timeout": timeout} for operator in operators]
        )
        odoobot = self.env.ref("base.user_root")
        for operator in operators:
            # sudo: discuss.channel - OdooBot tells the operator in a direct chat
            chat = self.env["discuss.channel"].with_user(odoobot).sudo().channel_get([operator.partner_id.id])
            chat.with_context(lang=operator.lang).message_post(
                author_id=odoobot.partner_id.id,
                body=_(
                    "You were removed from the live chat channel %(channel)s after %(minutes)s minutes "
                    "without activity in Odoo. Join it again from Live Chat when you are back.",
                    channel=self.name,
                    minutes=timeout,
                ),
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
            )
