from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.tools import SQL

from .discuss_channel import CREATING, CREATING_SESSIONS

# what the routing records of a session's course (SPEC F23): nobody else writes them
OUTCOME_FIELDS = {
    "livechat_failure",
    "livechat_is_escalated",
    "livechat_outcome",
    "livechat_line_wait",
    "livechat_line_estimate",
    "livechat_missed",
    "livechat_reply_email",
}
# Odoo 19's names and meanings (SPEC F23)
FAILURES = [("no_answer", "Never Answered"), ("no_agent", "No one Available"), ("no_failure", "Success")]


class DiscussChannel(models.Model):
    """How a live chat went (SPEC F23): whether a human answered, whether
    several took part, how long the visitor waited in line and what they
    were told to expect. Kept right where each thing happens: a human
    joining (any path adds a member), a human's first message, the line."""

    _inherit = "discuss.channel"  # pylint: disable=consider-merging-classes-inherited

    livechat_failure = fields.Selection(
        FAILURES,
        "Live Chat Failure",
        readonly=True,
        copy=False,
        index="btree_not_null",
        groups="base.group_user",
        help="No one Available: no human operator joined (yet); Never Answered: one joined but no "
        "human operator wrote; Success: a human operator wrote.",
    )
    livechat_is_escalated = fields.Boolean(
        "Escalated",
        readonly=True,
        copy=False,
        groups="base.group_user",
        help="Two or more human operators took part (transfer, reassignment, a colleague invited).",
    )
    livechat_outcome = fields.Selection(
        [*FAILURES, ("escalated", "Escalated")],
        "Live Chat Outcome",
        compute="_compute_livechat_outcome",
        store=True,
        groups="base.group_user",
    )
    livechat_missed = fields.Boolean(
        "Missed",
        readonly=True,
        copy=False,
        index="btree_not_null",
        groups="base.group_user",
        help="The visitor left the line unserved (maximum wait, nobody present, closing time) and no "
        "operator has taken the chat since: the channel's operators find it in Sessions History.",
    )
    livechat_line_wait = fields.Integer(
        "Wait in Line (seconds)",
        readonly=True,
        copy=False,
        aggregator="avg",
        groups="base.group_user",
        help="How long the visitor waited in line before being served or leaving it; 0: never waited.",
    )
    livechat_line_estimate = fields.Integer(
        "Estimate Shown (seconds)",
        readonly=True,
        copy=False,
        aggregator="avg",
        groups="base.group_user",
        help="The wait the visitor was shown on entering the line; 0: none.",
    )

    def _livechat_guarded_fields(self):
        guarded = super()._livechat_guarded_fields()
        if not self.env.su:
            why = _("Only the routing itself records how a chat went (who was skipped, transferred, answered).")
            guarded.update(dict.fromkeys(OUTCOME_FIELDS, why))
        return guarded

    def _livechat_routing_only_fields(self):
        return super()._livechat_routing_only_fields() | OUTCOME_FIELDS

    @api.depends("livechat_failure", "livechat_is_escalated")
    def _compute_livechat_outcome(self):
        for session in self:
            session.livechat_outcome = "escalated" if session.livechat_is_escalated else session.livechat_failure

    @api.model
    def _livechat_set_initial_outcome(self, vals_list):
        """New sessions start without an answer: no one available, or never
        answered yet when a human is their operator (one query)."""
        # the routing says it on the values it gives (created as superuser;
        # anybody else giving it is refused before this)
        default_type = self.env.context.get("default_channel_type")
        livechat_vals = [
            vals
            for vals in vals_list
            if vals.get("channel_type", default_type) == "livechat" and not vals.get("livechat_failure")
        ]
        humans = self._livechat_humans_among(
            {vals["livechat_operator_id"] for vals in livechat_vals if vals.get("livechat_operator_id")}
        )
        for vals in livechat_vals:
            vals["livechat_failure"] = "no_answer" if vals.get("livechat_operator_id") in humans else "no_agent"

    @api.model
    def _livechat_humans_among(self, partner_ids):
        """Those of `partner_ids` who are operators of flesh (one query)."""
        if not partner_ids:
            return set()
        users = (
            self.env["res.users"]
            .sudo()
            .search([("partner_id", "in", list(partner_ids)), ("share", "=", False), ("id", "!=", SUPERUSER_ID)])
        )
        return set(users.partner_id.ids)

    @api.model
    def _livechat_is_human(self, partner):
        """An operator of flesh: an internal user, not OdooBot (a chatbot's
        partner has no user at all)."""
        return any(user._is_internal() and user.id != SUPERUSER_ID for user in partner.sudo().user_ids)

    def _livechat_is_operator_person(self, partner):
        """Whether `partner` answers this chat as a person: an operator of its
        channel or a Live Chat user (a colleague, a transfer), not OdooBot,
        not a chatbot, not an employee who chats as a visitor."""
        self.ensure_one()
        operators = self.sudo().livechat_channel_id.user_ids
        return any(
            user in operators or user.has_group("im_livechat.im_livechat_group_user")
            for user in partner.sudo().user_ids
            if user._is_internal() and user.id != SUPERUSER_ID
        )

    def _livechat_human_joined(self, partner):
        """`partner` joined this session (the session's own operator, who
        joins as it is created, aside): answered soon, and a second human
        taking part escalates it."""
        session = self.sudo()
        if (
            session.channel_type != "livechat"
            or not session.livechat_failure
            or partner == session.livechat_operator_id
            # the session's first members (a logged-in visitor among them)
            or self.env.context.get(CREATING_SESSIONS) is CREATING
            or not self._livechat_is_operator_person(partner)
        ):
            return
        if session.livechat_missed:
            session.livechat_missed = False  # someone answers it now
        if session.livechat_failure == "no_agent":
            session.livechat_failure = "no_answer"
        elif not session.livechat_is_escalated:
            session.livechat_is_escalated = True

    def _message_post_after_hook(self, message, msg_vals):
        result = super()._message_post_after_hook(message, msg_vals)
        if (
            self.channel_type == "livechat"
            and message.message_type == "comment"
            and self.sudo().livechat_failure in ("no_agent", "no_answer")
            and self._livechat_is_operator_person(message.author_id)
        ):
            # read once per message until the first answer, never after it
            self.sudo().write({"livechat_failure": "no_failure", "livechat_missed": False})
        return result

    def _livechat_record_line_wait(self):
        """The visitor leaves the line (served, missed, gone): how long they
        waited, for all of them in one statement."""
        waiting = self.sudo().filtered("livechat_waiting_since")
        if not waiting:
            return
        waiting.flush_recordset(["livechat_waiting_since"])
        self.env.cr.execute(
            SQL(
                """UPDATE discuss_channel
                      SET livechat_line_wait = GREATEST(EXTRACT(EPOCH FROM %s - livechat_waiting_since), 0)::int
                    WHERE id = ANY(%s) AND livechat_waiting_since IS NOT NULL""",
                fields.Datetime.now(),
                waiting.ids,
            )
        )
        waiting.invalidate_recordset(["livechat_line_wait"])

    def _livechat_hand_over(self, operator, reason, **kwargs):
        self._livechat_record_line_wait()
        self.sudo().filtered("livechat_missed").livechat_missed = False  # taken: no longer missed
        return super()._livechat_hand_over(operator, reason, **kwargs)

    def _livechat_leave_line(self):
        self._livechat_record_line_wait()
        return super()._livechat_leave_line()

    def _livechat_miss_waiting_visitors(self, go_on=True):
        missed = super()._livechat_miss_waiting_visitors(go_on=go_on)
        missed.sudo().write({"livechat_failure": "no_agent", "livechat_missed": True})
        return missed

    def _close_livechat_session(self, **kwargs):
        self._livechat_record_line_wait()
        return super()._close_livechat_session(**kwargs)
