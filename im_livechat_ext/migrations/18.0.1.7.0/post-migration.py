from odoo.addons.im_livechat_ext.hooks import fill_outcomes, mark_missed, mark_operators_who_left


def migrate(cr, version):
    mark_operators_who_left(cr)
    fill_outcomes(cr)
    mark_missed(cr)
