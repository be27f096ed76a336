from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from odoo import Command
from odoo.tests import BaseCase, HttpCase, new_test_user, tagged

from ..tools.routing_rules import best_accept_language


@tagged("post_install", "-at_install")
class TestVisitorSession(HttpCase):
    """Real HTTP requests to /im_livechat/get_session: the visitor's language
    comes from the cookie, then the browser's Accept-Language."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        langs = (
            cls.env["res.lang"]
            .with_context(active_test=False)
            .search([("code", "in", ["fr_FR", "fr_BE", "es_ES", "de_DE"])])
        )
        langs.write({"active": True})
        cls.env["res.lang"].with_context(active_test=False).search([("code", "=", "it_IT")]).active = False
        cls.operators = {}
        for code, chat_name in [("fr_BE", "Claire"), ("es_ES", "Javier"), ("de_DE", False)]:
            user = new_test_user(
                cls.env,
                login=f"ext_visitor_op_{code}",
                name=f"Operator {code}",
                groups="base.group_user,im_livechat.im_livechat_group_user",
            )
            user.partner_id.lang = code
            user.livechat_username = chat_name
            cls.env["bus.presence"].create({"user_id": user.id, "status": "online"})
            cls.operators[code] = user
        cls.livechat = cls.env["im_livechat.channel"].create(
            {"name": "Visitors", "user_ids": [Command.set([u.id for u in cls.operators.values()])]}
        )

    def _get_session(self, headers=None, cookies=None):
        self.opener.cookies.clear()
        for name, value in (cookies or {}).items():
            self.opener.cookies.set(name, value)
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session",
            {"anonymous_name": "Visitor", "channel_id": self.livechat.id},
            headers=headers,
        )
        session = self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])
        self.assertEqual(session.livechat_channel_id, self.livechat)
        return session

    def _operator_of(self, session):
        return session.livechat_operator_id.user_ids

    def test_accept_language_exact(self):
        session = self._get_session(headers={"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"})
        self.assertEqual(session.livechat_lang_id.code, "es_ES")
        self.assertEqual(self._operator_of(session), self.operators["es_ES"])
        self.assertIn("Javier", session.name, "the session is named after the operator's chat name")
        self.assertEqual(session.livechat_routing_reason, "Javier: speaks Spanish, no ongoing chat")

    def test_accept_language_quality_order_and_base_language(self):
        # the best quality comes first whatever its position; fr-CA is not
        # active: the same base language (fr_BE or fr_FR) counts
        session = self._get_session(headers={"Accept-Language": "de;q=0.2, fr-CA;q=0.8, it;q=0.9"})
        self.assertEqual(session.livechat_lang_id.code[:2], "fr")
        self.assertEqual(self._operator_of(session), self.operators["fr_BE"])

    def test_cookie_before_accept_language(self):
        session = self._get_session(headers={"Accept-Language": "es-ES"}, cookies={"frontend_lang": "de_DE"})
        self.assertEqual(session.livechat_lang_id.code, "de_DE")
        self.assertEqual(self._operator_of(session), self.operators["de_DE"])
        self.assertIn("Operator de_DE", session.name, "no chat name: the user's name")

    def test_inactive_cookie_language_is_ignored(self):
        session = self._get_session(headers={"Accept-Language": "fr-BE"}, cookies={"frontend_lang": "it_IT"})
        self.assertEqual(session.livechat_lang_id.code, "fr_BE")

    def test_visitor_language_of_another_type_in_the_context_is_ignored(self):
        """Code calling the routing with something else than a language code
        under the visitor-language key still gets a session, in no language."""
        for junk in (["fr_FR"], {"code": "fr_FR"}, 42):
            vals = self.livechat.with_context(livechat_visitor_lang=junk)._get_livechat_discuss_channel_vals("Visitor")
            self.assertTrue(vals["livechat_operator_id"])
            self.assertFalse(vals["livechat_lang_id"])

    def test_malformed_accept_language_is_ignored(self):
        for header in ["", ";;;,,", "*", "x" * 500, "ñ-ü", "fr-BE;q=0", "fr-BE;q=0, *;q=0.5", "12-34"]:
            session = self._get_session(headers={"Accept-Language": header})
            self.assertFalse(session.livechat_lang_id, f"no language from {header!r}")
            self.assertTrue(session.livechat_operator_id, "the visitor still gets an operator")


@tagged("post_install", "-at_install")
class TestAcceptLanguageParsing(BaseCase):
    def test_match_accept_language(self):
        def match(header, active_codes):
            # werkzeug parses the header as Odoo's request does; the rules match it
            return best_accept_language(parse_accept_header(header, LanguageAccept), active_codes)

        active = ["en_US", "fr_FR", "fr_BE", "es_ES"]
        self.assertEqual(match("fr-BE", active), "fr_BE")
        self.assertEqual(match("fr-ca", active), "fr_FR", "same base: the home variant first")
        self.assertEqual(match("fr", active), "fr_FR")
        self.assertEqual(match("de, es;q=0.5", active), "es_ES")
        self.assertEqual(match("es;q=0.5, en-GB;q=0.7", active), "en_US")
        self.assertIsNone(match("de, it", active))
        self.assertIsNone(match(None, active))
        self.assertIsNone(match("fr-BE;q=0", active))
        self.assertEqual(match("fr-BE;q=abc", active), "fr_BE", "werkzeug reads a quality it cannot parse as 1")


@tagged("-standard", "im_livechat_ext_website", "post_install", "-at_install")
class TestWebsiteVisitorLanguage(TestVisitorSession):
    """With website_livechat installed (run by ./dev.sh test in its website
    database): the website visitor's language comes before Accept-Language."""

    def _session_of_website_visitor(self, login, lang):
        """A portal user whose website visitor has `lang`, asking in German."""
        portal = new_test_user(self.env, login=login, password=login, groups="base.group_portal")
        self.env["website.visitor"].create({"access_token": str(portal.partner_id.id), "lang_id": lang.id})
        self.authenticate(login, login)
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session",
            {"anonymous_name": "Visitor", "channel_id": self.livechat.id},
            headers={"Accept-Language": "de-DE"},
        )
        return self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])

    def test_website_visitor_language(self):
        session = self._session_of_website_visitor("ext_portal_visitor", self.env.ref("base.lang_es"))
        self.assertEqual(session.livechat_lang_id.code, "es_ES")
        self.assertEqual(session.livechat_operator_id.user_ids, self.operators["es_ES"])

    def test_website_visitor_language_archived_since(self):
        """The website visitor's language was archived since their last
        visit: the browser's language is used instead."""
        italian = self.env["res.lang"].with_context(active_test=False).search([("code", "=", "it_IT")])
        self.assertFalse(italian.active)
        session = self._session_of_website_visitor("ext_portal_visitor_it", italian)
        self.assertEqual(session.livechat_lang_id.code, "de_DE")
        self.assertEqual(session.livechat_operator_id.user_ids, self.operators["de_DE"])
