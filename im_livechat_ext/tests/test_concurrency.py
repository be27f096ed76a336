from contextlib import closing

import psycopg2.errors

from odoo import SUPERUSER_ID, Command, api, sql_db
from odoo.tests import tagged
from odoo.tests.common import BaseCase, get_db_name
from odoo.tools import mute_logger


@tagged("post_install", "-at_install")
# Real commits on purpose: two independent transactions, cleaned up after.
class TestLastFreeSlot(BaseCase):
    """Two visitors at the same instant, in two real transactions, must not
    both get the last free slot of one operator."""

    def _new_env(self):
        cr = sql_db.db_connect(get_db_name()).cursor()
        return api.Environment(cr, SUPERUSER_ID, {})

    def setUp(self):
        super().setUp()
        with closing(self._new_env().cr) as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            for code in ("fr_FR", "de_DE"):
                env["res.lang"]._activate_lang(code)
            users = env["res.users"].with_context(no_reset_password=True)
            self.french, self.german = users.create(
                [
                    {
                        "name": f"Race {code}",
                        "login": f"ext_race_{code}",
                        "lang": code,
                        "groups_id": [Command.set([env.ref("im_livechat.im_livechat_group_user").id])],
                    }
                    for code in ("fr_FR", "de_DE")
                ]
            )
            env["bus.presence"].create([{"user_id": u.id, "status": "online"} for u in (self.french, self.german)])
            self.livechat = env["im_livechat.channel"].create(
                {
                    "name": "Race",
                    "max_sessions_mode": "limited",
                    "max_sessions": 1,
                    "user_ids": [Command.set((self.french | self.german).ids)],
                }
            )
            cr.commit()  # pylint: disable=invalid-commit
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with closing(self._new_env().cr) as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["discuss.channel"].search([("livechat_channel_id", "=", self.livechat.id)]).unlink()
            self.livechat.with_env(env).unlink()
            partners = (self.french | self.german).with_env(env).partner_id
            (self.french | self.german).with_env(env).unlink()
            partners.unlink()
            cr.commit()  # pylint: disable=invalid-commit

    def _give_session(self, env):
        livechat = self.livechat.with_env(env)
        vals = livechat._get_livechat_discuss_channel_vals("Visitor", lang="fr_FR")
        env["discuss.channel"].create(vals)
        return env["res.partner"].browse(vals["livechat_operator_id"]).user_ids

    def test_two_visitors_do_not_share_the_last_slot(self):
        first, second = self._new_env(), self._new_env()
        with closing(first.cr), closing(second.cr):
            # both transactions start before either commits
            self.assertEqual(self.livechat.with_env(first)._get_operator(lang="fr_FR"), self.french.with_env(first))
            self.assertEqual(self.livechat.with_env(second)._get_operator(lang="fr_FR"), self.french.with_env(second))
            self.assertEqual(self._give_session(first), self.french.with_env(first))
            first.cr.commit()  # pylint: disable=invalid-commit
            # the second still sees the French operator free in its snapshot,
            # but taking her slot conflicts with the first transaction
            with self.assertRaises(psycopg2.errors.SerializationFailure), mute_logger("odoo.sql_db"):
                self._give_session(second)
            second.cr.rollback()
        # Odoo retries the request: the retry sees the first session
        with closing(self._new_env().cr) as cr:
            retry = api.Environment(cr, SUPERUSER_ID, {})
            self.assertEqual(self._give_session(retry), self.german.with_env(retry))
            cr.commit()  # pylint: disable=invalid-commit
        with closing(self._new_env().cr) as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            self.assertFalse(self.livechat.with_env(env)._get_operator(lang="fr_FR"), "both operators are full")
