import io
from pathlib import Path

import polib

from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import trans_export

I18N = Path(__file__).parent.parent / "i18n"


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
        self.assertEqual(field.with_context(lang="es_ES").field_description, "Especialidad de chat en vivo")
        channel = self.env["im_livechat.channel"].with_context(lang="es_ES")
        self.assertEqual(
            dict(channel._fields["routing_priority"]._description_selection(channel.env))["expertise"],
            "Primero la especialidad",
        )
