from random import randint

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class ImLivechatExpertise(models.Model):
    """A subject an operator knows; visitors and chatbot steps ask for it."""

    _name = "im_livechat.expertise"
    _description = "Live Chat Expertise"
    _order = "name, id"
    # x2many commands that create, edit or delete expertises run with the
    # rights of the user who sent them, even where stock writes as superuser
    # (one's own user record in Preferences)
    _allow_sudo_commands = False

    def _default_color(self):
        return randint(1, 11)

    name = fields.Char(required=True, translate=True)
    active = fields.Boolean(default=True)
    color = fields.Integer(default=_default_color)
    user_ids = fields.Many2many(
        "res.users",
        "im_livechat_expertise_res_users_rel",
        "expertise_id",
        "user_id",
        string="Operators",
        domain=[("share", "=", False)],
        help="Live chat operators who know this subject.",
    )
    user_count = fields.Integer("Number of Operators", compute="_compute_user_count")

    _sql_constraints = [
        (
            "name_unique",
            # the database keeps two managers from creating the same name at
            # the same moment; _check_name_unique also compares translations
            "EXCLUDE USING btree (lower(btrim(name->>'en_US')) WITH =)",
            "An expertise with this name already exists. Names must be unique, whatever their case.",
        ),
    ]

    @api.depends("user_ids")
    def _compute_user_count(self):
        for expertise in self:
            expertise.user_count = len(expertise.user_ids)

    @api.model
    def _find_by_name(self, name):
        """The active expertise of this name, ignoring case and surrounding
        spaces, in the user's language or in English (empty when none)."""
        # =ilike compares the whole name; its wildcards are escaped
        pattern = (name or "").strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        if not pattern:
            return self.browse()
        for lang in (self.env.lang or "en_US", "en_US"):
            found = self.sudo().with_context(lang=lang).search([("name", "=ilike", pattern)], limit=1)
            if found:
                return self.browse(found.id)
        return self.browse()

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._strip_name(vals)
            self._check_source_name_free(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._strip_name(vals)
        if (self.env.lang or "en_US") == "en_US":
            self._check_source_name_free(vals)
        return super().write(vals)

    def _check_source_name_free(self, vals):
        """The clear error before the database's constraint on the source
        (English) name would refuse the row; the constraint is for two
        managers creating the same name at the same moment."""
        name = vals.get("name")
        if not isinstance(name, str) or not name:
            return
        self.flush_model(["name"])
        self.env.cr.execute(
            """SELECT name->>'en_US' FROM im_livechat_expertise
                WHERE lower(btrim(name->>'en_US')) = lower(btrim(%s)) AND id != ALL(%s) LIMIT 1""",
            [name, self.ids],
        )
        if existing := self.env.cr.fetchone():
            raise ValidationError(self._duplicate_name_message(existing[0]))

    @api.model
    def _duplicate_name_message(self, name):
        return _(
            'An expertise named "%(name)s" already exists. Names must be unique, whatever their case.',
            name=name.strip(),
        )

    @api.model
    def _strip_name(self, vals):
        """Surrounding spaces are never meant: store the name without them."""
        if isinstance(vals.get("name"), str):
            vals["name"] = vals["name"].strip()

    @api.constrains("name")
    def _check_name_unique(self):
        """Names are unique ignoring case and surrounding spaces, in every
        language they are translated to, archived expertises included."""
        self.flush_model(["name"])
        for expertise in self:
            if not (expertise.name or "").strip():
                raise ValidationError(_("An expertise needs a name."))
        self.env.cr.execute(
            """
            SELECT mine.id, other_value.value
              FROM im_livechat_expertise mine
             CROSS JOIN LATERAL jsonb_each_text(mine.name) AS mine_value
              JOIN im_livechat_expertise other ON other.id != mine.id
             CROSS JOIN LATERAL jsonb_each_text(other.name) AS other_value
             WHERE mine.id = ANY(%s)
               AND mine_value.key = other_value.key
               AND lower(btrim(mine_value.value)) = lower(btrim(other_value.value))
             LIMIT 1
            """,
            [self.ids],
        )
        duplicate = self.env.cr.fetchone()
        if duplicate:
            raise ValidationError(self._duplicate_name_message(duplicate[1]))
