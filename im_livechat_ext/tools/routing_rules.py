"""The routing rules (SPEC F9), top to bottom, with no database access.

Who may take a chat is decided in SQL (routing_sql.py renders these rules);
this module says what the rules are, so that they read in one place:

1. candidates: operators who can take a chat now (present, under their
   limit, not blocked by a call), active internal users only;
2. the visitor's previous operator, unless in a call with 2+ ongoing chats;
3. the first non-empty preference tier of ROUTING_TIERS[priority];
4. inside it: fewest ongoing chats, not in a call, not given a chat in the
   last ASSIGNMENT_BUFFER, then (a burst) the one given one longest ago,
   then chance;
5. of the ranked operators, the best one nobody else is claiming right now
   nor gave a chat since this request's snapshot (operator_claim.py).
"""

from datetime import timedelta

# A chat counts as ongoing while it is open and had activity this recently
# (stock Odoo's definition of an active chat).
ONGOING_WINDOW = timedelta(minutes=30)
# An operator who got a session this recently yields to an equal one who did not.
ASSIGNMENT_BUFFER = timedelta(seconds=120)
# Previous operators in a call keep their visitor up to this many ongoing chats.
PREVIOUS_OPERATOR_CALL_LIMIT = 2

# The preference checks a tier combines. A place: "language" (the visitor's
# language is the operator's main or chat language; the same base language
# when nobody has it exactly), "country" (same country), None (anywhere). An
# expertise check: "all" (every requested expertise), "one" (at least one),
# None (any). Without requested expertises, both expertise checks hold.
LANGUAGE, COUNTRY = "language", "country"
ALL_EXPERTISES, ONE_EXPERTISE = "all", "one"

# Preference tiers, best first: the first with a candidate in it wins.
ROUTING_TIERS = {
    "language": [
        (LANGUAGE, ALL_EXPERTISES),
        (LANGUAGE, ONE_EXPERTISE),
        (LANGUAGE, None),
        (COUNTRY, ALL_EXPERTISES),
        (COUNTRY, ONE_EXPERTISE),
        (COUNTRY, None),
        (None, ALL_EXPERTISES),
        (None, ONE_EXPERTISE),
        (None, None),
    ],
    "expertise": [
        (LANGUAGE, ALL_EXPERTISES),
        (COUNTRY, ALL_EXPERTISES),
        (None, ALL_EXPERTISES),
        (LANGUAGE, ONE_EXPERTISE),
        (COUNTRY, ONE_EXPERTISE),
        (None, ONE_EXPERTISE),
        (LANGUAGE, None),
        (COUNTRY, None),
        (None, None),
    ],
}
# The tier number of the previous operator (rule 2): before every tier.
PREVIOUS_OPERATOR_TIER = -1


def lang_base(code):
    """fr_BE -> fr, sr@latin -> sr: languages whose speakers read one another."""
    return (code or "").split("@")[0].replace("-", "_").split("_")[0].lower()


def tier_of(priority, speaks, same_country, matched, requested):
    """Index in ROUTING_TIERS[priority] of an operator's tier: the rules in
    Python, for reading and for the unit tests; routing_sql renders the same
    ROUTING_TIERS as a CASE for PostgreSQL."""
    checks = {
        LANGUAGE: speaks,
        COUNTRY: same_country,
        None: True,
        ALL_EXPERTISES: matched >= requested,
        ONE_EXPERTISE: matched > 0 or requested == 0,
    }
    tiers = ROUTING_TIERS[priority]
    return next(index for index, (place, expertise) in enumerate(tiers) if checks[place] and checks[expertise])


def best_accept_language(accepted, active_codes):
    """Best active language code for the visitor's Accept-Language (pairs
    of tag and quality, best first, as werkzeug parses them), or None: for
    each tag, the exact code, then a language of the same base (fr-CA ->
    fr_FR, else fr_BE). Tags that are no language (``*``, junk) never match."""
    by_lower = {code.lower(): code for code in active_codes}
    for tag, quality in accepted:
        if not quality or quality <= 0 or not isinstance(tag, str) or len(tag) > 35:
            continue
        tag = tag.strip().replace("-", "_")
        if not tag or not all(part.isascii() and part.isalnum() for part in tag.split("_")):
            continue
        if tag.lower() in by_lower:
            return by_lower[tag.lower()]
        base = lang_base(tag)
        same_base = sorted(code for code in active_codes if lang_base(code) == base)
        if same_base:
            # the language's "home" variant first: fr -> fr_FR before fr_BE
            home = f"{base}_{base.upper()}"
            return home if home in same_base else same_base[0]
    return None


def routing_reason(env, priority, winner, chat_name, lang_name=None, country_name=None, expertise_names=()):
    """The sentence managers read on the session, e.g. "Mitchell: speaks
    French (BE), expertise Billing, 1 ongoing chat": what won the operator
    (`chat_name`, the name visitors see) their tier, then their load.
    `winner` is a row of the ranking (routing_sql.rank_operators); `env`
    gives the language."""
    if winner["tier"] == PREVIOUS_OPERATOR_TIER:
        parts = [env._("previous operator of this visitor")]
    else:
        place, _expertise = ROUTING_TIERS[priority][winner["tier"]]
        parts = []
        if place == LANGUAGE and lang_name:
            parts.append(env._("speaks %(lang)s", lang=lang_name.split(" / ")[0]))
        if place == COUNTRY and country_name:
            parts.append(env._("from %(country)s", country=country_name))
        if expertise_names:
            parts.append(env._("expertise %(names)s", names=", ".join(expertise_names)))
        if not parts:
            parts.append(env._("available"))
    if winner["ongoing"] == 0:
        parts.append(env._("no ongoing chat"))
    elif winner["ongoing"] == 1:
        parts.append(env._("1 ongoing chat"))
    else:
        parts.append(env._("%(count)s ongoing chats", count=winner["ongoing"]))
    if winner["in_call"]:
        parts.append(env._("in a call"))
    return f"{chat_name}: {', '.join(parts)}"
