import io
from pathlib import Path

import polib

from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import trans_export

I18N = Path(__file__).parent.parent / "i18n"

# The Spanish Live Chat documentation our users read, in the project's
# shared/seed/ beside the repository (participar-en-el-chat-en-vivo.txt):
#   "ve a **Chat en vivo** ▶ **Configuración** ▶ **Experiencia**" (line 42)
#   "el menú desplegable **Experiencia en chat en vivo**" (line 40)
#   "localice el campo **Nombre de chat en línea**" (line 12, stock Odoo's label)
DOCUMENTATION = Path(__file__).resolve().parents[3] / "shared" / "seed" / "participar-en-el-chat-en-vivo.txt"
DOCUMENTED_MENU = ("Chat en vivo", "Configuración", "Experiencia")
DOCUMENTED_EXPERTISE_FIELD = "Experiencia en chat en vivo"
DOCUMENTED_CHAT_NAME = "Nombre de chat en línea"


@tagged("post_install", "-at_install")
class TestTranslations(TransactionCase):
    def _exported_msgids(self):
        buffer = io.BytesIO()
        trans_export(None, ["im_livechat_ext"], buffer, "po", self.env.cr)
        return {entry.msgid for entry in polib.pofile(buffer.getvalue().decode())}

    def test_pot_matches_the_code(self):
        committed = {entry.msgid for entry in polib.pofile(str(I18N / "im_livechat_ext.pot"))}
        exported = self._exported_msgids()
        self.assertFalse(
            exported - committed,
            "strings missing from i18n/im_livechat_ext.pot: export it again (see README.rst)",
        )
        if self.env.ref("im_livechat_ext.expertise_billing", raise_if_not_found=False):
            # demo data's strings are in the .pot: only a database with demo data exports them all
            self.assertFalse(committed - exported, "strings in the .pot that the module no longer has")

    def test_spanish_and_french_are_complete(self):
        pot = {entry.msgid for entry in polib.pofile(str(I18N / "im_livechat_ext.pot"))}
        for lang in ("es", "fr"):
            catalog = polib.pofile(str(I18N / f"{lang}.po"))
            translated = {entry.msgid for entry in catalog.translated_entries()}
            self.assertFalse(pot - translated, f"untranslated {lang} entries")
            self.assertFalse(catalog.fuzzy_entries(), f"fuzzy {lang} entries")

    def test_spanish_labels_and_routing_reason(self):
        self.env["res.lang"]._activate_lang("es_ES")
        self.env["ir.module.module"]._load_module_terms(["im_livechat_ext"], ["es_ES"], overwrite=True)
        field = self.env["ir.model.fields"]._get("res.users", "livechat_expertise_ids")
        self.assertEqual(field.with_context(lang="es_ES").field_description, "Experiencia en chat en vivo")
        channel = self.env["im_livechat.channel"].with_context(lang="es_ES")
        self.assertEqual(
            dict(channel._fields["routing_priority"]._description_selection(channel.env))["expertise"],
            "Primero la experiencia",
        )

    def test_documented_words_are_the_documentation_s(self):
        """The words below are the documentation's own (when it is beside the repository)."""
        if not DOCUMENTATION.exists():
            self.skipTest(f"no {DOCUMENTATION}")
        text = DOCUMENTATION.read_text()
        self.assertIn(" ▶ ".join(f"**{word}**" for word in DOCUMENTED_MENU), text)
        self.assertIn(f"**{DOCUMENTED_EXPERTISE_FIELD}**", text)
        self.assertIn(f"**{DOCUMENTED_CHAT_NAME}**", text)

    def test_spanish_labels_follow_the_documentation(self):
        """A Spanish administrator following the documentation finds the menu
        and the fields under the names it gives."""
        self.env["res.lang"]._activate_lang("es_ES")
        self.env["ir.module.module"]._load_module_terms(["im_livechat", "im_livechat_ext"], ["es_ES"], overwrite=True)
        spanish = self.env(context=dict(self.env.context, lang="es_ES"))
        menu = spanish.ref("im_livechat_ext.im_livechat_expertise_menu")
        self.assertEqual(menu.complete_name, "/".join(DOCUMENTED_MENU))
        field = spanish["ir.model.fields"]._get("res.users", "livechat_expertise_ids")
        self.assertEqual(field.field_description, DOCUMENTED_EXPERTISE_FIELD)
        # the labels the module's views put on the user form and preferences
        for xmlid in ("im_livechat_ext.res_users_view_form", "im_livechat_ext.res_users_view_form_preferences"):
            self.assertIn(DOCUMENTED_EXPERTISE_FIELD, spanish.ref(xmlid).arch_db, xmlid)
        for xmlid in ("im_livechat_ext.res_users_view_form", "im_livechat_ext.im_livechat_expertise_view_form"):
            self.assertIn(DOCUMENTED_CHAT_NAME, spanish.ref(xmlid).arch_db, xmlid)
