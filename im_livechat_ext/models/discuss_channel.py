from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import routing_sql

# the routing counts ongoing chats per operator at every selection; the
# uninstall hook drops this index, which Odoo would not
ONGOING_CHATS_INDEX = "discuss_channel_livechat_ongoing_index"


class DiscussChannel(models.Model):
    _inherit = "discuss.channel"

    livechat_lang_id = fields.Many2one(
        "res.lang",
        "Visitor Language",
        index="btree_not_null",
        readonly=True,
        groups="base.group_user",
        help="Language detected for the visitor when the session started.",
    )
    livechat_expertise_ids = fields.Many2many(
        "im_livechat.expertise",
        "discuss_channel_im_livechat_expertise_rel",
        "discuss_channel_id",
        "im_livechat_expertise_id",
        string="Expertises",
        groups="base.group_user",
        help="Subjects the visitor asked for, e.g. through a chatbot answer.",
    )
    livechat_routing_reason = fields.Char(
        "Routing Reason",
        readonly=True,
        groups="im_livechat.im_livechat_group_manager",
        help="Why this operator got the session.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        channels = super().create(vals_list)
        livechats = channels.filtered(lambda c: c.channel_type == "livechat" and c.livechat_channel_id)
        # the 120 s buffer and the burst order of the routing read this
        routing_sql.mark_assigned(self.env.cr, livechats.livechat_operator_id.user_ids.ids)
        return channels

    def init(self):
        result = super().init()
        # the routing counts ongoing chats per operator at every selection:
        # only open live chat sessions are worth an index
        self.env.cr.execute(
            SQL(
                """CREATE INDEX IF NOT EXISTS %s
                       ON discuss_channel (last_interest_dt, create_date)
                    WHERE channel_type = 'livechat' AND livechat_active""",
                SQL.identifier(ONGOING_CHATS_INDEX),
            )
        )
        return result
