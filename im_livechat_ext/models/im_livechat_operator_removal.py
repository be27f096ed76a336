from odoo import fields, models


class ImLivechatOperatorRemoval(models.Model):
    """Who was removed from which channel for inactivity, and when."""

    _name = "im_livechat.operator.removal"
    _description = "Live Chat Operator Removed for Inactivity"
    _order = "create_date desc, id desc"

    channel_id = fields.Many2one("im_livechat.channel", "Channel", required=True, ondelete="cascade", index=True)
    user_id = fields.Many2one("res.users", "Operator", required=True, ondelete="cascade", index=True)
    timeout = fields.Integer("Inactivity Timeout (minutes)", readonly=True)
    create_date = fields.Datetime("Removed On", readonly=True)
