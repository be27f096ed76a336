"""The routing rules (SPEC F9), top to bottom, with no database access.

Who may take a chat is decided in SQL (routing_sql.py renders these rules);
this module says what the rules are, so that they read in one place:

1. candidates: operators who can take a chat now (present, under their
   limit, not blocked by a call), active internal users only;
2. the first non-empty preference tier of ROUTING_TIERS[priority], each
   tier the names of ROUTING_CHECKS it combines; the first tier is the
   visitor's previous operator (unless in a call with 2+ ongoing chats);
3. inside it, TIE_BREAKS in order: fewest ongoing chats, not in a call,
   not given a chat in the last ASSIGNMENT_BUFFER, then (a burst) the one
   given one longest ago, then chance;
4. of the ranked operators, the best one nobody else is claiming right now
   nor gave a chat since this request's snapshot (the claim,
   models/im_livechat_operator_status.py).

Each check and tie-break is declared once, with its SQL (the ranking,
routing_sql.py), its Python (the tests and the benchmark's checker) and,
for checks, its words in the routing reason. The channel reaches them
through _get_routing_checks, _get_routing_tiers and _get_routing_tie_breaks,
so that another module changes or adds one with _inherit.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from odoo.tools import SQL

# A chat counts as ongoing while it is open and had activity this recently
# (stock Odoo's definition of an active chat).
ONGOING_WINDOW = timedelta(minutes=30)
# An operator who got a session this recently yields to an equal one who did not.
ASSIGNMENT_BUFFER = timedelta(seconds=120)
# Previous operators in a call keep their visitor up to this many ongoing chats.
PREVIOUS_OPERATOR_CALL_LIMIT = 2


@dataclass(frozen=True)
class RoutingCheck:
    """One named preference check, declared once with all it needs:

    - `sql(facts)`: its condition in the ranking, over the request's facts
      as SQL expressions (`previous`, `speaks`, `same_country`, `matched`,
      `requested`, `ongoing`, `in_call`, `recent`, `last_assignment`; None
      for an expertise fact when no expertise is asked), the operator's
      ``res_users`` row being `u`; or True / False when the visitor's request
      settles it for everybody (then PostgreSQL has nothing to fold);
    - `holds(facts)`: the same in Python over one operator's facts (the
      same names, as values), for the tests and the benchmark's checker;
    - `phrase(env, names)`: its words in the routing reason (None: none),
      `names` holding the visitor's `lang_name` and `country_name`.
    """

    sql: Callable
    holds: Callable
    phrase: Callable = lambda env, names: None  # noqa: E731


def _expertise_sql(condition):
    """An expertise check in SQL: with no expertise asked, everybody passes."""
    return lambda facts: True if facts["matched"] is None else condition(facts["matched"], facts["requested"])


# The preference checks, by name. Adding a rule is one entry here (or, from
# another module, in im_livechat.channel._get_routing_checks) and its place
# in the tiers below.
ROUTING_CHECKS = {
    # the visitor's previous operator (stock's rule), unless in a call with
    # PREVIOUS_OPERATOR_CALL_LIMIT or more ongoing chats
    "previous_operator": RoutingCheck(
        sql=lambda facts: facts.get("previous", False),
        holds=lambda facts: bool(facts.get("previous")),
        phrase=lambda env, names: env._("previous operator of this visitor"),
    ),
    # the visitor's language is the operator's main or a chat language; the
    # same base language when nobody who can take the chat has it exactly
    "language": RoutingCheck(
        sql=lambda facts: facts["speaks"],
        holds=lambda facts: bool(facts["speaks"]),
        phrase=lambda env, names: (
            names.get("lang_name") and env._("speaks %(lang)s", lang=names["lang_name"].split(" / ")[0])
        ),
    ),
    "country": RoutingCheck(
        sql=lambda facts: facts["same_country"],
        holds=lambda facts: bool(facts["same_country"]),
        phrase=lambda env, names: (
            names.get("country_name") and env._("from %(country)s", country=names["country_name"])
        ),
    ),
    # every expertise asked for (those not archived)
    "all_expertises": RoutingCheck(
        sql=_expertise_sql(lambda matched, requested: SQL("%s >= %s", matched, requested)),
        holds=lambda facts: facts["matched"] >= facts["requested"],
    ),
    # at least one of them
    "one_expertise": RoutingCheck(
        sql=_expertise_sql(lambda matched, requested: SQL("(%s > 0 OR %s = 0)", matched, requested)),
        holds=lambda facts: facts["matched"] > 0 or facts["requested"] == 0,
    ),
}

# Preference tiers, best first, each the names of the checks it combines:
# the first with a candidate in it wins; () is everyone.
ROUTING_TIERS = {
    "language": [
        ("previous_operator",),
        ("language", "all_expertises"),
        ("language", "one_expertise"),
        ("language",),
        ("country", "all_expertises"),
        ("country", "one_expertise"),
        ("country",),
        ("all_expertises",),
        ("one_expertise",),
        (),
    ],
    "expertise": [
        ("previous_operator",),
        ("language", "all_expertises"),
        ("country", "all_expertises"),
        ("all_expertises",),
        ("language", "one_expertise"),
        ("country", "one_expertise"),
        ("one_expertise",),
        ("language",),
        ("country",),
        (),
    ],
}


@dataclass(frozen=True)
class TieBreak:
    """One way of ordering the operators of a tier, declared once:

    - `sql(facts)`: its ORDER BY item in the ranking (ascending: the
      smaller first), over the same facts as RoutingCheck.sql;
    - `key(facts)`: the same in Python, a sort key over one operator's facts.
    """

    sql: Callable
    key: Callable


# Inside a tier, in this order (SPEC's routing rule 3); the remaining ties
# are broken at random.
TIE_BREAKS = {
    # activity in the last ONGOING_WINDOW, not closed
    "fewest_chats": TieBreak(sql=lambda facts: facts["ongoing"], key=lambda facts: facts["ongoing"]),
    "not_in_a_call": TieBreak(sql=lambda facts: facts["in_call"], key=lambda facts: bool(facts["in_call"])),
    # given a chat in the last ASSIGNMENT_BUFFER: yields to one who was not
    "not_given_one_recently": TieBreak(sql=lambda facts: facts["recent"], key=lambda facts: bool(facts["recent"])),
    # a burst: among operators all just given a chat, the one given it longest ago first
    "given_one_longest_ago": TieBreak(
        sql=lambda facts: SQL("CASE WHEN %s THEN %s END NULLS FIRST", facts["recent"], facts["last_assignment"]),
        key=lambda facts: (facts["recent"], facts["last_assignment"]) if facts["recent"] else (False,),
    ),
}


def lang_base(code):
    """fr_BE -> fr, sr@latin -> sr: languages whose speakers read one another."""
    return (code or "").split("@")[0].replace("-", "_").split("_")[0].lower()


def tier_of(tiers, facts, checks=None):
    """Index in `tiers` of the first tier all of whose checks hold for one
    operator's `facts` (len(tiers): none): the rules in Python, for reading
    and for the tests; the ranking renders the same checks in SQL."""
    checks = checks or ROUTING_CHECKS
    return next(
        (index for index, names in enumerate(tiers) if all(checks[name].holds(facts) for name in names)),
        len(tiers),
    )


def tier_sql(tiers, checks, facts):
    """The tier of each operator in the ranking: a CASE giving the index of
    the first of `tiers` whose checks all hold (each WHEN commented with its
    checks' names). Checks the request settles for everybody (True / False)
    are settled here: a tier with a False check holds nobody, and the first
    tier whose checks all hold takes everybody left."""
    whens, seen = [], []
    for index, names in enumerate(tiers):
        conditions = [checks[name].sql(facts) for name in names]
        if any(condition is False for condition in conditions):
            continue  # nobody is in this tier
        unsettled = [condition for condition in conditions if condition is not True]
        if not unsettled:
            # everybody not in a tier before is in this one
            return SQL("CASE %s ELSE %s END", SQL(" ").join(whens), index) if whens else SQL("%s", index)
        condition = SQL(" AND ").join(unsettled)
        if condition in seen:
            continue  # the request made it the same as a tier before: nobody is left for it
        seen.append(condition)
        # the checks' names as a comment: words, spaces and "+" only
        label = re.sub(r"[^\w +]", "", " + ".join(names))
        whens.append(SQL("WHEN %s THEN %s /* %s */", condition, index, SQL(label)))
    # tiers whose last one does not hold everybody: those in none of them rank after every tier
    return SQL("CASE %s ELSE %s END", SQL(" ").join(whens), len(tiers))


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


def routing_reason(env, tiers, checks, winner, chat_name, names=None, expertise_names=()):
    """The sentence managers read on the session, e.g. "Mitchell: speaks
    French (BE), expertise Billing, 1 ongoing chat": what won the operator
    (`chat_name`, the name visitors see) their tier, in the words of its
    checks, then their load. `winner` is a row of the ranking
    (routing_sql.rank_operators_sql); `env` gives the language; `names`
    the visitor's `lang_name` and `country_name`."""
    names = names or {}
    tier = tiers[winner["tier"]] if winner["tier"] < len(tiers) else ()
    parts = [phrase for name in tier if (phrase := checks[name].phrase(env, names))]
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
