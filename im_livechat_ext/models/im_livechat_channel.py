import logging

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError

from . import im_livechat_operator_status as operator_claim

_logger = logging.getLogger(__name__)

# who gets which chat: changed by Live Chat managers only
ROUTING_SETTINGS = {
    "routing_priority",
    "max_sessions_mode",
    "max_sessions",
    "block_assignment_during_call",
    "operator_inactivity_timeout",
    "waiting_line",
    "expert_wait_time",
    "unanswered_timeout",
    "max_waiting",
    "max_waiting_per_address",
    "max_wait_time",
    "resource_calendar_id",
    "expected_chat_duration",
}
# settings that change who can take a chat: the waiting line is served again
SLOT_SETTINGS = {
    "user_ids",
    "max_sessions_mode",
    "max_sessions",
    "block_assignment_during_call",
    "waiting_line",
    "max_wait_time",
    "resource_calendar_id",
}


class ImLivechatChannel(models.Model):
    """A live chat channel's routing settings (managers only), who of its
    operators can take a chat now, and Join. The routing itself, the
    waiting line and inactivity are in their own files."""

    _name = "im_livechat.channel"
    _inherit = ["im_livechat.channel", "im_livechat.routing.guard"]

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

    unanswered_timeout = fields.Integer(
        "Reassign Unanswered Chats After (seconds)",
        default=0,
        groups="base.group_user",
        help="When the visitor has written and their operator has not answered for this long, the chat "
        "goes to the next operator by the routing rules and the silent one leaves it. 0 never reassigns.",
    )

    operator_count = fields.Integer("Operators Count", compute="_compute_operator_count")

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
        (
            "expert_wait_time_positive",
            "CHECK(expert_wait_time >= 0)",
            "The wait for an expert cannot be negative (0 routes at once).",
        ),
        (
            "max_waiting_positive",
            "CHECK(max_waiting >= 0 AND max_waiting_per_address >= 0 AND max_wait_time >= 0"
            " AND expected_chat_duration >= 0)",
            "The bounds of the waiting line cannot be negative (0 = no bound).",
        ),
        (
            "unanswered_timeout_positive",
            "CHECK(unanswered_timeout >= 0)",
            "The time before an unanswered chat is reassigned cannot be negative (0 never reassigns).",
        ),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        self._livechat_check_created(vals_list)
        channels = super().create(vals_list)
        channels._ensure_operator_status_rows()
        return channels

    def write(self, vals):
        self._livechat_check_written(vals)
        result = super().write(vals)
        if "user_ids" in vals:
            self._ensure_operator_status_rows()
        if SLOT_SETTINGS.intersection(vals):
            # an operator joined or a limit was raised: the line may move
            self._dispatch_waiting_visitors()
        return result

    def unlink(self):
        """Visitors waiting in a deleted channel's line are not stranded:
        missed, told so, their session kept (without a channel, as stock
        leaves the others)."""
        self.env["discuss.channel"].sudo().search(
            [("livechat_channel_id", "in", self.ids), ("livechat_waiting_since", "!=", False)]
        )._livechat_miss_waiting_visitors(go_on=False)
        return super().unlink()

    def _ensure_operator_status_rows(self):
        self.env["res.users"].flush_model()
        self.flush_recordset(["user_ids"])
        operator_claim.ensure_status_rows(self.env.cr, self.sudo().user_ids.ids)

    def _livechat_guarded_fields(self):
        """Stock lets operators edit and create channels (Join writes the
        channel); the routing settings decide who gets which chat, so only
        managers choose them."""
        if self.env["im_livechat.routing.guard"]._livechat_is_manager():
            return {}
        why = _("Only Live Chat managers can change the routing settings of a channel.")
        return dict.fromkeys(ROUTING_SETTINGS, why)

    @api.constrains(
        "max_sessions",
        "operator_inactivity_timeout",
        "expert_wait_time",
        "unanswered_timeout",
        "max_waiting",
        "max_waiting_per_address",
        "max_wait_time",
        "expected_chat_duration",
    )
    def _check_routing_limits(self):
        # Same rules as the SQL constraints, with a message that names the field.
        for channel in self:
            if channel.max_sessions <= 0:
                raise ValidationError(_("The maximum number of ongoing sessions per operator must be greater than 0."))
            if channel.operator_inactivity_timeout < 0:
                raise ValidationError(_("The inactivity timeout cannot be negative (0 never removes operators)."))
            if channel.expert_wait_time < 0:
                raise ValidationError(_("The wait for an expert cannot be negative (0 routes at once)."))
            if (
                min(
                    channel.max_waiting,
                    channel.max_waiting_per_address,
                    channel.max_wait_time,
                    channel.expected_chat_duration,
                )
                < 0
            ):
                raise ValidationError(_("The bounds of the waiting line cannot be negative (0 = no bound)."))
            if channel.unanswered_timeout < 0:
                raise ValidationError(
                    _("The time before an unanswered chat is reassigned cannot be negative (0 never reassigns).")
                )

    @api.depends("user_ids")
    def _compute_operator_count(self):
        for channel in self:
            channel.operator_count = len(channel.user_ids)

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
